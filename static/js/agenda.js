// The attendee's agenda on a phone: the day per stage, now and next highlighted, times in the
// event's time zone (and the phone's when it differs), changes highlighted as they arrive.
import { followProgramme, serverNow, timeFormat } from "./live.js";

const $ = (id) => document.getElementById(id);
const slug = new URLSearchParams(location.search).get("event") || "";
const phoneZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const dayLabel = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" });
const STATUS = { running: "Now", done: "Done", cancelled: "Cancelled", no_show: "Cancelled" };
let chosenDay = null;
const changedUntil = new Map(); // item id -> when its highlight ends
const seen = new Map(); // item id -> what it looked like, to highlight only what changed

function signature(item) {
  return `${item.status}|${item.projected_start}|${item.planned_start}|${item.position}`;
}

function timeText(state, iso) {
  const when = new Date(iso);
  const local = timeFormat(state.timezone).format(when);
  if (phoneZone === state.timezone) return local;
  return `${local} (${timeFormat(phoneZone).format(when)} your time)`;
}

function dayTabs(state, days) {
  const tabs = $("day-tabs");
  tabs.replaceChildren(...days.map((day) => {
    const button = Object.assign(document.createElement("button"), {
      type: "button", className: "secondary", textContent: dayLabel.format(new Date(`${day}T00:00:00Z`)),
    });
    button.setAttribute("aria-pressed", String(day === chosenDay));
    button.addEventListener("click", () => { chosenDay = day; draw(state, null); });
    return button;
  }));
}

function row(state, item, next) {
  const li = document.createElement("li");
  li.className = "agenda-item";
  li.dataset.itemId = item.id;
  if (item.status === "running") li.classList.add("now");
  if (item === next) li.classList.add("next");
  if (item.status === "cancelled" || item.status === "no_show") li.classList.add("gone");
  if ((changedUntil.get(item.id) || 0) > Date.now()) li.classList.add("changed");
  const when = Object.assign(document.createElement("span"), { className: "agenda-time" });
  const start = item.projected_start || item.planned_start;
  when.textContent = timeText(state, start);
  if (item.projected_start && item.projected_start.slice(0, 16) !== item.planned_start.slice(0, 16)) {
    const was = Object.assign(document.createElement("small"), { textContent: ` was ${timeFormat(state.timezone).format(new Date(item.planned_start))}` });
    when.append(was);
  }
  const what = Object.assign(document.createElement("span"), { className: "agenda-what" });
  what.textContent = item.startup ? `${item.startup.name} (${item.startup.country}) — pitch` : item.title;
  const badge = STATUS[item.status] || (item === next ? "Next" : "");
  li.append(when, what);
  if (badge) li.append(Object.assign(document.createElement("span"), { className: "badge", textContent: badge }));
  return li;
}

function draw(state, change) {
  if (change && change.items) {
    const until = Date.now() + 15000;
    for (const item of change.items) {
      if (seen.get(item.id) !== signature(item)) changedUntil.set(item.id, until);
    }
    $("change-note").textContent = `Programme updated at ${timeFormat(state.timezone).format(serverNow(state))}.`;
  }
  for (const item of state.items) seen.set(item.id, signature(item));
  const days = [...new Set(state.items.map((i) => i.day))].sort();
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: state.timezone }).format(serverNow(state));
  if (!chosenDay || !days.includes(chosenDay)) {
    const live = state.current[0];
    chosenDay = live ? live.day : (days.find((d) => d >= today) || days[0] || null);
  }
  $("zone-note").textContent = phoneZone === state.timezone
    ? `Times in ${state.timezone}.`
    : `Times in the event's time zone (${state.timezone}), and in brackets your phone's (${phoneZone}).`;
  dayTabs(state, days);
  const sections = state.stages.map((stage) => {
    const items = state.items.filter((i) => i.stage_id === stage.id && i.day === chosenDay);
    const section = Object.assign(document.createElement("section"), { className: "card" });
    const heading = Object.assign(document.createElement("h2"), { textContent: stage.name });
    const next = items.find((i) => i.status === "planned");
    const list = Object.assign(document.createElement("ol"), { className: "agenda-list" });
    list.append(...items.map((item) => row(state, item, next)));
    section.append(heading, items.length ? list : Object.assign(document.createElement("p"), { className: "muted", textContent: "Nothing on this stage that day." }));
    return section;
  });
  $("stages").replaceChildren(...sections);
}

async function start() {
  if (!slug) {
    $("agenda-title").textContent = "Which event? Open this page from the event's link.";
    return;
  }
  try {
    const event = await (await fetch(`/api/events/${encodeURIComponent(slug)}`)).json();
    if (event.name) $("agenda-title").textContent = `${event.name}: agenda`;
  } catch { /* the agenda still shows */ }
  followProgramme(slug, {
    onState: draw,
    onStatus: (text) => { $("live-status").textContent = text === "live" ? "Live" : "Reconnecting…"; },
  });
}

start();
