// Organiser: the meeting grid (slots by tables), the scheduler run, moves by hand, publishing.
import { api, explain, show, whoAmI } from "./api.js";
import { renderConsoleNav } from "./console.js";
import { $, at, base, button, cell, loadEvent, slug } from "./meetingkit.js";
import { pagedList } from "./pager.js";
import { stackTables } from "./tables.js";

stackTables(); // each table a card of label: value lines on a phone

const REASONS = {
  slot_taken: "every table is taken in that slot",
  investor_busy: "the investor has another meeting (or is unavailable) then",
  startup_busy: "the start-up has another meeting (or is unavailable) then",
  table_full: "that table is taken in that slot",
  cap_reached: "a cap of meetings is reached",
  already_meeting: "they already meet",
};
let selected = null;

async function all(url) {
  const items = [];
  for (let offset = 0; ; offset += 200) {
    const page = await api(`${url}${url.includes("?") ? "&" : "?"}limit=200&offset=${offset}`);
    items.push(...page.items);
    if (offset + page.items.length >= page.total) return items;
  }
}

async function drawGrid() {
  const [slots, tables, meetings] = await Promise.all([
    all(`${base}/slots`),
    all(`/api/events/${encodeURIComponent(slug)}/tables`),
    all(`${base}/?status=accepted`).then(async (on) => on.concat(await all(`${base}/?status=pending`))),
  ]);
  tables.sort((a, b) => a.id - b.id);
  const at_ = new Map(meetings.map((m) => [`${m.slot_id}:${m.table_id}`, m]));
  const head = document.createElement("tr");
  head.append(Object.assign(document.createElement("th"), { scope: "col", textContent: "Slot" }));
  for (const table of tables) head.append(Object.assign(document.createElement("th"), { scope: "col", textContent: table.label }));
  const rows = slots.map((slot) => {
    const tr = document.createElement("tr");
    tr.append(Object.assign(document.createElement("th"), { scope: "row", textContent: at(slot.starts_at) }));
    for (const table of tables) {
      const td = document.createElement("td");
      const meeting = at_.get(`${slot.id}:${table.id}`);
      if (meeting) {
        const pick = Object.assign(document.createElement("button"), {
          type: "button",
          className: `meeting ${meeting.published ? "" : "provisional"} ${meeting.status}`.trim(),
          textContent: `${meeting.investor_name} · ${meeting.startup_name}`,
        });
        pick.setAttribute("aria-label", `${pick.textContent}, ${table.label}, ${at(slot.starts_at)}: move or cancel`);
        pick.addEventListener("click", () => choose(meeting, slots, tables));
        td.append(pick);
      }
      tr.append(td);
    }
    return tr;
  });
  const caption = Object.assign(document.createElement("caption"), { textContent: `${meetings.length} meetings in ${slots.length} slots at ${tables.length} tables` });
  const thead = document.createElement("thead");
  thead.append(head);
  const tbody = document.createElement("tbody");
  tbody.append(...rows);
  $("grid").replaceChildren(caption, thead, tbody);
}

function choose(meeting, slots, tables) {
  selected = meeting;
  $("move-what").textContent = `${meeting.investor_name} (${meeting.firm_name}) meets ${meeting.startup_name}, now ${at(meeting.starts_at)} at ${meeting.table_label}.`;
  $("move-slot").replaceChildren(...slots.map((s) => new Option(at(s.starts_at), String(s.id), false, s.id === meeting.slot_id)));
  $("move-table").replaceChildren(new Option("Any free table", ""), ...tables.map((t) => new Option(t.label, String(t.id))));
  show($("move-message"), "");
  $("move-form").hidden = false;
  $("move-slot").focus();
}

async function drawState() {
  const versions = await api(`${base}/schedule?limit=1`);
  const latest = versions.items[0];
  $("schedule-state").textContent = latest
    ? `Run ${latest.number}: ${latest.meetings} meetings placed, ${latest.status}${latest.published_at ? ` (${at(latest.published_at)})` : ""}.`
    : "The scheduler has not run yet.";
  const report = await api(`${base}/report`);
  $("report-summary").textContent = `${report.meetings} meetings so far: ${report.held} held, ${report.no_shows} no-shows (${Math.round(report.no_show_rate * 100)} %), ${report.follow_ups} with a follow-up.`;
}

const changes = pagedList({
  url: `${base}/change-requests`,
  body: $("changes"),
  controls: $("changes-pager"),
  label: "requests",
  render: (request) => {
    const tr = document.createElement("tr");
    const what = `${request.investor_name} · ${request.startup_name}, ${at(request.starts_at)}`;
    const done = request.status === "open"
      ? button("Done", `Mark ${request.person_name}'s request as done`, async () => {
        try {
          await api(`${base}/change-requests/${request.id}/close`, { method: "POST" });
          await changes.load();
        } catch (error) {
          show($("changes-message"), explain(error), "error");
        }
      })
      : "";
    tr.append(cell(request.person_name), cell(what), cell(request.kind === "swap" ? "move it" : "drop it", request.note ? ` “${request.note}”` : ""),
      cell(request.status === "open" ? "Open" : "Done"), cell(done));
    return tr;
  },
});

const refresh = () => Promise.all([drawGrid(), drawState(), changes.load()]);
const FACTORS = ["sector", "stage", "ticket", "geography", "thesis"];

async function loadSettings() {
  const grid = await api(`${base}/grid`);
  $("g-blocks").value = grid.blocks.map((b) => `${b.day} ${b.start.slice(0, 5)}-${b.end.slice(0, 5)}`).join("\n");
  $("g-minutes").value = grid.slot_minutes;
  $("g-max-investor").value = grid.max_investor;
  $("g-max-startup").value = grid.max_startup;
  $("g-min-startup").value = grid.min_startup;
  $("g-hours").value = grid.request_hours;
  $("g-fixed").checked = grid.fixed_tables;
  $("g-weights").replaceChildren(...FACTORS.map((name) => {
    const label = Object.assign(document.createElement("label"), { className: "inline-label", textContent: `${name} ` });
    const input = Object.assign(document.createElement("input"), { type: "number", min: "0", max: "100", step: "0.5", id: `w-${name}`, value: String(grid.weights[name]) });
    label.append(input);
    return label;
  }));
}

function blocksFrom(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const match = line.match(/^(\d{4}-\d{2}-\d{2})\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$/);
    if (!match) throw new Error(`Not a block: "${line}" (write 2027-03-18 10:00-12:00)`);
    const pad = (time) => time.padStart(5, "0");
    return { day: match[1], start: pad(match[2]), end: pad(match[3]) };
  });
}

function bind() {
  $("run-button").addEventListener("click", async () => {
    $("run-button").disabled = true;
    show($("schedule-message"), "The scheduler is running…");
    try {
      const version = await api(`${base}/schedule`, { method: "POST", body: { redo: $("redo").checked } });
      show($("schedule-message"), `Run ${version.number} placed ${version.meetings} meetings (provisional).`, "ok");
      await refresh();
    } catch (error) {
      show($("schedule-message"), explain(error), "error");
    } finally {
      $("run-button").disabled = false;
    }
  });
  $("publish-button").addEventListener("click", async () => {
    try {
      const version = await api(`${base}/schedule/publish`, { method: "POST" });
      show($("schedule-message"), `Run ${version.number} is published; everyone in it gets their meetings by mail.`, "ok");
      await refresh();
    } catch (error) {
      show($("schedule-message"), explain(error), "error");
    }
  });
  $("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const grid = await api(`${base}/grid`, {
        method: "PUT",
        body: {
          blocks: blocksFrom($("g-blocks").value),
          slot_minutes: Number($("g-minutes").value),
          max_investor: Number($("g-max-investor").value),
          max_startup: Number($("g-max-startup").value),
          min_startup: Number($("g-min-startup").value),
          request_hours: Number($("g-hours").value),
          fixed_tables: $("g-fixed").checked,
          weights: Object.fromEntries(FACTORS.map((name) => [name, Number($(`w-${name}`).value)])),
        },
      });
      show($("settings-message"), `Saved: ${grid.slots} slots.`, "ok");
      await refresh();
    } catch (error) {
      show($("settings-message"), error.status ? explain(error) : error.message, "error");
    }
  });
  $("move-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const table = $("move-table").value;
    try {
      await api(`${base}/${selected.id}`, {
        method: "PATCH",
        body: { slot_id: Number($("move-slot").value), table_id: table ? Number(table) : null },
      });
      show($("move-message"), "Moved; both sides are told.", "ok");
      await refresh();
    } catch (error) {
      show($("move-message"), `Not moved: ${REASONS[error.reason] || explain(error)}.`, "error");
    }
  });
  $("cancel-meeting").addEventListener("click", async () => {
    try {
      await api(`${base}/${selected.id}/cancel`, { method: "POST" });
      show($("move-message"), "Cancelled; both sides are told.", "ok");
      $("move-form").hidden = true;
      await refresh();
    } catch (error) {
      show($("move-message"), explain(error), "error");
    }
  });
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
    show($("page-message"), "Only this event's organisers can arrange its meetings.", "error");
    return;
  }
  renderConsoleNav($("console-nav"), slug);
  await loadEvent();
  for (const id of ["schedule-section", "settings-section", "grid-section", "changes-section", "report-section"]) $(id).hidden = false;
  $("report-csv").href = `${base}/report.csv`;
  bind();
  await Promise.all([refresh(), loadSettings()]);
}

start().catch((error) => show($("page-message"), explain(error), "error"));
