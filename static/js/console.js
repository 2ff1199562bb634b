// The organiser console: one navigation across the organiser's pages of an event.
const PAGES = [
  { href: "/organiser.html", label: "Settings and people" },
  { href: "/applications.html", label: "Applications" },
  { href: "/review.html", label: "Review" },
  { href: "/selection.html", label: "Selection" },
  { href: "/stage.html", label: "Stage" },
  { href: "/meetings.html", label: "Meetings" },
  { href: "/outbox.html", label: "Mail" },
  { href: "/tickets.html", label: "Tickets" },
  { href: "/checkin.html", label: "Check-in" },
];

/** Fill `nav` with links to every console page of the event `slug`, marking the current one. */
export function renderConsoleNav(nav, slug) {
  const list = document.createElement("ul");
  for (const page of PAGES) {
    const link = Object.assign(document.createElement("a"), {
      href: `${page.href}?event=${encodeURIComponent(slug)}`,
      textContent: page.label,
    });
    if (location.pathname === page.href) link.setAttribute("aria-current", "page");
    const item = document.createElement("li");
    item.append(link);
    list.append(item);
  }
  nav.replaceChildren(list);
  nav.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// One notice for the outcome of an action, fixed at the bottom of the screen where it is seen
// whatever the scroll, and announced politely; and a confirmation before what cannot be taken
// back lightly.

let notice = null;
let noticeTimer = null;

function noticeArea() {
  if (!notice) {
    notice = Object.assign(document.createElement("div"), { id: "notice", className: "notice" });
    notice.setAttribute("role", "status");
    notice.setAttribute("aria-live", "polite");
    document.body.append(notice);
  }
  return notice;
}
if (document.body) noticeArea(); // present before its first message, so that it is announced

/** Say `text` in the notice ("ok" or "error"); it clears itself after a while. */
export function notify(text, kind = "ok") {
  const area = noticeArea();
  clearTimeout(noticeTimer);
  area.textContent = text;
  area.className = `notice ${kind}`;
  noticeTimer = setTimeout(() => { area.textContent = ""; area.className = "notice"; }, kind === "error" ? 15000 : 8000);
}

let dialog = null;

/**
 * Ask before acting, in a native modal dialog: `question` as its heading, `detail` under it,
 * `yes` on the button that goes ahead. Resolves true only when that button is pressed; the
 * focus returns to where it was.
 */
export function confirmAction({ question, detail = "", yes, no = "Go back" }) {
  if (!dialog) {
    dialog = Object.assign(document.createElement("dialog"), { id: "confirm", className: "confirm" });
    dialog.setAttribute("aria-labelledby", "confirm-question");
    dialog.setAttribute("aria-describedby", "confirm-detail");
    dialog.innerHTML = `<form method="dialog">
      <h2 id="confirm-question"></h2>
      <p id="confirm-detail"></p>
      <div class="actions">
        <button value="yes" class="danger" id="confirm-yes"></button>
        <button value="no" class="secondary" id="confirm-no" autofocus></button>
      </div>
    </form>`;
    document.body.append(dialog);
  }
  dialog.querySelector("#confirm-question").textContent = question;
  dialog.querySelector("#confirm-detail").textContent = detail;
  dialog.querySelector("#confirm-yes").textContent = yes;
  dialog.querySelector("#confirm-no").textContent = no;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
  });
}
