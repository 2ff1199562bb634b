// Public registration: a ticket mailed with its QR code while places last, else the waiting list.
import { api, explain, show } from "./api.js";

const $ = (id) => document.getElementById(id);
const slug = new URLSearchParams(location.search).get("event") || "";
const base = `/api/events/${encodeURIComponent(slug)}`;

async function start() {
  const event = await api(base);
  $("event-name").textContent = event.name;
  document.title = `Register · ${event.name}`;
  const types = (await api(`${base}/ticket-types?limit=200`)).items.filter((type) => type.on_sale);
  if (!types.length) {
    show($("page-message"), "Registration is not open now.", "error");
    return;
  }
  $("ticket-type").replaceChildren(...types.map((type) => Object.assign(document.createElement("option"), {
    value: String(type.id),
    textContent: type.available ? `${type.name} (${type.available} left)` : `${type.name} (sold out: join the waiting list)`,
  })));
  $("register-section").hidden = false;
  $("register-form").addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const form = submitted.target;
    try {
      const answer = await api(`${base}/registrations`, {
        method: "POST",
        body: {
          ticket_type: Number(form.ticket_type.value),
          name: form.name.value.trim(),
          email: form.email.value.trim(),
          organisation: form.organisation.value.trim(),
        },
      });
      const text = answer.status === "registered"
        ? `You are registered. Your ticket, with its QR code, is on its way to ${form.email.value.trim()}.`
        : `This ticket is sold out: you are number ${answer.waitlist_position} on the waiting list, and we will mail you a ticket if a place frees up.`;
      show($("register-message"), text, "ok");
      form.reset();
    } catch (error) {
      show($("register-message"), explain(error), "error");
    }
  });
}

start().catch((error) => show($("page-message"), explain(error), "error"));
