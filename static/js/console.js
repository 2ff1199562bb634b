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
