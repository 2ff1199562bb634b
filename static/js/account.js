// Your account: where you are signed in (end a session or token), and your password.
import { api, explain, show, whoAmI } from "./api.js";
import { pagedList } from "./pager.js";
import { stackTables } from "./tables.js";

stackTables(); // each table a card of label: value lines on a phone

const $ = (id) => document.getElementById(id);
const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function describe(token) {
  if (token.kind === "session") return token.current ? "This browser" : "A browser";
  const what = token.event_slug ? `Device for ${token.event_slug}` : "API token";
  return token.label ? `${what}: ${token.label}` : what;
}

const sessions = pagedList({
  url: "/api/auth/sessions",
  body: $("sessions"),
  controls: $("sessions-pager"),
  label: "sessions",
  render: (token) => {
    const tr = document.createElement("tr");
    for (const text of [describe(token), when.format(new Date(token.created_at)), when.format(new Date(token.expires_at))]) {
      tr.append(Object.assign(document.createElement("td"), { textContent: text }));
    }
    const td = document.createElement("td");
    if (!token.current) {
      const end = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "End" });
      end.setAttribute("aria-label", `End ${describe(token)}, since ${when.format(new Date(token.created_at))}`);
      end.addEventListener("click", async () => {
        try {
          await api(`/api/auth/sessions/${token.id}`, { method: "DELETE" });
          show($("sessions-message"), `${describe(token)} is signed out.`, "ok");
          await sessions.load();
        } catch (error) {
          show($("sessions-message"), explain(error), "error");
        }
      });
      td.append(end);
    }
    tr.append(td);
    return tr;
  },
});

$("password-form").addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const form = submitted.target;
  try {
    await api("/api/auth/password", { method: "POST", body: { current_password: form.current.value, new_password: form.password.value } });
    form.reset();
    show($("password-message"), "Your password is changed; every other session is signed out.", "ok");
    await sessions.load();
  } catch (error) {
    show($("password-message"), error.reason === "invalid_credentials" ? "The current password is wrong." : explain(error), "error");
  }
});

async function start() {
  const me = await whoAmI();
  if (!me) {
    show($("page-message"), "Sign in on the home page first.", "error");
    return;
  }
  $("who").textContent = `Signed in as ${me.name || me.email}`;
  $("account-sections").hidden = false;
  await sessions.load();
}

start().catch((error) => show($("page-message"), explain(error), "error"));
