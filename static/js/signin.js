// Sign in with a link from the mailbox. The token travels in the URL fragment and a request
// body, never in a URL the server sees, and leaves the address bar at once.
import { api, explain, show } from "./api.js";

const token = decodeURIComponent(location.hash.slice(1));
history.replaceState(null, "", location.pathname);
const message = document.getElementById("signin-message");

async function redeem() {
  if (!token) {
    show(message, "This page needs the link from your email.", "error");
    return;
  }
  try {
    const me = await api("/api/auth/sign-in-link/redeem", { method: "POST", body: { token } });
    show(message, `Signed in as ${me.name || me.email}. Taking you to your events…`, "ok");
    location.assign("/");
  } catch (error) {
    show(message, explain(error), "error");
  }
}

redeem();
