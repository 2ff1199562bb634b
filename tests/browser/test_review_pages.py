"""The whole path of a start-up's application in a real browser: the start-up applies, a
reviewer scores it on the review page (save and next), and the organiser runs the optimiser on
the selection board and releases the decisions. Both pages are checked with axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from eventapp.accounts.schemas import Role
from tests.live import LiveServer, assert_accessible, demo_server

pytestmark = pytest.mark.browser

SLUG = "asean-showcase"
API = f"/api/events/{SLUG}"


@pytest.fixture(scope="module")
def server(tmp_path_factory, sqlite_template) -> Iterator[LiveServer]:
    """A demo server of this module's own: the path below changes its data."""
    with demo_server(tmp_path_factory.mktemp("review-live"), sqlite_template) as server:
        yield server


def sign_in(page, server: LiveServer, role: Role) -> None:
    page.context.clear_cookies()
    email, password = server.logins[role]
    page.goto(server.url + "/")
    page.locator("#sign-in-form").get_by_label("Email").fill(email)
    page.locator("#sign-in-form").get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#role-list")).to_be_visible()


def ok(response) -> dict:
    assert response.ok, response.text()
    return response.json()


def apply_as_startup(page, server: LiveServer) -> int:
    """The start-up's application, made through the API the apply page uses."""
    sign_in(page, server, Role.startup)
    request = page.request
    draft = ok(
        request.post(
            f"{server.url}{API}/applications",
            data={
                "company_name": "Kopi Robotics",
                "country": "SG",
                "sectors": ["Agritech"],
                "stage": "seed",
                "year_founded": 2022,
                "team_size": 6,
                "women_led": True,
                "founders": [{"name": "Siti Rahmat", "role": "CEO"}],
                "one_liner": "Robots that roast coffee beans evenly for small cafes",
                "description": "We build small roasting robots.",
                "contact_email": server.logins[Role.startup][0],
            },
            headers={"Origin": server.url},
        )
    )
    submitted = ok(
        request.post(
            f"{server.url}{API}/applications/{draft['id']}/submit", headers={"Origin": server.url}
        )
    )
    assert submitted["state"] == "submitted"
    return draft["id"]


def test_a_start_up_applies_a_reviewer_scores_and_the_organiser_selects_and_releases(page, server):
    # The organiser opens the call to everyone (the apply page's own flow is tested with it).
    now = datetime.now(UTC)
    sign_in(page, server, Role.organiser)
    ok(
        page.request.put(
            f"{server.url}{API}/call",
            data={
                "open_to_all": True,
                "opens_at": (now - timedelta(days=1)).isoformat(),
                "closes_at": (now + timedelta(days=30)).isoformat(),
            },
            headers={"Origin": server.url},
        )
    )
    application = apply_as_startup(page, server)

    # The organiser asks every reviewer for a review, so the demo reviewer surely has it.
    sign_in(page, server, Role.organiser)
    page.goto(f"{server.url}/review.html?event={SLUG}")
    expect(page.get_by_role("link", name="Review", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    reviewers = ok(page.request.get(f"{server.url}{API}/review/reviewers"))["total"]
    page.get_by_label("Reviewers per application").fill(str(reviewers))
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-message")).to_have_text("Settings saved.")
    page.get_by_role("button", name="Assign reviewers").click()
    expect(page.locator("#settings-message")).to_contain_text("new assignments")
    expect(page.locator("#scores")).to_contain_text("Kopi Robotics")
    assert_accessible(page)

    # The reviewer scores it and saves; save and next serves what is left.
    sign_in(page, server, Role.reviewer)
    page.goto(f"{server.url}/review.html?event={SLUG}")
    task = page.locator("#task")
    expect(task).to_be_visible()
    page.get_by_role("searchbox", name="Search my applications").fill("Kopi")
    page.get_by_role("button", name="Review Kopi Robotics").click()
    expect(page.locator("#task-name")).to_have_text("Kopi Robotics")
    assert_accessible(page)
    for criterion in ("Team", "Problem and market", "Innovation", "Traction", "Investor fit"):
        page.get_by_role("radiogroup", name=criterion).get_by_label("5").check()
    page.get_by_label("Comment for the organisers").fill("Clear plan, strong founder.")
    page.get_by_role("button", name="Save and next").click()
    expect(page.locator("#score-message")).to_have_text("Saved: 5.")
    page.get_by_role("searchbox", name="Search my applications").fill("Kopi")
    expect(page.locator("#queue")).to_contain_text("Reviewed")

    # The organiser selects it (one place, no other rule) and releases the decisions.
    sign_in(page, server, Role.organiser)
    page.goto(f"{server.url}/selection.html?event={SLUG}")
    expect(page.get_by_role("link", name="Selection", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("#proposal-summary")).to_be_visible()
    page.get_by_label("Places (N)").fill("1")
    for rule in ("At least women-led", "At least per country", "At least countries"):
        page.get_by_label(rule).fill("0")
    for cap in ("At most per country", "At most per sector", "At most per incubator"):
        page.get_by_label(cap).fill("")
    page.get_by_role("button", name="Save rules and run the optimiser").click()
    expect(page.locator("#run-message")).to_have_text("Proposed 1 start-ups.")
    expect(page.locator("#proposal-summary")).to_contain_text("proved optimal")
    expect(page.locator("#chart-country svg title")).to_contain_text("SG 1")
    first = page.locator("#board tr").first
    expect(first).to_contain_text("Kopi Robotics")
    expect(first).to_contain_text("in: rank 1, score 5")
    assert_accessible(page)

    page.get_by_role("button", name="Set these as pending decisions").click()
    expect(page.locator("#decision-message")).to_contain_text("Pending: 1 accepted")
    expect(first).to_contain_text("pending: accepted")
    page.get_by_role("button", name="Release the decisions").click()
    expect(page.locator("#decision-message")).to_contain_text("Released")
    expect(page.locator("#board tr").first).to_contain_text("accepted")
    released = ok(page.request.get(f"{server.url}{API}/applications/{application}"))
    assert released["state"] == "accepted"
