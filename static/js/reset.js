// Set a new password with a link from the mailbox (the token stays out of server-visible URLs).
import { api, explain, show } from "./api.js";

const token = decodeURIComponent(location.hash.slice(1));
history.replaceState(null, "", location.pathname);
const $ = (id) => document.getElementById(id);

if (!token) show($("reset-message"), "This page needs the link from your email.", "error");

$("reset-form").addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const form = submitted.target;
  if (form.password.value !== form.again.value) {
    show($("reset-message"), "The two passwords differ.", "error");
    return;
  }
  form.querySelector("button").disabled = true;
  try {
    await api("/api/auth/password-reset/complete", { method: "POST", body: { token, new_password: form.password.value } });
    show($("reset-message"), "Your password is set. Taking you to your events…", "ok");
    location.assign("/");
  } catch (error) {
    show($("reset-message"), explain(error), "error");
    form.querySelector("button").disabled = false;
  }
});
