// Organiser: ticket types and what is left, CSV import, and each ticket (cancel, block,
// re-issue, mail again, badge).
import { api, explain, show, whoAmI } from "./api.js";
import { confirmAction, notify, renderConsoleNav } from "./console.js";
import { pagedList } from "./pager.js";
import { stackTables } from "./tables.js";

const $ = (id) => document.getElementById(id);
const slug = new URLSearchParams(location.search).get("event") || "";
const base = `/api/events/${encodeURIComponent(slug)}`;
const STATUS = { valid: "Valid", canceled: "Canceled", blocked: "Blocked" };
const KIND = { attendee: "Attendee", investor: "Investor", startup: "Start-up team", media: "Media", staff: "Staff", vip: "VIP" };

/** "Early bird (Attendee)", but just "Attendee" where the name already says the kind. */
function typeName(type) {
  const kind = KIND[type.kind] || type.kind;
  const same = [kind.toLowerCase(), type.kind.toLowerCase()].includes(type.name.trim().toLowerCase());
  return same ? type.name : `${type.name} (${kind})`;
}

function cell(content) {
  const td = document.createElement("td");
  td.append(content);
  return td;
}

async function loadTypes() {
  const page = await api(`${base}/ticket-types?limit=200`);
  $("types").replaceChildren(...page.items.map((type) => {
    const tr = document.createElement("tr");
    const sales = type.on_sale ? "on sale" : type.public ? "not on sale now" : "invitation only";
    tr.append(cell(typeName(type)), cell(`${type.sold} of ${type.capacity}`),
      cell(String(type.available)), cell(String(type.waiting)), cell(sales));
    return tr;
  }));
}

// What must be confirmed first: the question, what follows, and the button that goes ahead.
const ASK = {
  cancel: (name) => ({ question: `Cancel ${name}'s ticket?`, detail: "The QR code stops working at every door, and a canceled ticket cannot be used again.", yes: "Cancel the ticket" }),
  block: (name) => ({ question: `Block ${name}'s ticket?`, detail: "Doors refuse the ticket until you unblock it.", yes: "Block the ticket" }),
};

/** A ticket's button: asks first where `ask` says so, then acts, says the outcome in the
 * notice, and redraws the list with the focus back on this ticket's row. */
function action(label, name, path, done, { key, ask } = {}) {
  const button = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: label });
  button.setAttribute("aria-label", `${label}: ${name}`);
  button.dataset.action = key || label.toLowerCase();
  button.addEventListener("click", async () => {
    if (ask && !(await confirmAction(ask(name)))) return;
    try {
      await api(path, { method: "POST" });
      notify(`${done}: ${name}.`, "ok");
      await Promise.all([tickets.load(), loadTypes()]);
    } catch (error) {
      notify(explain(error), "error");
    }
  });
  return button;
}

stackTables();

const tickets = pagedList({
  url: `${base}/tickets`,
  body: $("tickets"),
  controls: $("tickets-pager"),
  label: "tickets",
  render: (ticket) => {
    const tr = document.createElement("tr");
    const path = `${base}/tickets/${ticket.id}`;
    const actions = document.createElement("div");
    actions.className = "actions";
    if (ticket.status !== "canceled") {
      actions.append(
        action("Re-issue", ticket.name, `${path}/reissue`, "New QR code mailed"),
        action("Mail again", ticket.name, `${path}/resend`, "Mailed again"),
        ticket.status === "blocked"
          ? action("Unblock", ticket.name, `${path}/unblock`, "Unblocked", { key: "block" })
          : action("Block", ticket.name, `${path}/block`, "Blocked", { key: "block", ask: ASK.block }),
        action("Cancel", ticket.name, `${path}/cancel`, "Canceled", { ask: ASK.cancel }),
      );
      const badge = Object.assign(document.createElement("a"), { href: `${path}/badge.png`, textContent: "Badge" });
      badge.setAttribute("aria-label", `Badge of ${ticket.name}`);
      actions.append(badge);
    }
    const who = document.createElement("span");
    who.append(`${ticket.name}${ticket.organisation ? `, ${ticket.organisation}` : ""}`, document.createElement("br"),
      Object.assign(document.createElement("small"), { className: "muted", textContent: ticket.email }));
    tr.append(cell(who), cell(ticket.type_name), cell(STATUS[ticket.status]), cell(actions));
    return tr;
  },
});

async function addType(event) {
  event.preventDefault();
  const form = event.target;
  try {
    await api(`${base}/ticket-types`, {
      method: "POST",
      body: { kind: form.kind.value, name: form.name.value, capacity: Number(form.capacity.value), public: form.public.checked },
    });
    show($("types-message"), `Added ${form.name.value}.`, "ok");
    form.reset();
    await Promise.all([loadTypes(), tickets.load()]);
  } catch (error) {
    show($("types-message"), explain(error), "error");
  }
}

async function importCsv(event) {
  event.preventDefault();
  $("import-errors").replaceChildren();
  try {
    const answer = await api(`${base}/tickets/import`, { method: "POST", body: { csv: $("import-csv").value, send: $("import-send").checked } });
    show($("import-message"), `Imported ${answer.created} tickets.`, "ok");
    $("import-csv").value = "";
    await Promise.all([loadTypes(), tickets.restart()]);
  } catch (error) {
    show($("import-message"), error.message, "error");
    $("import-errors").replaceChildren(...error.errors.map((e) => Object.assign(document.createElement("li"), { textContent: `${e.key}: ${e.message}` })));
  }
}

async function start() {
  const me = await whoAmI();
  if (!me) {
    show($("page-message"), "Sign in on the home page first.", "error");
    return;
  }
  $("who").textContent = `Signed in as ${me.name || me.email}`;
  const mine = me.events.find((event) => event.slug === slug);
  if (!mine || !mine.roles.includes("organiser")) {
    show($("page-message"), "Only this event's organisers can manage its tickets.", "error");
    return;
  }
  renderConsoleNav($("console-nav"), slug);
  for (const id of ["types-section", "import-section", "tickets-section"]) $(id).hidden = false;
  $("type-form").addEventListener("submit", addType);
  $("import-form").addEventListener("submit", importCsv);
  $("role-tickets").addEventListener("click", async () => {
    try {
      const answer = await api(`${base}/tickets/for-roles`, { method: "POST" });
      const missing = answer.missing_types.length ? ` No ticket type yet for: ${answer.missing_types.join(", ")}.` : "";
      show($("types-message"), `${answer.issued} new tickets; ${answer.short} left without (type full).${missing}`, "ok");
      await Promise.all([loadTypes(), tickets.load()]);
    } catch (error) {
      show($("types-message"), explain(error), "error");
    }
  });
  await Promise.all([loadTypes(), tickets.load()]);
}

start().catch((error) => show($("page-message"), explain(error), "error"));
