"""Tables on a phone (390x844): each row a card of label and value, nothing off the right edge,
no button or menu cut short, and still a table to a screen reader."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from eventapp.accounts.schemas import Role
from eventapp.demo import DEMO_SLUG
from tests.live import assert_accessible, sign_in

pytestmark = pytest.mark.browser

# Every control of a table, measured against the card that holds it: its box must lie inside
# the card's visible width, its text must fit the control (a select: its longest option).
CLIPPED = """(table) => {
  const card = table.closest(".card").getBoundingClientRect();
  const canvas = document.createElement("canvas").getContext("2d");
  const out = [];
  for (const control of table.querySelectorAll("tbody button, tbody select, tbody a")) {
    const box = control.getBoundingClientRect();
    const name = control.getAttribute("aria-label") || control.textContent.trim();
    if (box.left < card.left - 0.5 || box.right > card.right + 0.5) out.push(`off the card: ${name}`);
    if (control.tagName === "SELECT") {
      const style = getComputedStyle(control);
      canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const longest = Math.max(...[...control.options].map((o) => canvas.measureText(o.text).width));
      const room = control.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16;
      if (longest > room) out.push(`menu too narrow: ${name}`);
    } else if (control.scrollWidth > control.clientWidth + 1) {
      out.push(`text cut: ${name}`);
    }
  }
  const scroller = table.closest(".card");
  if (scroller.scrollWidth > scroller.clientWidth + 1) out.push("the card scrolls sideways");
  return out;
}"""

# Each value cell says which column it is in: data-label is the column's header.
LABELS = """(table) => {
  const heads = [...table.tHead.rows[0].cells].map((th) => th.textContent.trim());
  const wrong = [];
  for (const row of table.tBodies[0].rows) {
    [...row.cells].forEach((cell, i) => {
      if (cell.dataset.label !== heads[i]) wrong.push(`${cell.dataset.label} != ${heads[i]}`);
    });
  }
  return wrong;
}"""


# From a checkbox's right edge to where its label's words begin, in pixels.
GAP_TO_TEXT = """(box) => {
  const text = [...box.closest("label").childNodes].find((n) => n.nodeType === 3 && n.textContent.trim());
  const range = document.createRange();
  range.selectNodeContents(text);
  const words = [...range.getClientRects()].find((r) => r.width > 0);
  return words.left - box.getBoundingClientRect().right;
}"""


def chromium_table_roles(page) -> set[str]:
    """The roles chromium itself gives the page (its accessibility tree, not the DOM)."""
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    return {node.get("role", {}).get("value") for node in nodes if not node.get("ignored")}


def check_tables(page, body_ids: list[str]) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for body_id in body_ids:
        table = page.locator(f"table:has(#{body_id})")
        expect(table.locator("tbody tr").first).to_be_visible()
        assert table.evaluate(CLIPPED) == [], body_id
        assert table.evaluate(LABELS) == [], body_id
        # A card, not a row of a wide table: the first row's cells sit one under another.
        cells = table.locator("tbody tr").first.locator("td")
        first, second = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
        assert second["y"] >= first["y"] + first["height"] - 1, body_id
        # The header row is out of sight but still read out.
        assert table.locator("thead").bounding_box()["height"] <= 1
    roles = chromium_table_roles(page)
    assert {"table", "row", "columnheader", "cell"} <= roles, roles
    assert_accessible(page)


def test_the_organisers_tables_stack_into_whole_cards_on_a_phone(page, live_server):
    sign_in(page, live_server, Role.organiser)
    page.goto(f"{live_server.url}/tickets.html?event={DEMO_SLUG}")
    expect(page.locator("#tickets tr").first).to_contain_text("Valid")
    check_tables(page, ["types", "tickets"])
    # The row of a ticket is short enough to see several on one screen.
    assert page.locator("#tickets tr").first.bounding_box()["height"] < 844 / 2
    # A checkbox sits by its words, not stretched across the card away from them.
    box = page.get_by_label("Mail each ticket with its QR code")
    assert box.bounding_box()["width"] < 40
    assert 0 <= box.evaluate(GAP_TO_TEXT) <= 16

    page.goto(f"{live_server.url}/outbox.html?event={DEMO_SLUG}")
    expect(page.locator("#outbox tr").first).to_be_visible()
    check_tables(page, ["outbox"])

    page.goto(f"{live_server.url}/organiser.html?event={DEMO_SLUG}")
    expect(page.locator("#people tr").first).to_be_visible()
    check_tables(page, ["days", "people"])


def test_the_investors_answers_and_preferences_are_whole_on_a_phone(page, live_server):
    sign_in(page, live_server, Role.investor)
    page.goto(f"{live_server.url}/investor.html?event={DEMO_SLUG}")
    expect(page.locator("#startups tr").first).to_be_visible()
    expect(page.locator("#mine tr").first).to_be_visible()
    check_tables(page, ["mine", "startups"])
    preference = page.locator("#startups tr").first.get_by_role("combobox")
    preference.select_option(label="Happy to meet")
    expect(page.locator("#startups-message")).to_have_text("Preference saved.")
