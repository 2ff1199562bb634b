// Organiser: run one stage live. Every action names the programme version on screen; if
// someone else acted first the server refuses it (stale_version) and the page catches up.
import { api, explain, show, whoAmI } from "./api.js";
import { confirmAction, notify, renderConsoleNav } from "./console.js";
import { followProgramme, timeFormat } from "./live.js";
import { keepFocus } from "./tables.js";

const $ = (id) => document.getElementById(id);
const slug = new URLSearchParams(location.search).get("event") || "";
const base = `/api/events/${encodeURIComponent(slug)}/programme`;
let live = null;
let state = null;
const LABEL = { planned: "Planned", running: "On stage", done: "Done", cancelled: "Cancelled", no_show: "No-show" };

function chosen() {
  return { stage_id: Number($("stage-select").value), day: $("day-select").value };
}

function stageItems() {
  const { stage_id, day } = chosen();
  return state.items.filter((i) => i.stage_id === stage_id && i.day === day);
}

// Actions go one at a time, each naming the newest version this page knows: the live state's,
// or the one its own last action answered with (its change may not have come over the socket
// yet). Pressing U then N quickly is two actions in order, not a refusal of the second.
let queue = Promise.resolve();
let answered = 0;

/** Send `action` after those before it; `done` (if given) is said in the notice when it went through. */
function act(action, extra = {}, done = "") {
  const run = queue.then(() => send(action, extra, done));
  queue = run.catch(() => {}); // one that failed does not stop those after it
  return run;
}

async function send(action, extra, done) {
  if (!state) return;
  const version = Math.max(state.version, answered);
  const body = { version, ...chosen(), action, ...extra };
  try {
    const answer = action === "undo"
      ? await api(`${base}/undo`, { method: "POST", body: { version } })
      : await api(`${base}/actions`, { method: "POST", body });
    if (answer && answer.version) answered = Math.max(answered, answer.version);
    if (done) notify(done, "ok");
  } catch (error) {
    notify(explain(error), "error");
    if (error.reason === "stale_version") live.resync();
  }
}

// Taking an item off the running order is asked first; Undo (U) still brings it back.
const ASK = {
  no_show: (item) => ({ question: `Mark ${item.title} as a no-show?`, detail: "It leaves the running order on every screen and agenda; the rest moves up.", yes: "Mark as no-show", done: `Marked as a no-show: ${item.title}. Undo (U) brings it back.` }),
  cancel: (item) => ({ question: `Cancel ${item.title}?`, detail: "It leaves the running order on every screen and agenda; the rest moves up.", yes: "Cancel it", done: `Cancelled: ${item.title}. Undo (U) brings it back.` }),
};

async function takeOff(action, item) {
  const ask = ASK[action](item);
  if (!(await confirmAction(ask))) return;
  await act(action, { item_id: item.id }, ask.done);
}

function minutes() {
  return Math.max(1, Math.min(240, Number($("minutes").value) || 5));
}

function button(text, title, onClick) {
  const b = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: text });
  b.setAttribute("aria-label", `${text}: ${title}`);
  b.dataset.action = text.toLowerCase();
  b.addEventListener("click", onClick);
  return b;
}

function fillPickers() {
  const stage = $("stage-select");
  if (!stage.options.length) {
    stage.append(...state.stages.map((s) => new Option(s.name, s.id)));
    const days = [...new Set(state.items.map((i) => i.day))].sort();
    $("day-select").append(...days.map((d) => new Option(d, d)));
    const running = state.current[0];
    if (running) {
      stage.value = running.stage_id;
      $("day-select").value = running.day;
    }
  }
}

/** The venue screen of the stage chosen here (screen.js reads ?event= and ?stage=). */
function screenLink() {
  const params = new URLSearchParams({ event: slug, stage: $("stage-select").value });
  $("screen-link").href = `/screen.html?${params}`;
}

function draw(newState) {
  state = newState;
  fillPickers();
  screenLink();
  const format = timeFormat(state.timezone);
  const items = stageItems();
  const openFrom = items.findIndex((i) => i.status === "planned");
  $("version-note").textContent = `Version ${state.version}`;
  const current = items.find((i) => i.status === "running");
  $("now-note").textContent = current ? `On stage: ${current.title} since ${format.format(new Date(current.actual_start))}` : "Nothing on stage.";
  const last = [...items].reverse().find((i) => i.projected_end);
  const planned = [...items].reverse().find((i) => i.status !== "cancelled" && i.status !== "no_show");
  $("end-note").textContent = last
    ? `Projected end of the day ${format.format(new Date(last.projected_end))} (planned ${format.format(new Date(planned.planned_end))}).`
    : "";
  // The list is redrawn on every change (anyone's): the focus stays on the same item.
  keepFocus($("stage-items"), () => $("stage-items").replaceChildren(...items.map((item, index) => {
    const li = document.createElement("li");
    li.className = `stage-item ${item.status}`;
    li.dataset.key = String(item.id);
    const when = item.projected_start ? format.format(new Date(item.projected_start)) : "—";
    const text = Object.assign(document.createElement("span"), { textContent: `${when} · ${item.title} · ${LABEL[item.status]}` });
    li.append(text);
    if (item.status === "planned") {
      const tools = Object.assign(document.createElement("span"), { className: "stage-tools" });
      if (index > openFrom) tools.append(button("Up", item.title, () => act("move", { item_id: item.id, position: index - openFrom - 1 })));
      if (index < items.length - 1) tools.append(button("Down", item.title, () => act("move", { item_id: item.id, position: index - openFrom + 1 })));
      if (item.kind === "pitch") tools.append(button("No-show", item.title, () => takeOff("no_show", item)));
      tools.append(button("Cancel", item.title, () => takeOff("cancel", item)));
      li.append(tools);
    }
    return li;
  })));
}

function wire() {
  for (const b of document.querySelectorAll("[data-action]")) {
    b.addEventListener("click", () => {
      const action = b.dataset.action;
      const extra = b.dataset.minutes ? { minutes: Number(b.dataset.minutes) } : {};
      if (action === "delay" || action === "insert_break") extra.minutes = minutes();
      act(action, extra);
    });
  }
  $("undo").addEventListener("click", () => act("undo"));
  $("stage-select").addEventListener("change", () => state && draw(state));
  $("day-select").addEventListener("change", () => state && draw(state));
  const keys = { n: ["start_next"], e: ["end"], 1: ["extend", 1], 5: ["extend", 5], d: ["delay"], b: ["insert_break"], u: ["undo"] };
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName)) return;
    if (document.querySelector("dialog[open]")) return; // a question is open: answer it first
    const key = keys[event.key.toLowerCase()];
    if (!key) return;
    event.preventDefault();
    const [action, fixed] = key;
    const extra = fixed ? { minutes: fixed } : (action === "delay" || action === "insert_break" ? { minutes: minutes() } : {});
    act(action, extra);
  });
}

async function start() {
  const me = await whoAmI();
  if (!me) {
    show($("page-message"), "Sign in on the home page first.", "error");
    return;
  }
  $("who").textContent = `Signed in as ${me.name || me.email}`;
  renderConsoleNav($("console-nav"), slug);
  wire();
  live = followProgramme(slug, {
    onState: draw,
    onStatus: (text) => { if (text !== "live") show($("page-message"), "Reconnecting…", ""); else show($("page-message"), "", ""); },
  });
}

start();
