// Home: what the event is, the sign-in, and the pages each of your roles uses.
import { api, explain, formatDay, show, whoAmI } from "./api.js";

// Pages per role. Each capability adds its page here as it lands.
const ROLE_PAGES = {
  organiser: [{ label: "Event settings, people and invitations", href: (slug) => `/organiser.html?event=${slug}` }],
  reviewer: [{ label: "Review applications", href: (slug) => `/review.html?event=${slug}` }],
  investor: [{ label: "Meet start-ups: fit, preferences, requests, my meetings", href: (slug) => `/investor.html?event=${slug}` }],
  startup: [
    { label: "My application", href: (slug) => `/apply.html?event=${slug}` },
    { label: "Meet investors: my meetings, preferences", href: (slug) => `/startup.html?event=${slug}` },
  ],
  door_staff: [{ label: "Door scanner", href: (slug) => `/scan.html?event=${slug}` }],
};

const ROLE_NAMES = {
  organiser: "Organiser",
  reviewer: "Reviewer",
  investor: "Investor",
  startup: "Start-up",
  door_staff: "Door staff",
};

const $ = (id) => document.getElementById(id);

function chosenSlug(events) {
  const wanted = new URLSearchParams(location.search).get("event");
  return events.find((e) => e.slug === wanted) || events.find((e) => e.published) || events[0];
}

function renderEvent(event) {
  if (!event) {
    $("event-name").textContent = "No event yet";
    $("event-tagline").textContent = "An administrator creates the first event after signing in.";
    return;
  }
  document.title = `${event.name} · eventapp`;
  $("event-name").textContent = event.name;
  $("event-tagline").textContent = event.tagline;
  const facts = [
    [event.venue, event.city].filter(Boolean).join(", "),
    ...event.days.map(formatDay),
    `Times in ${event.timezone}`,
  ].filter(Boolean);
  $("event-facts").replaceChildren(...facts.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
  $("register-link").href = `/register.html?event=${encodeURIComponent(event.slug)}`;
  $("register-link").hidden = !event.published;
  $("agenda-link").href = `/agenda.html?event=${encodeURIComponent(event.slug)}`;
  $("agenda-link").setAttribute("aria-label", `Agenda of ${event.name}`);
  $("event-links").hidden = false;
}

function renderEventList(events, current) {
  const items = events.map((event) => {
    const li = document.createElement("li");
    const link = Object.assign(document.createElement("a"), { href: `/?event=${event.slug}`, textContent: event.name });
    if (current && event.slug === current.slug) link.setAttribute("aria-current", "page");
    const agenda = Object.assign(document.createElement("a"), { href: `/agenda.html?event=${encodeURIComponent(event.slug)}`, textContent: "Agenda" });
    agenda.setAttribute("aria-label", `Agenda of ${event.name}`);
    li.append(link, " · ", agenda);
    if (!event.published) li.append(" ", Object.assign(document.createElement("span"), { className: "tag", textContent: "draft" }));
    return li;
  });
  $("event-list").replaceChildren(...items);
}

function renderRoles(me) {
  const cards = [];
  for (const event of me.events) {
    for (const role of event.roles) {
      const li = document.createElement("li");
      li.append(
        Object.assign(document.createElement("span"), { className: "tag", textContent: ROLE_NAMES[role] || role }),
        Object.assign(document.createElement("div"), { textContent: event.name }),
      );
      const pages = ROLE_PAGES[role] || [];
      for (const page of pages) {
        li.append(Object.assign(document.createElement("a"), { href: page.href(event.slug), textContent: page.label }));
      }
      if (!pages.length) li.append(Object.assign(document.createElement("p"), { className: "muted", textContent: "Your pages for this role open here as the event takes shape." }));
      cards.push(li);
    }
  }
  if (!cards.length) cards.push(Object.assign(document.createElement("li"), { textContent: "You have no role in an event yet." }));
  $("role-list").replaceChildren(...cards);
}

async function refresh() {
  const [me, page] = await Promise.all([whoAmI(), api("/api/events?limit=200")]);
  const events = page.items;
  const current = chosenSlug(events);
  renderEvent(current);
  renderEventList(events, current);
  $("who").textContent = me ? `Signed in as ${me.name || me.email}` : "";
  $("sign-in").hidden = Boolean(me);
  $("my-pages").hidden = !me;
  if (me) renderRoles(me);
}

$("sign-in-form").addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const form = submitted.target;
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    await api("/api/auth/login", { method: "POST", body: { email: form.email.value, password: form.password.value } });
    form.reset();
    show($("sign-in-message"), "");
    await refresh();
  } catch (error) {
    show($("sign-in-message"), error.reason === "invalid_credentials" ? "Email or password is wrong." : explain(error), "error");
  } finally {
    button.disabled = false;
  }
});

$("link-form").addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const form = submitted.target;
  const path = submitted.submitter?.value === "reset" ? "/api/auth/password-reset" : "/api/auth/sign-in-link";
  try {
    const answer = await api(path, { method: "POST", body: { email: form.email.value } });
    show($("link-message"), `${answer.detail} Check your mailbox.`, "ok");
  } catch (error) {
    show($("link-message"), explain(error), "error");
  }
});

$("sign-out").addEventListener("click", async () => {
  await api("/api/auth/logout", { method: "POST" });
  await refresh();
});

refresh().catch((error) => {
  $("event-name").textContent = "The event could not be loaded";
  $("event-tagline").textContent = explain(error);
});
