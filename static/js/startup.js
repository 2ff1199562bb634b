// Start-up: my meetings (accept or decline requests), preferences on investors, calendar link.
import { explain, show, whoAmI } from "./api.js";
import { pagedList } from "./pager.js";
import { $, base, bindAvailability, bindFeed, cell, loadEvent, markSelect, meetingRow, showNext, signedInAs, slug } from "./meetingkit.js";
import { followTopic } from "./live.js";
import { stackTables } from "./tables.js";

stackTables(); // each table a card of label: value lines on a phone

const INTEREST = { must: "Must meet you", happy: "Happy to meet you", no_thanks: "Not now" };

const mine = pagedList({
  url: `${base}/mine`,
  body: $("mine"),
  controls: $("mine-pager"),
  label: "meetings",
  render: (meeting) => meetingRow(meeting, "startup", { after: refresh, message: $("mine-message") }),
});

const investors = pagedList({
  url: `${base}/investors`,
  body: $("investors"),
  controls: $("investors-pager"),
  label: "investors",
  render: (investor) => {
    const tr = document.createElement("tr");
    const name = Object.assign(document.createElement("strong"), { textContent: investor.name });
    const firm = Object.assign(document.createElement("small"), { className: "muted", textContent: ` ${investor.firm_name} · ${investor.country}` });
    tr.append(
      cell(name, firm),
      cell(`${Math.round(investor.fit * 100)} %`),
      cell(INTEREST[investor.their_mark] || "—"),
      cell(markSelect(investor.my_mark, investor.user_id, `Your preference for ${investor.name} of ${investor.firm_name}`, $("investors-message"))),
    );
    return tr;
  },
});

async function refresh() {
  await Promise.all([mine.load(), showNext($("next-meeting"), "startup")]);
}

async function start() {
  if (!(await signedInAs(await whoAmI(), "startup"))) return;
  await loadEvent();
  $("next-section").hidden = false;
  $("investors-section").hidden = false;
  $("availability-section").hidden = false;
  bindFeed($("feed-button"), $("feed-url"));
  await Promise.all([refresh(), investors.load(),
    bindAvailability($("availability-form"), $("availability-list"), $("availability-message"))]);
  // A meeting requested, answered or moved by anyone shows here at once (the live hub).
  followTopic("/ws/me/meetings", (message) => {
    if (message.type === "change" && message.event === slug) refresh();
  });
}

start().catch((error) => show($("page-message"), explain(error), "error"));
