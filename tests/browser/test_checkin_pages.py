"""The door scanner and the organiser's check-in dashboard, in chromium on the demo event."""

from __future__ import annotations

import io
import json
import re
import urllib.request

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from eventapp.accounts.schemas import Role
from eventapp.demo import DEMO_SLUG
from tests.live import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser

# Scanners read QR codes: a row of modules can also pass for a 1D barcode (ITF).
QR = zxingcpp.BarcodeFormat.QRCode


def _api(server: LiveServer, path: str, token: str, method: str = "GET") -> bytes:
    request = urllib.request.Request(
        server.url + path, method=method, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def _token(server: LiveServer, role: Role) -> str:
    email, password = server.logins[role]
    request = urllib.request.Request(
        server.url + "/api/auth/tokens",
        method="POST",
        data=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["token"]


def _an_investor_badge_secret(server: LiveServer, offset: int = 0) -> tuple[str, str]:
    """An investor's badge as the printer made it, read back as a hardware scanner would."""
    token = _token(server, Role.organiser)
    base = f"/api/events/{DEMO_SLUG}"
    types = json.loads(_api(server, f"{base}/ticket-types", token))["items"]
    investor = next(t for t in types if t["kind"] == "investor")
    page = json.loads(
        _api(server, f"{base}/tickets?ticket_type={investor['id']}&limit=1&offset={offset}", token)
    )
    ticket = page["items"][0]
    badge = _api(server, f"{base}/tickets/{ticket['id']}/badge.png", token)
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(badge)), formats=QR)
    return code.text, ticket["name"]


def test_a_keyboard_wedge_scan_of_a_badge_is_green_then_red_already_redeemed(page, live_server):
    secret, name = _an_investor_badge_secret(live_server)
    sign_in(page, live_server, Role.door_staff)
    page.get_by_role("link", name="Door scanner").click()
    page.get_by_label("Check-in list").select_option(label="Investor lounge")
    page.get_by_label("Gate").fill("Lounge door")
    assert_accessible(page)

    code = page.get_by_label("Scan or type a ticket code")
    code.fill(secret)  # a wedge scanner types the code, then Enter
    code.press("Enter")
    answer = page.locator("#answer")
    expect(answer).to_have_class("answer ok")
    expect(answer).to_contain_text("Admitted")
    expect(answer).to_contain_text(name)
    assert_accessible(page)

    expect(code).to_be_focused()
    page.keyboard.type(secret)
    page.keyboard.press("Enter")
    expect(answer).to_have_class("answer error")
    expect(answer).to_contain_text("Already checked in")
    expect(answer).to_contain_text("First checked in at")  # plain words, not a reason code
    expect(answer).not_to_contain_text("already_redeemed")
    expect(answer).to_contain_text("Lounge door")
    assert_accessible(page)

    page.get_by_label("Name or email").fill(name.split()[0])
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#results")).to_contain_text(name)

    code.fill("NOT-A-TICKET")
    code.press("Enter")
    expect(answer).to_contain_text("Not a ticket of this event")
    expect(page.locator("#answer-detail")).to_have_text("This is not a ticket of this event.")


def test_offline_the_scanner_checks_signatures_itself_and_uploads_later(page, live_server):
    secret, name = _an_investor_badge_secret(live_server, offset=1)
    sign_in(page, live_server, Role.door_staff)
    page.goto(f"{live_server.url}/scan.html?event={DEMO_SLUG}")
    page.get_by_label("Check-in list").select_option(label="Investor lounge")
    expect(page.locator("#offline-status")).to_contain_text("Offline data ready")
    page.context.set_offline(True)
    page.get_by_label("Check tickets on this device").check()
    code = page.get_by_label("Scan or type a ticket code")
    code.fill(secret)
    code.press("Enter")
    answer = page.locator("#answer")
    expect(answer).to_have_class("answer ok")
    expect(answer).to_contain_text("Admitted (offline)")
    expect(page.locator("#offline-status")).to_contain_text("1 scan waiting")
    code.fill(secret)
    code.press("Enter")
    expect(answer).to_contain_text("Already checked in")
    forged = secret[:-2] + ("AA" if secret[-2:] != "AA" else "QA")
    code.fill(forged)
    code.press("Enter")
    expect(answer).to_contain_text("Not a ticket of this event")
    assert_accessible(page)

    page.context.set_offline(False)
    page.get_by_role("button", name="Upload waiting scans").click()
    expect(page.locator("#page-message")).to_contain_text("1 waiting scan uploaded")
    token = _token(live_server, Role.organiser)
    scans = json.loads(
        _api(live_server, f"/api/events/{DEMO_SLUG}/checkins?q={name.split()[0]}", token)
    )
    assert any(row["offline"] and row["successful"] for row in scans["items"]), scans


def test_the_organiser_follows_check_in_live_and_exports_badges(page, live_server):
    sign_in(page, live_server, Role.organiser)
    page.goto(f"{live_server.url}/organiser.html?event={DEMO_SLUG}")
    page.get_by_role("navigation", name="Organiser console").get_by_role(
        "link", name="Check-in"
    ).click()
    counts = page.locator("#counts")
    expect(counts).to_contain_text("Day 1")
    expect(counts).to_contain_text("Investor lounge")
    expect(page.locator("#chart svg rect.bar").first).to_be_visible()
    # On a phone the chart's labels are as large as on a desk, not scaled down with it.
    for label in page.locator("#chart svg text").all():
        assert label.evaluate("t => t.getBoundingClientRect().height") >= 12
    expect(page.locator("#scans tr").first).to_be_visible()
    assert_accessible(page)

    day_1 = counts.locator("li", has_text="Day 1").locator("strong")
    before = int(day_1.inner_text())
    page.get_by_role("button", name=re.compile(r"Undo the check-in of .* at Day 1")).first.click()
    expect(page.locator("#scans-message")).to_contain_text("may be scanned again")
    expect(day_1).to_have_text(str(before - 1))

    page.get_by_role("button", name="Export every badge as one PDF").click()
    expect(page.locator("#export-status")).to_contain_text("Download", timeout=60_000)
    assert_accessible(page)


def test_the_organiser_imports_attendees_and_re_issues_a_ticket(page, live_server):
    sign_in(page, live_server, Role.organiser)
    page.goto(f"{live_server.url}/tickets.html?event={DEMO_SLUG}")
    expect(page.locator("#types")).to_contain_text("Attendee")
    # A type says its kind only where its name does not: "Attendee", not "Attendee (attendee)".
    expect(page.locator("#types tr").first.locator("td").first).to_have_text("Attendee")
    assert_accessible(page)
    page.get_by_label("CSV with the columns").fill(
        "name,email,organisation,ticket_type\nWati Browser,wati@example.org,Padiio,Plenary\n"
    )
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-errors")).to_contain_text("line 2: no ticket type 'Plenary'")
    page.get_by_label("CSV with the columns").fill(
        "name,email,organisation,ticket_type\nWati Browser,wati@example.org,Padiio,Attendee\n"
    )
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-message")).to_contain_text("Imported 1 tickets")
    page.get_by_label("Search tickets").fill("Wati Browser")
    expect(page.locator("#tickets tr")).to_have_count(1)
    notice = page.locator("#notice")
    page.get_by_role("button", name="Re-issue: Wati Browser").click()
    expect(notice).to_have_text("New QR code mailed: Wati Browser.")
    # The list is redrawn; the focus is back on the same button, not lost to the page.
    expect(page.get_by_role("button", name="Re-issue: Wati Browser")).to_be_focused()

    page.get_by_role("button", name="Cancel: Wati Browser").click()
    dialog = page.get_by_role("dialog", name="Cancel Wati Browser's ticket?")
    expect(dialog).to_contain_text("cannot be used again")
    assert_accessible(page)
    dialog.get_by_role("button", name="Cancel the ticket").click()
    expect(page.locator("#tickets")).to_contain_text("Canceled")
    expect(notice).to_have_text("Canceled: Wati Browser.")
    expect(page.locator("#tickets tr")).to_be_focused()  # a canceled ticket has no buttons left
    assert_accessible(page)


def test_block_asks_first_and_its_outcome_shows_where_the_organiser_is(page, live_server):
    sign_in(page, live_server, Role.organiser)
    page.goto(f"{live_server.url}/tickets.html?event={DEMO_SLUG}")
    block = page.get_by_role("button", name=re.compile(r"^Block: ")).nth(15)
    name = block.get_attribute("aria-label").removeprefix("Block: ")
    key = block.locator("xpath=ancestor::tr").get_attribute("data-key")
    row = page.locator(f'#tickets tr[data-key="{key}"]')  # names repeat; the ticket does not
    notice = page.locator("#notice")

    block.click()
    dialog = page.get_by_role("dialog", name=f"Block {name}'s ticket?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Go back").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Valid")  # nothing happened
    expect(notice).to_have_text("")
    expect(row.get_by_role("button", name=f"Block: {name}")).to_be_focused()

    row.get_by_role("button", name=f"Block: {name}").click()
    dialog.get_by_role("button", name="Block the ticket").click()
    unblock = row.get_by_role("button", name=f"Unblock: {name}")
    expect(unblock).to_be_focused()  # the same row's button, after the redraw
    expect(row).to_contain_text("Blocked")
    expect(notice).to_have_text(f"Blocked: {name}.")
    expect(notice).to_be_in_viewport()  # seen where the organiser is, not at the page's end
    assert notice.get_attribute("aria-live") == "polite"

    unblock.click()  # undoing a block is not asked
    expect(notice).to_have_text(f"Unblocked: {name}.")
    expect(row).to_contain_text("Valid")
    expect(row.get_by_role("button", name=f"Block: {name}")).to_be_focused()


def test_anyone_registers_for_a_ticket_from_the_home_page(page, live_server):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Register for a ticket").click()
    expect(page.get_by_label("Ticket")).to_contain_text("Attendee (")
    page.get_by_label("Ticket").select_option(index=0)
    page.get_by_label("Name").fill("Nurul Hamid")
    page.get_by_label("Email").fill("nurul.hamid@example.org")
    page.get_by_label("Organisation").fill("iCentre Brunei")
    assert_accessible(page)
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#register-message")).to_contain_text("Your ticket, with its QR code")
    page.get_by_label("Name").fill("Nurul Hamid")
    page.get_by_label("Email").fill("nurul.hamid@example.org")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#register-message")).to_contain_text("already have this ticket")
    assert_accessible(page)


def test_a_scan_at_a_door_reaches_the_open_dashboard_within_a_second_or_so(page, live_server):
    """The live hub: nobody touches the dashboard, yet the lounge count rises."""
    secret, _ = _an_investor_badge_secret(live_server, offset=2)
    sign_in(page, live_server, Role.organiser)
    page.goto(f"{live_server.url}/checkin.html?event={DEMO_SLUG}")
    lounge = page.locator("#counts li", has_text="Investor lounge").locator("strong")
    expect(lounge).to_be_visible()
    page.wait_for_timeout(300)  # the page's socket is open and has its snapshot
    before = int(lounge.inner_text())

    token = _token(live_server, Role.door_staff)
    lists = json.loads(_api(live_server, f"/api/events/{DEMO_SLUG}/checkin-lists", token))
    lounge_id = next(row["id"] for row in lists["items"] if row["name"] == "Investor lounge")
    scan = urllib.request.Request(
        f"{live_server.url}/api/events/{DEMO_SLUG}/checkins",
        method="POST",
        data=json.dumps(
            {"secret": secret, "list": lounge_id, "type": "entry", "nonce": "live-test-1"}
        ).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(scan, timeout=10) as response:
        assert response.status == 201

    expect(lounge).to_have_text(str(before + 1), timeout=2000)
