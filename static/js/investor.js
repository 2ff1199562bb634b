// Investor: start-ups with fit and why, preferences, requests in free slots, my meetings.
import { api, explain, show, whoAmI } from "./api.js";
import { pagedList } from "./pager.js";
import { $, at, base, bindAvailability, bindFeed, button, cell, loadEvent, markSelect, meetingRow, showNext, signedInAs, slug } from "./meetingkit.js";
import { followTopic } from "./live.js";
import { stackTables } from "./tables.js";

stackTables(); // each table a card of label: value lines on a phone

const FACTOR = { sector: "sector", stage: "stage", ticket: "ticket size", geography: "geography", thesis: "thesis" };
const GATE = { stage: "outside your stages", ticket: "outside your ticket", country: "outside your countries" };
const list = (text) => text.split(",").map((part) => part.trim()).filter(Boolean);
let requesting = null;

const mine = pagedList({
  url: `${base}/mine`,
  body: $("mine"),
  controls: $("mine-pager"),
  label: "meetings",
  render: (meeting) => meetingRow(meeting, "investor", { after: refresh, message: $("mine-message") }),
});

const startups = pagedList({
  url: `${base}/startups`,
  body: $("startups"),
  controls: $("startups-pager"),
  label: "start-ups",
  filters: () => ({ country: $("country-filter").value.trim().toUpperCase(), min_fit: $("fit-filter").value }),
  render: (startup) => {
    const tr = document.createElement("tr");
    const name = Object.assign(document.createElement("strong"), { textContent: startup.name });
    const about = Object.assign(document.createElement("small"), { className: "muted", textContent: ` ${startup.country} · ${startup.one_liner}` });
    const why = startup.gate ? GATE[startup.gate] : startup.why.map((factor) => FACTOR[factor]).join(", ") || "—";
    const theirs = startup.their_mark === "must" ? " · they must meet you" : startup.their_mark === "happy" ? " · happy to meet you" : "";
    tr.append(
      cell(name, about),
      cell(`${Math.round(startup.fit * 100)} %`),
      cell(why + theirs),
      cell(markSelect(startup.my_mark, startup.organisation_id, `Your preference for ${startup.name}`, $("startups-message"))),
      cell(button("Request", `Request a meeting with ${startup.name}`, () => openRequest(startup))),
    );
    return tr;
  },
});

async function openRequest(startup) {
  requesting = startup;
  $("request-with").textContent = `With ${startup.name}, in a slot where you are both free:`;
  const slots = await api(`${base}/free-slots?counterpart_id=${startup.organisation_id}&limit=200`);
  $("request-slot").replaceChildren(...slots.items.map((slot) => new Option(at(slot.starts_at), String(slot.id))));
  show($("request-message"), slots.items.length ? "" : "No slot is free for you both.", slots.items.length ? "" : "error");
  $("request-section").hidden = false;
  $("request-slot").focus();
}

async function refresh() {
  await Promise.all([mine.load(), showNext($("next-meeting"), "investor")]);
}

async function loadProfile() {
  const p = await api(`${base}/investor-profile`);
  $("profile-title").textContent = `${p.firm_name}'s investor profile`;
  $("p-type").value = p.investor_type;
  $("p-sectors").value = p.sectors.join(", ");
  $("p-stages").value = p.stages.join(", ");
  $("p-min").value = p.ticket_min_usd ?? "";
  $("p-max").value = p.ticket_max_usd ?? "";
  $("p-countries").value = p.countries_of_interest.join(", ");
  $("p-thesis").value = p.thesis;
}

function bind() {
  $("request-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`${base}/requests`, {
        method: "POST",
        body: { counterpart_id: requesting.organisation_id, slot_id: Number($("request-slot").value), message: $("request-text").value },
      });
      show($("mine-message"), `Request sent to ${requesting.name}.`, "ok");
      $("request-section").hidden = true;
      $("request-text").value = "";
      await refresh();
    } catch (error) {
      show($("request-message"), explain(error), "error");
    }
  });
  $("request-close").addEventListener("click", () => { $("request-section").hidden = true; });
  $("profile-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const number = (id) => ($(id).value === "" ? null : Number($(id).value));
    try {
      await api(`${base}/investor-profile`, {
        method: "PUT",
        body: {
          investor_type: $("p-type").value,
          sectors: list($("p-sectors").value),
          stages: list($("p-stages").value),
          ticket_min_usd: number("p-min"),
          ticket_max_usd: number("p-max"),
          countries_of_interest: list($("p-countries").value).map((c) => c.toUpperCase()),
          thesis: $("p-thesis").value,
        },
      });
      show($("profile-message"), "Profile saved; fit scores are up to date.", "ok");
      await startups.restart();
    } catch (error) {
      show($("profile-message"), explain(error), "error");
    }
  });
  $("country-filter").addEventListener("change", () => startups.restart());
  $("fit-filter").addEventListener("change", () => startups.restart());
  bindFeed($("feed-button"), $("feed-url"));
}

async function start() {
  if (!(await signedInAs(await whoAmI(), "investor"))) return;
  await loadEvent();
  for (const id of ["next-section", "startups-section", "profile-section", "availability-section"]) $(id).hidden = false;
  bind();
  await Promise.all([refresh(), startups.load(), loadProfile(),
    bindAvailability($("availability-form"), $("availability-list"), $("availability-message"))]);
  // A meeting requested, answered or moved by anyone shows here at once (the live hub).
  followTopic("/ws/me/meetings", (message) => {
    if (message.type === "change" && message.event === slug) refresh();
  });
}

start().catch((error) => show($("page-message"), explain(error), "error"));
