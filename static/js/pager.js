// A searchable, paginated list in a table body: the one way pages show lists that grow.
import { api } from "./api.js";
import { keepFocus } from "./tables.js";

// On a phone each row is a card (tables.js): fewer of them a page keeps the page short.
const PAGE_SIZE = matchMedia("(max-width: 40rem)").matches ? 20 : 50;

/**
 * Bind `url` (an API list answering {items, total, limit, offset}) to the table body `body`,
 * with a search box and previous/next buttons in `controls`. `render(item)` makes a row.
 * `filters()` adds query parameters (say, a status chosen beside the list).
 * Returns { load, restart }: redraw the current page, or go back to the first. A row is keyed by
 * its item's id (data-key), so the focus stays on the same row's control across a redraw.
 */
export function pagedList({ url, body, controls, label, render, pageSize = PAGE_SIZE, onPage, filters = () => ({}) }) {
  const state = { offset: 0, q: "" };
  const search = Object.assign(document.createElement("input"), { type: "search", placeholder: `Search ${label}` });
  search.setAttribute("aria-label", `Search ${label}`);
  const previous = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "Previous" });
  const next = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "Next" });
  previous.setAttribute("aria-label", `Previous page of ${label}`);
  next.setAttribute("aria-label", `Next page of ${label}`);
  const status = Object.assign(document.createElement("span"), { className: "muted" });
  status.setAttribute("role", "status");
  controls.classList.add("pager");
  controls.replaceChildren(search, previous, status, next);

  async function load() {
    const params = new URLSearchParams({ limit: String(pageSize), offset: String(state.offset) });
    if (state.q) params.set("q", state.q);
    for (const [key, value] of Object.entries(filters())) if (value) params.set(key, value);
    const page = await api(`${url}?${params}`);
    if (page.items.length === 0 && state.offset > 0) {
      state.offset = Math.max(0, state.offset - pageSize); // the last item of a page went away
      return load();
    }
    keepFocus(body, () => body.replaceChildren(...page.items.map((item) => {
      const row = render(item);
      if (row.dataset && !row.dataset.key && item.id !== undefined) row.dataset.key = String(item.id);
      return row;
    })));
    status.textContent = page.total
      ? `${page.offset + 1}–${page.offset + page.items.length} of ${page.total}`
      : state.q ? "Nothing matches" : "None yet";
    previous.disabled = page.offset === 0;
    next.disabled = page.offset + page.items.length >= page.total;
    if (onPage) onPage(page);
  }

  let typing;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.q = search.value.trim(); state.offset = 0; load(); }, 250);
  });
  previous.addEventListener("click", () => { state.offset = Math.max(0, state.offset - pageSize); load(); });
  next.addEventListener("click", () => { state.offset += pageSize; load(); });
  return { load, restart: () => { state.offset = 0; return load(); } };
}
