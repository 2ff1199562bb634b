// Organiser: the event's applications, its call, incubators with their nomination codes, and
// spreadsheet imports of nominations.
import { api, explain, show, whoAmI } from "./api.js";
import { renderConsoleNav } from "./console.js";
import { pagedList } from "./pager.js";
import { stackTables } from "./tables.js";

stackTables(); // each table a card of label: value lines on a phone

const $ = (id) => document.getElementById(id);
const slug = new URLSearchParams(location.search).get("event") || "";
const base = `/api/events/${encodeURIComponent(slug)}`;
const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
let countryNames = {};

function row(...cells) {
  const tr = document.createElement("tr");
  for (const content of cells) {
    const td = document.createElement("td");
    td.append(content ?? "");
    tr.append(td);
  }
  return tr;
}

const applications = pagedList({
  url: `${base}/applications`,
  body: $("applications"),
  controls: $("applications-pager"),
  label: "applications",
  filters: () => ({ state: $("state-filter").value }),
  render: (item) => row(
    item.company_name || "(no name yet)",
    countryNames[item.country] || item.country,
    item.incubator_name || "open call",
    item.pending_decision ? `${item.state} (pending: ${item.pending_decision})` : item.state,
    item.women_led ? "yes" : "no",
  ),
});

function codeButton(incubator) {
  const button = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "New code (cap 5)" });
  button.setAttribute("aria-label", `New code (cap 5) for ${incubator.name}`);
  button.addEventListener("click", async () => {
    try {
      const code = await api(`${base}/nomination-codes`, { method: "POST", body: { incubator_id: incubator.id, cap: 5 } });
      $("new-code").hidden = false;
      $("new-code-link").value = code.link;
      show($("code-message"), `New code for ${incubator.name}, good for ${code.cap} applications.`, "ok");
      await Promise.all([codes.load(), loadImportCodes()]);
    } catch (error) {
      show($("code-message"), explain(error), "error");
    }
  });
  return button;
}

const incubators = pagedList({
  url: `${base}/incubators`,
  body: $("incubators"),
  controls: $("incubators-pager"),
  label: "incubators",
  pageSize: 20,
  render: (item) => row(item.name, countryNames[item.country] || item.country,
    [item.contact_name, item.contact_email].filter(Boolean).join(", "), String(item.nominated), codeButton(item)),
});

function revokeButton(code) {
  if (code.revoked_at) return "withdrawn";
  const button = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "Withdraw" });
  button.setAttribute("aria-label", `Withdraw code ${code.hint}… of ${code.incubator_name}`);
  button.addEventListener("click", async () => {
    try {
      await api(`${base}/nomination-codes/${code.id}/revoke`, { method: "POST" });
      await codes.load();
    } catch (error) {
      show($("code-message"), explain(error), "error");
    }
  });
  return button;
}

const codes = pagedList({
  url: `${base}/nomination-codes`,
  body: $("codes"),
  controls: $("codes-pager"),
  label: "codes",
  pageSize: 20,
  render: (code) => row(code.incubator_name, `${code.hint}…${code.label ? ` (${code.label})` : ""}`, `${code.used} of ${code.cap}`, revokeButton(code)),
});

async function loadImportCodes() {
  const page = await api(`${base}/nomination-codes?limit=200`);
  const live = page.items.filter((code) => !code.revoked_at);
  $("import-code").replaceChildren(...live.map((code) => new Option(`${code.incubator_name}: ${code.hint}… (${code.cap - code.used} left)`, code.id)));
}

function localInput(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  return new Date(moment.getTime() - moment.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

async function loadCall() {
  const call = await api(`${base}/call`);
  countryNames = Object.fromEntries(call.countries.map((c) => [c.code, c.name]));
  $("incubator-country").replaceChildren(...call.countries.map((c) => new Option(c.name, c.code)));
  const form = $("call-form");
  form.opens_at.value = localInput(call.opens_at);
  form.closes_at.value = localInput(call.closes_at);
  form.open_to_all.checked = call.open_to_all;
  form.sectors.value = call.sectors.join("\n");
  form.women_led_definition.value = call.women_led_definition;
  const openness = call.is_open ? "open" : "closed";
  $("call-state").textContent = `The call is ${openness}${call.closes_at ? `; it closes ${when.format(new Date(call.closes_at))}` : ""}. Apply page: ${location.origin}/apply.html?event=${slug}`;
}

async function saveCall(event) {
  event.preventDefault();
  const form = event.target;
  const moment = (value) => (value ? new Date(value).toISOString() : null);
  try {
    await api(`${base}/call`, {
      method: "PUT",
      body: {
        opens_at: moment(form.opens_at.value),
        closes_at: moment(form.closes_at.value),
        open_to_all: form.open_to_all.checked,
        sectors: form.sectors.value.split("\n").map((s) => s.trim()).filter(Boolean),
        women_led_definition: form.women_led_definition.value.trim(),
      },
    });
    show($("call-message"), "The call is saved.", "ok");
    await loadCall();
  } catch (error) {
    show($("call-message"), explain(error), "error");
  }
}

async function registerIncubator(event) {
  event.preventDefault();
  const form = event.target;
  try {
    const body = { name: form.name.value.trim(), country: form.country.value, contact_name: form.contact_name.value.trim(), contact_email: form.contact_email.value.trim() };
    const incubator = await api(`${base}/incubators`, { method: "POST", body });
    show($("incubator-message"), `${incubator.name} is registered.`, "ok");
    form.reset();
    await incubators.restart();
  } catch (error) {
    show($("incubator-message"), explain(error), "error");
  }
}

async function importCsv(event) {
  event.preventDefault();
  const form = event.target;
  const report = $("import-report");
  report.hidden = true;
  const file = form.file.files[0];
  if (!file) return;
  let csv;
  try {
    csv = await file.text();
  } catch (error) {
    show($("import-message"), `The file cannot be read (${error.message}); choose it again.`, "error");
    return;
  }
  show($("import-message"), "Importing…");
  // Fetched here rather than through api(): a refusal's per-row report is in the problem body.
  const response = await fetch(`${base}/nominations/import`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ code_id: Number(form.code_id.value), csv }),
  });
  const answer = await response.json().catch(() => ({ detail: response.statusText }));
  if (response.ok) {
    show($("import-message"), `Imported ${answer.imported} start-ups; each was mailed a link to complete its application.`, "ok");
    await Promise.all([applications.restart(), codes.load(), loadImportCodes()]);
    return;
  }
  show($("import-message"), answer.detail || "The import failed.", "error");
  const rows = answer.rows || [];
  report.tBodies[0].replaceChildren(...rows.map((r) => row(String(r.row), r.reasons.join("; "))));
  report.hidden = rows.length === 0;
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
    show($("page-message"), "Only this event's organisers can see its applications.", "error");
    return;
  }
  renderConsoleNav($("console-nav"), slug);
  for (const id of ["list-section", "call-section", "incubators-section", "import-section"]) $(id).hidden = false;
  $("state-filter").addEventListener("change", () => applications.restart());
  $("call-form").addEventListener("submit", saveCall);
  $("incubator-form").addEventListener("submit", registerIncubator);
  $("import-form").addEventListener("submit", importCsv);
  await loadCall();
  await Promise.all([applications.load(), incubators.load(), codes.load(), loadImportCodes()]);
}

start().catch((error) => show($("page-message"), explain(error), "error"));
