// Accept an invitation. The token travels in the URL fragment and in request bodies, never in a
// URL the server sees, so no access log records it.
import { api, explain, show } from "./api.js";

const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(location.hash.slice(1));
history.replaceState(null, "", location.pathname); // the token leaves the address bar at once
const ROLE_NAMES = { organiser: "organiser", reviewer: "reviewer", investor: "investor", startup: "start-up", door_staff: "door staff" };

async function load() {
  if (!token) {
    $("invite-summary").textContent = "This page needs the link from your invitation email.";
    return;
  }
  try {
    const invitation = await api("/api/invitations/preview", { method: "POST", body: { token } });
    const role = ROLE_NAMES[invitation.role] || invitation.role;
    $("invite-summary").textContent = `You are invited to ${invitation.event_name} as ${role}, with the email ${invitation.email}.`;
    const form = $("accept-form");
    form.name.value = invitation.name || "";
    form.hidden = false;
    form.addEventListener("submit", (event) => accept(event, invitation));
  } catch (error) {
    $("invite-summary").textContent = explain(error);
  }
}

async function accept(submitted, invitation) {
  submitted.preventDefault();
  const form = submitted.target;
  form.querySelector("button").disabled = true;
  try {
    await api("/api/invitations/accept", {
      method: "POST",
      body: { token, name: form.name.value, password: form.password.value },
    });
    show($("invite-message"), "Welcome! Taking you to the event…", "ok");
    location.assign(`/?event=${encodeURIComponent(invitation.event_slug)}`);
  } catch (error) {
    show($("invite-message"), explain(error), "error");
    form.querySelector("button").disabled = false;
  }
}

load();
