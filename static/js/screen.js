// The venue screen (1920x1080, no interaction): now on stage, a countdown that turns into an
// overrun, up next, the running delay and a QR code to the agenda. It follows the hub and
// reconnects by itself, so it survives a server restart.
import { countryName, followProgramme, lateness, pickDay, serverNow, timeFormat } from "./live.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const slug = params.get("event") || "";
let stageId = Number(params.get("stage")) || null;
let view = null;

function initials(name) {
  return name.split(/\s+/).map((word) => word[0]).join("").slice(0, 2).toUpperCase();
}

function draw(state) {
  if (!stageId && state.stages.length) stageId = state.stages[0].id;
  const stage = state.stages.find((s) => s.id === stageId);
  $("stage-name").textContent = stage ? stage.name : "Stage";
  const now = serverNow(state);
  const day = pickDay(state, stageId, now);
  const items = state.items.filter((i) => i.stage_id === stageId && i.day === day);
  const current = items.find((i) => i.status === "running") || null;
  const planned = items.filter((i) => i.status === "planned");
  // The big panel shows what runs now, else what comes first; "up next" is the three after it.
  const shown = current || planned[0] || null;
  const upcoming = planned.filter((i) => i !== shown).slice(0, 3);
  view = { state, current, shown };
  $("now-label").textContent = current ? (current.kind === "pitch" ? "Now pitching" : "Now on stage") : "Next on stage";
  const title = shown ? (shown.startup ? shown.startup.name : shown.title) : "Nothing more today";
  $("now-title").textContent = title;
  $("now-title").classList.toggle("long", title.length > 24);
  $("now-country").textContent = shown && shown.startup ? countryName(shown.startup.country) : "";
  $("now-line").textContent = shown && shown.startup ? shown.startup.one_liner : (shown ? shown.description : "");
  const logo = $("now-logo");
  logo.replaceChildren();
  if (shown && shown.startup && shown.startup.logo_url) {
    logo.append(Object.assign(document.createElement("img"), { src: shown.startup.logo_url, alt: "" }));
  } else if (shown && shown.startup) {
    logo.textContent = initials(shown.startup.name);
  }
  const format = timeFormat(state.timezone);
  const list = $("next-list");
  list.replaceChildren(...upcoming.map((item) => {
    const li = document.createElement("li");
    const time = Object.assign(document.createElement("span"), { className: "screen-next-time", textContent: format.format(new Date(item.projected_start)) });
    const title = Object.assign(document.createElement("span"), { textContent: item.startup ? `${item.startup.name} · ${countryName(item.startup.country)}` : item.title });
    li.append(time, title);
    return li;
  }));
  const late = lateness(items);
  const delay = $("delay");
  delay.textContent = late > 0 ? `Running ${late} min late` : "On time";
  delay.classList.toggle("late", late > 0);
  tick();
}

function tick() {
  if (!view) return;
  const now = serverNow(view.state);
  $("clock").textContent = timeFormat(view.state.timezone).format(now);
  const countdown = $("countdown");
  const current = view.current;
  if (!current) {
    // Before a session: when the item shown as next on stage starts.
    const next = view.shown;
    const start = next && (next.projected_start || next.planned_start);
    countdown.textContent = start ? `Starts at ${timeFormat(view.state.timezone).format(new Date(start))}` : "";
    countdown.classList.remove("over");
    countdown.classList.toggle("starts", Boolean(start));
    return;
  }
  countdown.classList.remove("starts");
  const end = Date.parse(current.actual_start) + (current.planned_minutes + current.extra_minutes) * 60000;
  const left = Math.round((end - now.getTime()) / 1000);
  const over = left < 0;
  const seconds = Math.abs(left);
  const text = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  countdown.textContent = over ? `+${text} over time` : `${text} left`;
  countdown.classList.toggle("over", over);
}

function status(text) {
  $("status").textContent = text === "live" ? "Live" : "Reconnecting…";
  document.body.classList.toggle("offline", text !== "live");
}

async function start() {
  if (!slug) {
    $("now-title").textContent = "Add ?event=<slug> to the address.";
    return;
  }
  $("qr").src = `/api/events/${encodeURIComponent(slug)}/programme/agenda-qr.png`;
  try {
    const event = await (await fetch(`/api/events/${encodeURIComponent(slug)}`)).json();
    $("event-name").textContent = event.name || "";
  } catch { /* the programme still shows */ }
  followProgramme(slug, { onState: draw, onStatus: status });
  setInterval(tick, 250);
}

start();
