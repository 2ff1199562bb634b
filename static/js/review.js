// Review: a reviewer's queue and scoring form (save and next, abstain, conflicts); an organiser's
// criteria, assignment, reviewer loads and the applications' figures with the CSV export.
import { api, explain, show, whoAmI } from "./api.js";
import { renderConsoleNav } from "./console.js";
import { pagedList } from "./pager.js";
import { stackTables } from "./tables.js";

stackTables(); // each table a card of label: value lines on a phone

const $ = (id) => document.getElementById(id);
const slug = new URLSearchParams(location.search).get("event") || "";
const base = `/api/events/${encodeURIComponent(slug)}/review`;
const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const money = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD", maximumFractionDigits: 0 });
const STATUS = { to_review: "To review", reviewed: "Reviewed", abstained: "Abstained" };

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};
const cell = (content) => el("td", {}, content ?? "");
const figure = (value) => (value === null || value === undefined ? "–" : number.format(value));

// ---------------------------------------------------------------------------------------------
// The reviewer

let current = null; // the application being scored
let queue;

function showTask(next) {
  $("remaining").textContent = `${next.remaining} left to review`;
  const task = next.next;
  current = task;
  $("task").hidden = !task;
  $("all-done").hidden = Boolean(task);
  if (task) renderTask(task);
}

function renderTask(task) {
  const app = task.application;
  $("task-name").textContent = app.company_name;
  $("task-pitch").textContent = app.one_liner;
  const facts = [app.country, app.stage, app.sectors.join(", "),
    app.year_founded && `founded ${app.year_founded}`, app.team_size && `team of ${app.team_size}`,
    app.women_led && "women-led", app.funding_sought_usd && `seeks ${money.format(app.funding_sought_usd)}`,
    app.incubator_name && `nominated by ${app.incubator_name}`].filter(Boolean);
  $("task-facts").replaceChildren(...facts.map((fact) => el("li", { textContent: fact })));
  const text = [["Description", app.description], ["Traction", app.traction],
    ["Founders", (app.founders || []).map((f) => [f.name, f.role].filter(Boolean).join(", ")).join("; ")]];
  const links = [["Website", app.website], ["Deck", app.deck_url]].filter(([, url]) => url);
  $("task-text").replaceChildren(
    ...text.filter(([, value]) => value).flatMap(([term, value]) => [el("dt", { textContent: term }), el("dd", { textContent: value })]),
    ...links.flatMap(([term, url]) => [el("dt", { textContent: term }), el("dd", {}, el("a", { href: url, textContent: url, rel: "noopener noreferrer", target: "_blank" }))]),
  );
  const mine = task.my_review;
  const legend = $("criteria").querySelector("legend");
  const groups = task.criteria.map((criterion) => {
    const group = el("div", { className: "score-row", role: "radiogroup" });
    const name = el("span", { className: "score-name", id: `label-${criterion.key}`, textContent: criterion.label });
    group.setAttribute("aria-labelledby", `label-${criterion.key}`);
    const options = [1, 2, 3, 4, 5].map((value) => {
      const input = el("input", { type: "radio", name: criterion.key, value: String(value), required: true });
      if (mine && !mine.abstained && mine.scores[criterion.key] === value) input.checked = true;
      return el("label", { className: "score-option" }, input, String(value));
    });
    group.append(name, el("span", { className: "score-options" }, ...options));
    return group;
  });
  $("criteria").replaceChildren(legend, ...groups);
  $("comment").value = mine ? mine.comment : "";
  const others = task.other_reviews;
  $("others").hidden = !others;
  if (others) {
    $("other-scores").replaceChildren(...(others.length ? others : [null]).map((o) => el("li", {
      textContent: !o ? "No one else yet." : o.abstained ? "Abstained" : `${figure(o.score)} (${Object.entries(o.scores).map(([k, v]) => `${k} ${v}`).join(", ")})`,
    })));
  }
  show($("score-message"), "");
}

async function save(body) {
  try {
    const saved = await api(`${base}/applications/${current.application.id}/review`, { method: "PUT", body });
    showTask(saved.next);
    show($("score-message"), body.abstain ? "Abstention saved." : `Saved: ${figure(saved.review.score)}.`, "ok");
    await queue.load();
  } catch (error) {
    show($("score-message"), explain(error), "error");
  }
}

async function open(id) {
  try {
    const task = await api(`${base}/applications/${id}`);
    current = task;
    $("task").hidden = false;
    $("all-done").hidden = true;
    renderTask(task);
    $("task-name").scrollIntoView();
  } catch (error) {
    show($("page-message"), explain(error), "error");
  }
}

function startReviewer() {
  $("task-section").hidden = false;
  $("queue-section").hidden = false;
  queue = pagedList({
    url: `${base}/queue`,
    body: $("queue"),
    controls: $("queue-pager"),
    label: "my applications",
    render: (item) => {
      const text = item.status === "to_review" ? "Review" : "Change";
      const button = el("button", { type: "button", className: "secondary", textContent: text });
      button.setAttribute("aria-label", `${text} ${item.status === "to_review" ? "" : "the review of "}${item.company_name}`);
      button.addEventListener("click", () => open(item.id));
      return el("tr", {}, cell(item.company_name), cell(item.country), cell(STATUS[item.status]), cell(String(item.reviews)), cell(button));
    },
  });
  $("score-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const scores = {};
    for (const criterion of current.criteria) {
      const chosen = $("score-form").querySelector(`input[name="${criterion.key}"]:checked`);
      scores[criterion.key] = Number(chosen.value);
    }
    save({ scores, comment: $("comment").value });
  });
  $("abstain").addEventListener("click", () => save({ abstain: true, comment: $("comment").value }));
  $("conflict").addEventListener("click", async () => {
    try {
      await api(`${base}/conflicts`, { method: "POST", body: { application_id: current.application.id, note: $("comment").value.slice(0, 300) } });
      showTask(await api(`${base}/next`));
      show($("score-message"), "Conflict noted: the application is off your list.", "ok");
      await queue.load();
    } catch (error) {
      show($("score-message"), explain(error), "error");
    }
  });
  return Promise.all([api(`${base}/next`).then(showTask), queue.load()]);
}

// ---------------------------------------------------------------------------------------------
// The organiser

async function showReviews(application) {
  const page = await api(`${base}/applications/${application.id}/reviews?limit=200`);
  $("reviews-of").hidden = false;
  $("reviews-of-title").textContent = `Reviews of ${application.company_name} (${page.total})`;
  $("reviews-of-list").replaceChildren(...page.items.map((r) => el("li", {},
    el("strong", { textContent: `${r.reviewer_name}: ${r.abstained ? "abstained" : figure(r.score)}` }),
    r.abstained ? "" : ` (${Object.entries(r.scores).map(([k, v]) => `${k} ${v}`).join(", ")})`,
    r.comment ? el("p", { className: "muted", textContent: r.comment }) : "")));
  if (!page.items.length) $("reviews-of-list").replaceChildren(el("li", { textContent: "No reviews yet." }));
  $("reviews-of-title").focus();
}

async function startOrganiser() {
  renderConsoleNav($("console-nav"), slug);
  for (const id of ["settings-section", "loads-section", "scores-section"]) $(id).hidden = false;
  $("export").href = `${base}/export.csv`;
  let settings = await api(`${base}/settings`);
  const fill = () => {
    $("criteria-weights").replaceChildren(...settings.criteria.map((criterion) => {
      const weight = el("input", { type: "number", min: "0.1", max: "100", step: "0.1", value: String(criterion.weight), required: true });
      weight.dataset.key = criterion.key;
      weight.setAttribute("aria-label", `Weight of ${criterion.label}`);
      return el("tr", {}, cell(criterion.label), cell(weight));
    }));
    $("k").value = settings.reviewers_per_application;
    $("anonymised").checked = settings.anonymised;
    $("see-scores").checked = settings.reviewers_see_scores;
  };
  fill();
  const loads = pagedList({
    url: `${base}/reviewers`,
    body: $("loads"),
    controls: $("loads-pager"),
    label: "reviewers",
    render: (r) => el("tr", {}, cell(r.name || r.email), cell(String(r.assigned)), cell(String(r.reviewed)), cell(String(r.abstained))),
  });
  const scores = pagedList({
    url: `${base}/scores`,
    body: $("scores"),
    controls: $("scores-pager"),
    label: "applications",
    render: (a) => {
      const button = el("button", { type: "button", className: "secondary", textContent: "Reviews" });
      button.setAttribute("aria-label", `Reviews of ${a.company_name}`);
      button.addEventListener("click", () => showReviews(a));
      return el("tr", {}, cell(String(a.rank)), cell(a.company_name), cell(a.country),
        cell(figure(a.mean)), cell(figure(a.median)), cell(figure(a.spread)),
        cell(`${a.count}${a.abstained ? ` (+${a.abstained} abstained)` : ""} of ${a.assigned}`), cell(button));
    },
  });
  $("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const weights = Object.fromEntries([...$("criteria-weights").querySelectorAll("input")].map((i) => [i.dataset.key, Number(i.value)]));
    try {
      settings = await api(`${base}/settings`, {
        method: "PUT",
        body: {
          criteria: settings.criteria.map((c) => ({ key: c.key, label: c.label, weight: weights[c.key] })),
          reviewers_per_application: Number($("k").value),
          anonymised: $("anonymised").checked,
          reviewers_see_scores: $("see-scores").checked,
        },
      });
      fill();
      show($("settings-message"), "Settings saved.", "ok");
      await scores.load();
    } catch (error) {
      show($("settings-message"), explain(error), "error");
    }
  });
  $("assign").addEventListener("click", async () => {
    try {
      const result = await api(`${base}/assignments`, { method: "POST" });
      show($("settings-message"), `${result.created} new assignments; every application has ${result.reviewers_per_application} reviewers.`, "ok");
      await Promise.all([loads.load(), scores.load()]);
    } catch (error) {
      show($("settings-message"), explain(error), "error");
    }
  });
  await Promise.all([loads.load(), scores.load()]);
}

async function start() {
  const me = await whoAmI();
  if (!me) {
    show($("page-message"), "Sign in on the home page first.", "error");
    return;
  }
  $("who").textContent = `Signed in as ${me.name || me.email}`;
  const roles = (me.events.find((event) => event.slug === slug) || { roles: [] }).roles;
  if (!roles.includes("organiser") && !roles.includes("reviewer")) {
    show($("page-message"), "Only this event's reviewers and organisers can see its review.", "error");
    return;
  }
  const work = [];
  if (roles.includes("reviewer")) work.push(startReviewer());
  if (roles.includes("organiser")) work.push(startOrganiser());
  await Promise.all(work);
}

start().catch((error) => show($("page-message"), explain(error), "error"));
