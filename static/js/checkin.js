// Organiser: live check-in counts per list, arrivals per 15 minutes (an SVG chart), badges,
// and every scan with undo. The counts follow the doors over the live hub.
import { api, explain, show, whoAmI } from "./api.js";
import { renderConsoleNav } from "./console.js";
import { followTopic } from "./live.js";
import { pagedList } from "./pager.js";
import { stackTables } from "./tables.js";

stackTables(); // each table a card of label: value lines on a phone

const $ = (id) => document.getElementById(id);
const slug = new URLSearchParams(location.search).get("event") || "";
const base = `/api/events/${encodeURIComponent(slug)}`;
const SVG = "http://www.w3.org/2000/svg";
let timeZone = "UTC";

function svg(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

let lastArrivals = [];

/** The chart is drawn at the width it is shown (one SVG unit a CSS pixel), so its labels keep
 * their size on a phone as on a desk (style.css: .chart text). */
function renderChart(arrivals) {
  lastArrivals = arrivals;
  const chart = $("chart");
  if (!arrivals.length) {
    chart.replaceChildren(Object.assign(document.createElement("p"), { className: "muted", textContent: "No arrivals yet." }));
    return;
  }
  const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZone });
  const width = Math.round(Math.max(240, Math.min(960, chart.clientWidth || 640)));
  const height = 220;
  const left = 36;
  const bottom = 24;
  const top = 10;
  const most = Math.max(...arrivals.map((a) => a.entries), 1);
  const step = (width - left) / arrivals.length;
  const total = arrivals.reduce((sum, a) => sum + a.entries, 0);
  const figure = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  figure.append(svg("title", {}, `Arrivals per 15 minutes: ${total} entries from ${time.format(new Date(arrivals[0].starts_at))} to ${time.format(new Date(arrivals.at(-1).starts_at))}, at most ${most} in 15 minutes.`));
  figure.append(svg("text", { x: 0, y: top + 8 }, String(most)));
  figure.append(svg("text", { x: 0, y: height - bottom }, "0"));
  const labelEvery = Math.ceil(arrivals.length / Math.max(2, Math.floor((width - left) / 70)));
  arrivals.forEach((bucket, index) => {
    const barHeight = ((height - bottom - top) * bucket.entries) / most;
    const x = left + index * step;
    const bar = svg("rect", { class: "bar", x: x + 1, y: height - bottom - barHeight, width: Math.max(step - 2, 1), height: barHeight });
    bar.append(svg("title", {}, `${time.format(new Date(bucket.starts_at))}: ${bucket.entries}`));
    figure.append(bar);
    if (index % labelEvery === 0) figure.append(svg("text", { x, y: height - 6 }, time.format(new Date(bucket.starts_at))));
  });
  chart.replaceChildren(figure);
}

function renderCounts(counts) {
  $("tickets-total").textContent = `${counts.tickets} valid tickets.`;
  $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  $("counts").replaceChildren(...counts.lists.map((list) => {
    const item = document.createElement("li");
    const name = Object.assign(document.createElement("span"), { textContent: list.list });
    const inside = Object.assign(document.createElement("strong"), { textContent: String(list.inside) });
    const detail = Object.assign(document.createElement("span"), { className: "muted", textContent: `inside · ${list.entries} in, ${list.exits} out` });
    item.append(name, inside, detail);
    return item;
  }));
  renderChart(counts.arrivals);
}

let resizing;
addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => { if (lastArrivals.length) renderChart(lastArrivals); }, 200);
});

async function refresh() {
  try {
    renderCounts(await api(`${base}/checkin-counts`));
  } catch (error) {
    show($("page-message"), explain(error), "error");
  }
}

const RESULTS = {
  already_redeemed: "already checked in", invalid_time: "wrong time", product: "wrong list", revoked: "replaced by a newer ticket",
  blocked: "ticket blocked", canceled: "ticket canceled", rules: "not allowed here", invalid: "not a ticket of this event",
};

const scans = pagedList({
  url: `${base}/checkins`,
  body: $("scans"),
  controls: $("scans-pager"),
  label: "scans",
  pageSize: 20,
  render: (scan) => {
    const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", timeZone });
    const tr = document.createElement("tr");
    const cells = [
      `${scan.name}${scan.organisation ? `, ${scan.organisation}` : ""}`,
      scan.list,
      scan.undone ? "undone" : scan.successful ? `${scan.type === "exit" ? "exit" : "admitted"}${scan.conflict ? " (offline conflict)" : ""}` : `refused: ${RESULTS[scan.reason] || scan.reason}`,
      `${when.format(new Date(scan.scanned_at))}${scan.gate ? `, ${scan.gate}` : ""}${scan.staff ? `, ${scan.staff}` : ""}${scan.offline ? ", offline" : ""}`,
    ];
    for (const text of cells) tr.append(Object.assign(document.createElement("td"), { textContent: text }));
    const action = document.createElement("td");
    if (scan.successful && !scan.undone) {
      const undo = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "Undo" });
      undo.setAttribute("aria-label", `Undo the check-in of ${scan.name} at ${scan.list}`);
      undo.addEventListener("click", async () => {
        try {
          await api(`${base}/checkins/${scan.id}/undo`, { method: "POST" });
          show($("scans-message"), `Undone: ${scan.name} may be scanned again.`, "ok");
          await Promise.all([scans.load(), refresh()]);
        } catch (error) {
          show($("scans-message"), explain(error), "error");
        }
      });
      action.append(undo);
    }
    tr.append(action);
    return tr;
  },
});

async function exportBadges() {
  $("export-button").disabled = true;
  $("export-progress").hidden = false;
  try {
    let job = await api(`${base}/badge-exports`, { method: "POST" });
    while (job.status === "queued" || job.status === "running") {
      $("export-bar").max = Math.max(job.total, 1);
      $("export-bar").value = job.done;
      $("export-status").textContent = `${job.status === "queued" ? "Waiting to start" : "Drawing badges"}: ${job.done} of ${job.total}`;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      job = await api(`${base}/badge-exports/${job.id}`);
    }
    $("export-bar").value = $("export-bar").max;
    if (job.status === "done") {
      const link = Object.assign(document.createElement("a"), { href: `${base}/badge-exports/${job.id}/pdf`, textContent: `Download ${job.total} badges (PDF)` });
      $("export-status").replaceChildren(link);
    } else {
      $("export-status").textContent = `The export failed: ${job.error}`;
    }
  } catch (error) {
    $("export-status").textContent = explain(error);
  } finally {
    $("export-button").disabled = false;
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
    show($("page-message"), "Only this event's organisers can see its check-in.", "error");
    return;
  }
  timeZone = (await api(base)).timezone || "UTC";
  renderConsoleNav($("console-nav"), slug);
  for (const id of ["counts-section", "chart-section", "badges-section", "scans-section"]) $(id).hidden = false;
  $("scanner-link").href = `/scan.html?event=${encodeURIComponent(slug)}`;
  $("sheet-link").href = `${base}/badges.pdf?limit=200`;
  $("export-button").addEventListener("click", exportBadges);
  await Promise.all([refresh(), scans.load()]);
  // The counts follow the doors over the live hub (at most half a second behind); the list of
  // scans below is reloaded with them.
  followTopic(`/ws/events/${encodeURIComponent(slug)}/checkins`, (message) => {
    renderCounts(message.counts);
    if (message.type === "change") scans.load();
  });
}

start().catch((error) => show($("page-message"), explain(error), "error"));
