"""Meetings in a real browser: an investor requests, the start-up accepts, both see it; the
organiser's grid; every page axe-clean."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from eventapp.accounts.schemas import Role
from eventapp.demo import DEMO_SLUG, build_demo
from tests.live import LiveServer, assert_accessible, demo_server, sign_in

pytestmark = pytest.mark.browser

# The demo start-up login belongs to the first start-up, and the demo investor login to the
# first firm; the demo leaves that pair unscheduled.
DEMO_STARTUP = next(org.name for org in build_demo().organisations if org.kind == "startup")


@pytest.fixture(scope="module")
def meetings_server(tmp_path_factory, sqlite_template) -> Iterator[LiveServer]:
    """A demo server of this module's own: the meetings booked here touch no other test."""
    with demo_server(tmp_path_factory.mktemp("meetings-live"), sqlite_template) as server:
        yield server


def test_an_investor_books_a_meeting_the_start_up_accepts_and_both_see_it(page, meetings_server):
    sign_in(page, meetings_server, Role.investor)
    page.goto(f"{meetings_server.url}/investor.html?event={DEMO_SLUG}")
    expect(page.locator("#startups tr").first).to_be_visible()
    expect(page.locator("#next-meeting")).to_contain_text("meeting")
    assert_accessible(page)

    page.get_by_label("Search start-ups").fill(DEMO_STARTUP)
    expect(page.locator("#startups tr")).to_have_count(1)
    page.get_by_role("button", name=f"Request a meeting with {DEMO_STARTUP}").click()
    expect(page.locator("#request-section")).to_be_visible()
    page.get_by_label("Message").fill("We back agritech across ASEAN.")
    assert_accessible(page)
    page.get_by_role("button", name="Send the request").click()
    expect(page.locator("#mine-message")).to_contain_text(f"Request sent to {DEMO_STARTUP}")
    expect(page.locator("#mine")).to_contain_text("Waiting for an answer")

    sign_in(page, meetings_server, Role.startup)
    page.goto(f"{meetings_server.url}/startup.html?event={DEMO_SLUG}")
    accept = page.get_by_role(
        "button", name="Accept the meeting with Ines Investor (Lion City Ventures)"
    )
    expect(accept).to_be_visible()
    expect(page.locator("#investors tr").first).to_be_visible()
    assert_accessible(page)
    accept.click()
    expect(page.locator("#mine-message")).to_contain_text("accepted")
    expect(page.locator("#mine tr", has_text="Ines Investor")).to_contain_text("On")

    sign_in(page, meetings_server, Role.investor)
    page.goto(f"{meetings_server.url}/investor.html?event={DEMO_SLUG}")
    row = page.locator("#mine tr", has_text=DEMO_STARTUP)
    expect(row).to_contain_text("On")
    expect(row).to_contain_text("We back agritech across ASEAN.")

    page.get_by_role("button", name=re.compile("Ask to move the meeting")).first.click()
    expect(page.locator("#mine-message")).to_contain_text("The organiser is asked to move")

    page.get_by_text("Slots you cannot meet in").click()
    page.locator("#availability-list input").last.check()
    page.get_by_role("button", name="Save my availability").click()
    expect(page.locator("#availability-message")).to_contain_text("Saved: 1 slot off")
    assert_accessible(page)


def test_the_organiser_sees_the_grid_and_a_move_conflict_is_explained(page, meetings_server):
    sign_in(page, meetings_server, Role.organiser)
    page.goto(f"{meetings_server.url}/meetings.html?event={DEMO_SLUG}")
    expect(page.locator("#grid caption")).to_contain_text("meetings in 18 slots at 24 tables")
    expect(page.locator("#schedule-state")).to_contain_text("published")
    expect(page.get_by_role("link", name="Meetings")).to_have_attribute("aria-current", "page")
    page.get_by_text("The meeting grid and its rules").click()
    expect(page.locator("#g-blocks")).to_have_value(
        "2027-03-18 10:00-12:00\n2027-03-18 14:00-16:00\n2027-03-19 10:00-12:00"
    )
    expect(page.locator("#g-minutes")).to_have_value("20")
    assert_accessible(page)
    page.get_by_role("button", name="Save the grid").click()
    expect(page.locator("#settings-message")).to_contain_text("Saved: 18 slots")
    asked = page.locator("#changes tr", has_text="Ines Investor")
    expect(asked).to_contain_text("move it")
    page.get_by_role("button", name="Mark Ines Investor's request as done").click()
    expect(asked).to_contain_text("Done")
    first = page.locator("#grid button.meeting").first
    first.click()
    expect(page.locator("#move-form")).to_be_visible()
    # Into the slot of the same row, at the table of its neighbour: taken.
    neighbour = page.locator("#grid tbody tr").first.locator("button.meeting").nth(1)
    expect(neighbour).to_be_visible()
    page.locator("#move-table").select_option(index=2)
    page.get_by_role("button", name="Move the meeting").click()
    expect(page.locator("#move-message")).to_contain_text("Not moved")
    assert_accessible(page)


def test_a_meeting_cancelled_elsewhere_leaves_the_investors_open_page_at_once(
    page, meetings_server
):
    """The live hub: the page was not reloaded, yet its next meeting moves on within a second."""
    import httpx

    sign_in(page, meetings_server, Role.investor)
    page.goto(f"{meetings_server.url}/investor.html?event={DEMO_SLUG}")
    expect(page.locator("#next-meeting")).to_contain_text("Next meeting")
    page.wait_for_timeout(300)  # the page's socket is open and has its snapshot
    before = page.locator("#next-meeting").text_content()

    email, password = meetings_server.logins[Role.organiser]
    with httpx.Client(base_url=meetings_server.url) as http:
        login = {"email": email, "password": password, "label": "test"}
        token = http.post("/api/auth/tokens", json=login).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        listed = http.get(
            f"/api/events/{DEMO_SLUG}/meetings/",
            params={"q": "Ines Investor", "status": "accepted", "limit": 1},
        ).json()["items"]
        assert listed, "the demo investor has accepted meetings"
        cancelled = http.post(f"/api/events/{DEMO_SLUG}/meetings/{listed[0]['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text

    expect(page.locator("#next-meeting")).not_to_have_text(before or "", timeout=1500)
