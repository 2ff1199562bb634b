// What the investor and start-up pages share: the event, times in its zone, meeting rows and
// their answers (accept, decline, cancel), the next meeting, and the private calendar link.
import { api, explain, show } from "./api.js";

export const $ = (id) => document.getElementById(id);
export const slug = new URLSearchParams(location.search).get("event") || "";
export const base = `/api/events/${encodeURIComponent(slug)}/meetings`;
const STATUS = { pending: "Waiting for an answer", accepted: "On", declined: "Declined", cancelled: "Cancelled", expired: "Expired" };

let when = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

/** Load the event; times then show in its time zone. */
export async function loadEvent() {
  const event = await api(`/api/events/${encodeURIComponent(slug)}`);
  when = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: event.timezone,
  });
  return event;
}

export const at = (iso) => when.format(new Date(iso));

export function cell(...content) {
  const td = document.createElement("td");
  td.append(...content);
  return td;
}

export function button(text, label, onClick, className = "secondary") {
  const b = Object.assign(document.createElement("button"), { type: "button", className, textContent: text });
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

/** A row of "my meetings": when, where, with whom, state, and the answers this side may give. */
export function meetingRow(meeting, side, { after, message }) {
  const tr = document.createElement("tr");
  const other = side === "investor" ? meeting.startup_name : `${meeting.investor_name} (${meeting.firm_name})`;
  const act = (action) => async () => {
    try {
      await api(`${base}/${meeting.id}/${action}`, { method: "POST" });
      show(message, `Meeting with ${other}: ${action === "accept" ? "accepted" : action === "decline" ? "declined" : "cancelled"}.`, "ok");
      await after();
    } catch (error) {
      show(message, explain(error), "error");
    }
  };
  const actions = document.createElement("div");
  actions.className = "actions";
  if (meeting.status === "pending" && meeting.requester_side !== side) {
    actions.append(button("Accept", `Accept the meeting with ${other}`, act("accept"), ""),
      button("Decline", `Decline the meeting with ${other}`, act("decline")));
  }
  const started = new Date(meeting.starts_at) <= new Date();
  if ((meeting.status === "pending" || meeting.status === "accepted") && !started) {
    actions.append(button("Cancel", `Cancel the meeting with ${other}`, act("cancel")));
  }
  if (meeting.status === "accepted" && meeting.source === "scheduler" && !started) {
    const ask = (kind) => async () => {
      try {
        await api(`${base}/${meeting.id}/change-requests`, { method: "POST", body: { kind } });
        show(message, `The organiser is asked to ${kind === "swap" ? "move" : "drop"} the meeting with ${other}.`, "ok");
      } catch (error) {
        show(message, explain(error), "error");
      }
    };
    actions.append(button("Ask to move", `Ask to move the meeting with ${other}`, ask("swap")),
      button("Ask to drop", `Ask to drop the meeting with ${other}`, ask("drop")));
  }
  if (meeting.status === "accepted" && started) actions.append(feedbackSelect(meeting, other, message));
  const note = meeting.message ? Object.assign(document.createElement("small"), { className: "muted", textContent: ` “${meeting.message}”` }) : "";
  tr.append(cell(at(meeting.starts_at)), cell(meeting.table_label), cell(other, note),
    cell(STATUS[meeting.status] || meeting.status), cell(actions));
  return tr;
}

const FEEDBACK = [
  ["", "Did it happen?"],
  ["none", "It happened: no further interest"],
  ["follow_up", "It happened: follow up"],
  ["due_diligence", "It happened: due diligence"],
  ["no", "It did not happen"],
];

/** After the meeting: did it happen, and your interest. */
function feedbackSelect(meeting, other, message) {
  const select = document.createElement("select");
  select.setAttribute("aria-label", `Did the meeting with ${other} happen?`);
  for (const [value, text] of FEEDBACK) select.append(new Option(text, value));
  select.addEventListener("change", async () => {
    if (!select.value) return;
    const happened = select.value !== "no";
    try {
      await api(`${base}/${meeting.id}/feedback`, { method: "POST", body: { happened, interest: happened ? select.value : "none" } });
      show(message, "Thank you: your answer is saved.", "ok");
    } catch (error) {
      show(message, explain(error), "error");
    }
  });
  return select;
}

/** "Next meeting: table T03 at Thu 18 Mar, 10:40 with ..." */
export async function showNext(element, side) {
  const { meeting } = await api(`${base}/next`);
  if (!meeting) {
    element.textContent = "No meeting coming up yet.";
    return;
  }
  const other = side === "investor" ? meeting.startup_name : `${meeting.investor_name} (${meeting.firm_name})`;
  element.textContent = `Next meeting: table ${meeting.table_label} at ${at(meeting.starts_at)} with ${other}.`;
}

/** The private calendar link: made on request, shown once, to paste into a calendar app. */
export function bindFeed(buttonElement, output) {
  buttonElement.addEventListener("click", async () => {
    try {
      const { url } = await api(`${base}/feed`, { method: "POST" });
      output.value = new URL(url, location.origin).href;
      output.hidden = false;
      output.select();
    } catch (error) {
      show($("page-message"), explain(error), "error");
    }
  });
}

export const MARKS = [["", "No mark"], ["must", "Must meet"], ["happy", "Happy to meet"], ["no_thanks", "No thanks"]];

/** A select for this side's mark on a counterpart; saves on change. */
export function markSelect(current, counterpartId, label, message) {
  const select = document.createElement("select");
  select.setAttribute("aria-label", label);
  for (const [value, text] of MARKS) select.append(new Option(text, value, false, value === (current || "")));
  select.addEventListener("change", async () => {
    try {
      await api(`${base}/marks`, { method: "PUT", body: { counterpart_id: counterpartId, mark: select.value || null } });
      show(message, "Preference saved.", "ok");
    } catch (error) {
      show(message, explain(error), "error");
    }
  });
  return select;
}

/** Who is signed in, and do they hold `role` in this event? Says why not on the page. */
export async function signedInAs(me, role) {
  if (!me) {
    show($("page-message"), "Sign in on the home page first.", "error");
    return false;
  }
  $("who").textContent = `Signed in as ${me.name || me.email}`;
  const mine = me.events.find((event) => event.slug === slug);
  if (!mine || !mine.roles.includes(role)) {
    show($("page-message"), `This page is for this event's ${role === "startup" ? "start-ups" : `${role}s`}.`, "error");
    return false;
  }
  return true;
}

/** Checkboxes of every slot: the ones ticked are slots you cannot meet in; saved as a whole. */
export async function bindAvailability(form, list, message) {
  const [slots, mine] = await Promise.all([api(`${base}/slots?limit=200`), api(`${base}/unavailable`)]);
  const off = new Set(mine.slot_ids);
  list.replaceChildren(...slots.items.map((slot) => {
    const label = Object.assign(document.createElement("label"), { className: "inline-label" });
    const box = Object.assign(document.createElement("input"), { type: "checkbox", value: String(slot.id), checked: off.has(slot.id) });
    label.append(box, at(slot.starts_at));
    return label;
  }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const slotIds = [...list.querySelectorAll("input:checked")].map((box) => Number(box.value));
    try {
      await api(`${base}/unavailable`, { method: "PUT", body: { slot_ids: slotIds } });
      const count = `${slotIds.length} ${slotIds.length === 1 ? "slot" : "slots"}`;
      show(message, slotIds.length ? `Saved: ${count} off.` : "Saved: you can meet in every slot.", "ok");
    } catch (error) {
      show(message, explain(error), "error");
    }
  });
}
