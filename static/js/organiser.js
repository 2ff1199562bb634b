// Organiser: event details and days, stages, meeting tables, invitations, people.
import { api, explain, show, whoAmI } from "./api.js";
import { renderConsoleNav } from "./console.js";
import { pagedList } from "./pager.js";
import { stackTables } from "./tables.js";

stackTables(); // each table a card of label: value lines on a phone

const $ = (id) => document.getElementById(id);
const slug = new URLSearchParams(location.search).get("event");
const base = `/api/events/${encodeURIComponent(slug || "")}`;

function cell(text) {
  return Object.assign(document.createElement("td"), { textContent: text ?? "" });
}

function row(cells, ...actions) {
  const tr = document.createElement("tr");
  tr.append(...cells.map(cell));
  const td = document.createElement("td");
  for (const action of actions.filter(Boolean)) {
    const button = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: action.label });
    button.setAttribute("aria-label", action.ariaLabel || action.label);
    button.addEventListener("click", action.run);
    td.append(button, " ");
  }
  tr.append(td);
  return tr;
}

/** Run a change, report its outcome in `message`, then redraw what it touched. */
async function attempt(message, work, redraw, success = "Saved.") {
  try {
    await work();
    show(message, success, "ok");
    if (redraw) await redraw();
  } catch (error) {
    show(message, explain(error), "error");
  }
}

// --- details and days -------------------------------------------------------------------------

function dayRow(day = { day: "", opens_at: "09:00", closes_at: "18:00" }) {
  const tr = document.createElement("tr");
  for (const [name, type, value] of [["day", "date", day.day], ["opens_at", "time", day.opens_at.slice(0, 5)], ["closes_at", "time", day.closes_at.slice(0, 5)]]) {
    const td = document.createElement("td");
    const input = Object.assign(document.createElement("input"), { type, name, value, required: true });
    input.setAttribute("aria-label", name.replace("_at", "").replace("_", " "));
    td.append(input);
    tr.append(td);
  }
  const remove = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "Remove" });
  remove.addEventListener("click", () => tr.remove());
  const td = document.createElement("td");
  td.append(remove);
  tr.append(td);
  return tr;
}

async function loadDetails() {
  const event = await api(base);
  document.title = `${event.name} · settings`;
  $("home-link").href = `/?event=${encodeURIComponent(event.slug)}`;
  const form = $("details-form");
  for (const name of ["name", "tagline", "venue", "city", "country", "timezone"]) form[name].value = event[name] || "";
  form.published.checked = event.published;
  $("days").replaceChildren(...event.days.map(dayRow));
}

function readDetails(form) {
  const days = [...$("days").querySelectorAll("tr")].map((tr) => ({
    day: tr.querySelector("[name=day]").value,
    opens_at: tr.querySelector("[name=opens_at]").value,
    closes_at: tr.querySelector("[name=closes_at]").value,
  }));
  return {
    name: form.name.value,
    tagline: form.tagline.value,
    venue: form.venue.value,
    city: form.city.value,
    ...(form.country.value ? { country: form.country.value.toUpperCase() } : {}),
    timezone: form.timezone.value,
    published: form.published.checked,
    days,
  };
}

// --- stages, tables, invitations, people -------------------------------------------------------

async function loadStages() {
  const stages = (await api(`${base}/stages?limit=200`)).items;
  $("stages").replaceChildren(...stages.map((stage) => row([stage.name, stage.capacity], {
    label: "Remove",
    ariaLabel: `Remove stage ${stage.name}`,
    run: () => attempt($("stages-message"), () => api(`${base}/stages/${stage.id}`, { method: "DELETE" }), loadStages, "Stage removed."),
  })));
}

const tables = pagedList({
  url: `${base}/tables`,
  body: $("tables"),
  controls: $("tables-pager"),
  label: "tables",
  onPage: (page) => { $("tables-summary").textContent = `${page.total} tables.`; },
  render: (table) => row([table.label, table.area, table.seats], {
    label: "Remove",
    ariaLabel: `Remove table ${table.label}`,
    run: () => attempt($("tables-message"), () => api(`${base}/tables/${table.id}`, { method: "DELETE" }), tables.load, "Table removed."),
  }),
});

const invitations = pagedList({
  url: `${base}/invitations`,
  body: $("invitations"),
  controls: $("invitations-pager"),
  label: "invitations",
  render: (invitation) => row(
    [invitation.email, invitation.role, invitation.status],
    invitation.status === "pending" && {
      label: "Revoke",
      ariaLabel: `Revoke the invitation of ${invitation.email}`,
      run: () => attempt($("invite-message"), () => api(`${base}/invitations/${invitation.id}`, { method: "DELETE" }), invitations.load, "Invitation revoked."),
    },
    invitation.status !== "accepted" && {
      label: "Send again",
      ariaLabel: `Send again the invitation of ${invitation.email}`,
      run: () => attempt($("invite-message"), async () => {
        const renewed = await api(`${base}/invitations/${invitation.id}/resend`, { method: "POST" });
        $("invite-link-box").hidden = !renewed.url;
        if (renewed.url) $("invite-link").value = renewed.url;
      }, invitations.load, "Sent again with a new link; the previous one no longer works."),
    },
  ),
});

const people = pagedList({
  url: `${base}/people`,
  body: $("people"),
  controls: $("people-pager"),
  label: "people",
  render: (person) => row([person.name, person.email + (person.email_verified ? "" : " (unverified)"), person.role], {
    label: "Remove role",
    ariaLabel: `Remove role ${person.role} of ${person.email}`,
    run: () => attempt($("people-message"), () => api(`${base}/people/${person.user_id}/roles/${person.role}`, { method: "DELETE" }), people.load, "Role removed."),
  }),
});

function wireForms() {
  $("add-day").addEventListener("click", () => $("days").append(dayRow()));
  $("details-form").addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    attempt($("details-message"), () => api(base, { method: "PATCH", body: readDetails(submitted.target) }), loadDetails);
  });
  $("stage-form").addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    const form = submitted.target;
    attempt($("stages-message"), async () => {
      await api(`${base}/stages`, { method: "POST", body: { name: form.name.value, capacity: Number(form.capacity.value || 0) } });
      form.name.value = "";
    }, loadStages, "Stage added.");
  });
  $("tables-form").addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    const form = submitted.target;
    attempt($("tables-message"), () => api(`${base}/tables/bulk`, {
      method: "POST",
      body: { count: Number(form.count.value), prefix: form.prefix.value, area: form.area.value },
    }), tables.load, "Tables added.");
  });
  $("invite-form").addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    const form = submitted.target;
    attempt($("invite-message"), async () => {
      const invitation = await api(`${base}/invitations`, {
        method: "POST",
        body: { email: form.email.value, name: form.name.value, role: form.role.value, organisation: form.organisation.value },
      });
      // With mail configured the link goes only to the invitee's mailbox.
      $("invite-link-box").hidden = !invitation.url;
      if (invitation.url) $("invite-link").value = invitation.url;
      form.reset();
    }, invitations.load, "Invitation created and mailed.");
  });
}

function wireCreate() {
  $("create-form").addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    const form = submitted.target;
    attempt($("page-message"), async () => {
      const event = await api("/api/events", { method: "POST", body: { slug: form.slug.value, name: form.name.value, timezone: form.timezone.value } });
      location.assign(`/organiser.html?event=${encodeURIComponent(event.slug)}`);
    }, null, "Event created.");
  });
}

async function start() {
  const me = await whoAmI();
  if (!me) {
    show($("page-message"), "Sign in on the home page first.", "error");
    return;
  }
  $("who").textContent = `Signed in as ${me.name || me.email}`;
  if (!slug) {
    if (me.is_admin) {
      $("create-section").hidden = false;
      wireCreate();
    } else {
      show($("page-message"), "Open this page from your event on the home page.", "error");
    }
    return;
  }
  const mine = me.events.find((event) => event.slug === slug);
  if (!mine || !mine.roles.includes("organiser")) {
    show($("page-message"), "Only this event's organisers can change its settings.", "error");
    return;
  }
  renderConsoleNav($("console-nav"), slug);
  $("event-sections").hidden = false;
  wireForms();
  await Promise.all([loadDetails(), loadStages(), tables.load(), invitations.load(), people.load()]);
}

start().catch((error) => show($("page-message"), explain(error), "error"));
