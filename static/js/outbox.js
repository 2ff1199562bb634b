// Organiser: the event's mail, with each message's delivery status; search and resend.
import { api, explain, show, whoAmI } from "./api.js";
import { renderConsoleNav } from "./console.js";
import { pagedList } from "./pager.js";
import { stackTables } from "./tables.js";

stackTables(); // each table a card of label: value lines on a phone

const $ = (id) => document.getElementById(id);
const slug = new URLSearchParams(location.search).get("event") || "";
const base = `/api/events/${encodeURIComponent(slug)}`;
const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const STATUS = { queued: "Waiting", sent: "Sent", failed: "Failed" };

function cell(content) {
  const td = document.createElement("td");
  td.append(content);
  return td;
}

function statusCell(message) {
  const text = document.createElement("span");
  text.textContent = message.status === "sent"
    ? `Sent ${when.format(new Date(message.sent_at))}`
    : `${STATUS[message.status]} (${message.attempts} ${message.attempts === 1 ? "attempt" : "attempts"})`;
  if (message.last_error) {
    const error = Object.assign(document.createElement("small"), { className: "muted", textContent: ` ${message.last_error}` });
    text.append(document.createElement("br"), error);
  }
  return text;
}

const outbox = pagedList({
  url: `${base}/outbox`,
  body: $("outbox"),
  controls: $("outbox-pager"),
  label: "messages",
  filters: () => ({ status: $("status-filter").value }),
  render: (message) => {
    const tr = document.createElement("tr");
    const resend = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "Resend" });
    resend.setAttribute("aria-label", `Resend to ${message.to_address}: ${message.subject}`);
    resend.addEventListener("click", async () => {
      try {
        await api(`${base}/outbox/${message.id}/resend`, { method: "POST" });
        show($("outbox-message"), `Queued again for ${message.to_address}.`, "ok");
        await outbox.load();
      } catch (error) {
        show($("outbox-message"), explain(error), "error");
      }
    });
    tr.append(cell(message.to_address), cell(message.subject), cell(statusCell(message)),
      cell(when.format(new Date(message.created_at))), cell(resend));
    return tr;
  },
});

async function start() {
  const me = await whoAmI();
  if (!me) {
    show($("page-message"), "Sign in on the home page first.", "error");
    return;
  }
  $("who").textContent = `Signed in as ${me.name || me.email}`;
  const mine = me.events.find((event) => event.slug === slug);
  if (!mine || !mine.roles.includes("organiser")) {
    show($("page-message"), "Only this event's organisers can see its mail.", "error");
    return;
  }
  renderConsoleNav($("console-nav"), slug);
  $("outbox-section").hidden = false;
  $("status-filter").addEventListener("change", () => outbox.restart());
  await outbox.load();
}

start().catch((error) => show($("page-message"), explain(error), "error"));
