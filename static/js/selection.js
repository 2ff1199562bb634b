// Organiser: the selection board. Rules, run the optimiser, locks, the ranked list with each
// decision explained, the selected set's balance as inline SVG charts, pending decisions and
// their release, and the best replacement when an accepted start-up declines.
import { api, explain, show, whoAmI } from "./api.js";
import { renderConsoleNav } from "./console.js";
import { pagedList } from "./pager.js";
import { stackTables } from "./tables.js";

stackTables(); // each table a card of label: value lines on a phone

const $ = (id) => document.getElementById(id);
const slug = new URLSearchParams(location.search).get("event") || "";
const events = `/api/events/${encodeURIComponent(slug)}`;
const base = `${events}/selection`;
const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const RULES = ["size", "min_women_led", "min_per_country", "max_per_country", "max_per_sector", "max_per_incubator", "min_countries"];
const CAPS = new Set(["max_per_country", "max_per_sector", "max_per_incubator"]);
const SVG = "http://www.w3.org/2000/svg";

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};
const cell = (content) => el("td", {}, content ?? "");

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A horizontal bar chart of `counts` (label -> number) as inline SVG, with a text alternative. */
function barChart(counts, title) {
  const entries = Object.entries(counts);
  const rowHeight = 22;
  const width = 360;
  // Room for the longest label (about 6.5 px a character at 12 px), at most 170 px.
  const labelWidth = Math.min(170, 10 + 6.5 * Math.max(4, ...entries.map(([label]) => label.length)));
  const most = Math.max(1, ...entries.map(([, n]) => n));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${Math.max(1, entries.length) * rowHeight}`, role: "img", class: "bar-chart" });
  chart.append(svg("title", {}, `${title}: ${entries.map(([k, n]) => `${k} ${n}`).join(", ") || "none"}`));
  entries.forEach(([label, n], i) => {
    const y = i * rowHeight;
    const barWidth = ((width - labelWidth - 30) * n) / most;
    chart.append(
      svg("text", { x: labelWidth - 6, y: y + 15, "text-anchor": "end", class: "bar-label" }, label),
      svg("rect", { x: labelWidth, y: y + 4, width: barWidth, height: rowHeight - 8, rx: 3, class: "bar" }),
      svg("text", { x: labelWidth + barWidth + 4, y: y + 15, class: "bar-value" }, String(n)),
    );
  });
  return chart;
}

function fillRules(rules) {
  for (const key of RULES) $(key).value = rules[key] ?? "";
}

function readRules() {
  return Object.fromEntries(RULES.map((key) => {
    const raw = $(key).value.trim();
    return [key, raw === "" && CAPS.has(key) ? null : Number(raw)];
  }));
}

function showProposal(proposal) {
  const section = $("proposal-section");
  section.hidden = false;
  const ran = Boolean(proposal.run_at);
  $("charts").hidden = !ran;
  $("decide").disabled = !ran;
  if (!ran) {
    $("proposal-summary").textContent = "No proposal yet. Set the rules above and press “Save rules and run the optimiser”: "
      + "it picks the best-scored start-ups that keep every rule and shows here how they balance. "
      + "Nothing is decided, and nobody is told, until you set the proposal as pending decisions and release them.";
    for (const id of ["chart-country", "chart-sector", "chart-women"]) $(id).replaceChildren();
    return;
  }
  const balance = proposal.balance;
  $("proposal-summary").textContent = `${proposal.selected.length} selected, ${proposal.waitlist.length} on the waitlist; total score ${number.format(proposal.objective)}${proposal.optimal ? " (proved optimal)" : ""}. Run ${when.format(new Date(proposal.run_at))}.`;
  $("chart-country").replaceChildren(barChart(balance.by_country, "Selected by country"));
  $("chart-sector").replaceChildren(barChart(balance.by_sector, "Selected by sector"));
  $("chart-women").replaceChildren(barChart({ "women-led": balance.women_led, other: balance.total - balance.women_led }, "Selected women-led"));
}

let board;

function lockSelect(row) {
  const select = el("select");
  select.setAttribute("aria-label", `Lock for ${row.company_name}`);
  for (const [value, label] of [["", "Optimiser decides"], ["include", "Always in"], ["exclude", "Always out"]]) {
    select.append(el("option", { value, textContent: label, selected: (row.lock || "") === value }));
  }
  select.addEventListener("change", async () => {
    try {
      await api(`${base}/locks/${row.id}`, { method: "PUT", body: { lock: select.value || null } });
      show($("board-message"), `${row.company_name}: ${select.selectedOptions[0].textContent.toLowerCase()}. Run the optimiser again to apply.`, "ok");
    } catch (error) {
      show($("board-message"), explain(error), "error");
    }
  });
  return select;
}

async function proposeReplacement(row, message) {
  try {
    const found = await api(`${base}/replacement/${row.id}`);
    show(message, `Replacement for ${row.company_name}: ${found.company_name} (${found.country}), ${found.explanation}.`, "ok");
  } catch (error) {
    show(message, explain(error), "error");
  }
}

function proposedCell(row) {
  const box = el("div");
  box.append(el("strong", { textContent: row.proposed || "–" }));
  if (row.explanation) box.append(el("br"), el("small", { className: "muted", textContent: row.explanation }));
  if (row.state === "accepted" || row.state === "confirmed") {
    const button = el("button", { type: "button", className: "secondary", textContent: "Replacement if it declines" });
    button.setAttribute("aria-label", `Replacement if it declines: ${row.company_name}`);
    button.addEventListener("click", () => proposeReplacement(row, $("board-message")));
    box.append(el("br"), button);
  }
  return box;
}

async function refresh() {
  showProposal(await api(`${base}/proposal`));
  await board.load();
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
    show($("page-message"), "Only this event's organisers can select.", "error");
    return;
  }
  renderConsoleNav($("console-nav"), slug);
  for (const id of ["rules-section", "board-section"]) $(id).hidden = false;
  board = pagedList({
    url: `${base}/board`,
    body: $("board"),
    controls: $("board-pager"),
    label: "applications",
    render: (row) => el("tr", { className: row.proposed === "selected" ? "selected" : "" },
      cell(String(row.rank)), cell(row.company_name), cell(row.country),
      cell(row.mean === null ? "–" : number.format(row.mean)), cell(String(row.count)),
      cell(row.pending_decision ? `${row.state} (pending: ${row.pending_decision})` : row.state),
      cell(proposedCell(row)), cell(lockSelect(row))),
  });
  const declined = pagedList({
    url: `${events}/applications`,
    body: $("declined"),
    controls: $("declined-pager"),
    label: "declined applications",
    pageSize: 10,
    filters: () => ({ state: "declined" }),
    onPage: (page) => { $("declined-section").hidden = page.total === 0; },
    render: (row) => {
      const button = el("button", { type: "button", className: "secondary", textContent: "Propose a replacement" });
      button.setAttribute("aria-label", `Propose a replacement for ${row.company_name}`);
      button.addEventListener("click", () => proposeReplacement(row, $("declined-message")));
      return el("tr", {}, cell(row.company_name), cell(row.country), cell(button));
    },
  });
  await declined.load();
  fillRules(await api(`${base}/rules`));
  $("rules-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`${base}/rules`, { method: "PUT", body: readRules() });
      const proposal = await api(`${base}/run`, { method: "POST" });
      show($("run-message"), `Proposed ${proposal.selected.length} start-ups.`, "ok");
      await refresh();
    } catch (error) {
      show($("run-message"), explain(error), "error");
    }
  });
  $("decide").addEventListener("click", async () => {
    try {
      const counts = await api(`${base}/decisions`, { method: "POST" });
      show($("decision-message"), `Pending: ${counts.accepted} accepted, ${counts.waitlisted} waitlisted, ${counts.rejected} rejected. Nobody is told until you release them.`, "ok");
      await board.load();
    } catch (error) {
      show($("decision-message"), explain(error), "error");
    }
  });
  $("release").addEventListener("click", async () => {
    try {
      const result = await api(`${events}/applications/release`, { method: "POST" });
      show($("decision-message"), `Released ${result.released} decisions; the mails are on their way.`, "ok");
      await board.load();
    } catch (error) {
      show($("decision-message"), explain(error), "error");
    }
  });
  await refresh();
}

start().catch((error) => show($("page-message"), explain(error), "error"));
