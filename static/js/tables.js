// Tables on a phone, and focus that survives a redraw.
//
// Below 40rem (style.css, table.stack) every row of a table shows as a card of "label value"
// lines, so no column is off the right edge and no button is cut. A cell's label is its
// column's header, kept in the cell's data-label. The header row stays in the page for screen
// readers, and explicit ARIA roles keep the table a table when CSS makes its parts blocks.

const ROLES = { TABLE: "table", THEAD: "rowgroup", TBODY: "rowgroup", TFOOT: "rowgroup", TR: "row", TD: "cell" };

function label(table) {
  const head = table.tHead && table.tHead.rows[0];
  const names = [];
  if (head) {
    for (const th of head.cells) {
      for (let span = 0; span < th.colSpan; span += 1) names.push(th.textContent.trim());
    }
  }
  for (const element of [table, ...table.querySelectorAll("thead, tbody, tfoot, tr")]) {
    if (element.closest("table") === table) element.setAttribute("role", ROLES[element.tagName]);
  }
  for (const body of table.tBodies) {
    for (const row of body.rows) {
      let column = 0;
      for (const cell of row.cells) {
        if (cell.tagName === "TD") {
          cell.setAttribute("role", "cell");
          cell.dataset.label = names[column] || "";
        } else {
          cell.setAttribute("role", cell.scope === "row" || column === 0 ? "rowheader" : "columnheader");
        }
        column += cell.colSpan;
      }
    }
  }
  if (head) for (const th of head.cells) th.setAttribute("role", "columnheader");
}

/** Make `table` stack into cards on a phone, and keep its labels right whenever rows change. */
export function stackTable(table) {
  if (table.classList.contains("stack")) return;
  table.classList.add("stack");
  label(table);
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => { queued = false; label(table); });
  }).observe(table, { childList: true, subtree: true });
}

/** Every table of the page except grids that only make sense as grids (class "grid"). */
export function stackTables(root = document) {
  for (const table of root.querySelectorAll("table:not(.grid)")) stackTable(table);
}

/**
 * Run `redraw` (which replaces the rows of `container`) and give the focus back to the same
 * control of the same row: rows carry data-key, controls data-action (else their label). When
 * the control is gone (a cancelled ticket has no buttons), the row itself takes the focus.
 */
export function keepFocus(container, redraw) {
  const active = document.activeElement;
  const row = active && container.contains(active) ? active.closest("[data-key]") : null;
  const wanted = row && {
    key: row.dataset.key,
    action: active.dataset.action,
    name: active.getAttribute("aria-label") || active.textContent,
  };
  const result = redraw();
  const restore = () => wanted && refocus(container, wanted);
  if (result && typeof result.then === "function") return result.then((value) => { restore(); return value; });
  restore();
  return result;
}

/** Focus the control `action` (or named `name`) of the row `key` in `container`, else the row. */
export function refocus(container, { key, action, name }) {
  if (document.activeElement && document.activeElement !== document.body && container.contains(document.activeElement)) return;
  const row = [...container.querySelectorAll("[data-key]")].find((element) => element.dataset.key === String(key));
  if (!row) return;
  const controls = [...row.querySelectorAll("button, a[href], select, input")];
  const target = controls.find((c) => action && c.dataset.action === action)
    || controls.find((c) => name && (c.getAttribute("aria-label") || c.textContent) === name);
  if (target) {
    target.focus();
    return;
  }
  row.tabIndex = -1;
  row.focus();
}
