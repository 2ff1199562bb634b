"""The whole path of a start-up's application in a real browser, on the demo event: the
start-up applies on the apply page, a reviewer scores it on the review page (save and next), and
the organiser locks it in, runs the optimiser on the selection board and releases the decisions;
when the start-up then declines, the board proposes its replacement.
The review page (both sides) and the board are checked with axe-core."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from eventapp.accounts.schemas import Role
from tests.live import LiveServer, assert_accessible, demo_server, sign_in

pytestmark = pytest.mark.browser

SLUG = "asean-showcase"
API = f"/api/events/{SLUG}"


@pytest.fixture(scope="module")
def server(tmp_path_factory, sqlite_template) -> Iterator[LiveServer]:
    """A demo server of this module's own: the path below changes its data."""
    with demo_server(tmp_path_factory.mktemp("review-live"), sqlite_template) as server:
        yield server


def ok(response) -> dict:
    assert response.ok, response.text()
    return response.json()


def test_a_start_up_applies_a_reviewer_scores_and_the_organiser_selects_and_releases(page, server):
    # The organiser opens the demo's call (by nomination) to everyone.
    sign_in(page, server, Role.organiser)
    call = ok(page.request.get(f"{server.url}{API}/call"))
    keep = ("opens_at", "closes_at", "sectors", "women_led_definition")
    ok(
        page.request.put(
            f"{server.url}{API}/call",
            data={**{key: call[key] for key in keep}, "open_to_all": True},
            headers={"Origin": server.url},
        )
    )

    # The start-up applies on the apply page.
    sign_in(page, server, Role.startup)
    page.goto(f"{server.url}/apply.html?event={SLUG}")
    expect(page.locator("#application-form")).to_be_visible()
    page.get_by_label("Company name *").fill("Kopi Robotics")
    page.get_by_label("Country *").select_option("SG")
    page.get_by_label("Agritech").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#save-message")).to_contain_text("Draft saved")
    page.get_by_label("Stage *").select_option("seed")
    page.get_by_label("Year founded *").fill("2022")
    page.get_by_label("Team size *").fill("6")
    page.get_by_label("We are women-led").check()
    page.get_by_label("Founder 1 name").fill("Siti Rahmat")
    page.get_by_label("Founder 1 role").fill("CEO")
    page.get_by_label("One-line pitch *").fill("Robots that roast coffee evenly for small cafes")
    page.get_by_label("Description *").fill("We build small roasting robots.")
    page.get_by_role("button", name="Submit my application").click()
    expect(page.locator("#state-tag")).to_have_text("submitted")

    # The organiser assigns the new application its three reviewers. Every demo reviewer carries
    # 90 applications, and equal loads go to reviewers in the order they joined: the demo login
    # (the first reviewer) is one of the three.
    sign_in(page, server, Role.organiser)
    page.goto(f"{server.url}/review.html?event={SLUG}")
    expect(page.get_by_role("link", name="Review", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    page.get_by_label("Reviewers per application").fill("3")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-message")).to_have_text("Settings saved.")
    page.get_by_role("button", name="Assign reviewers").click()
    expect(page.locator("#settings-message")).to_contain_text("new assignments")
    page.get_by_role("searchbox", name="Search applications").fill("Kopi")
    expect(page.locator("#scores")).to_contain_text("Kopi Robotics")
    assert_accessible(page)

    # The reviewer: save and next serves the application with the fewest reviews, the new one.
    sign_in(page, server, Role.reviewer)
    page.goto(f"{server.url}/review.html?event={SLUG}")
    expect(page.locator("#task-name")).to_have_text("Kopi Robotics")
    assert_accessible(page)
    for criterion in ("Team", "Problem and market", "Innovation", "Traction", "Investor fit"):
        page.get_by_role("radiogroup", name=criterion).get_by_label("5").check()
    page.get_by_label("Comment for the organisers").fill("Clear plan, strong founder.")
    page.get_by_role("button", name="Save and next").click()
    expect(page.locator("#score-message")).to_have_text("Saved: 5.")
    expect(page.locator("#task-name")).not_to_have_text("Kopi Robotics")
    page.get_by_role("searchbox", name="Search my applications").fill("Kopi")
    expect(page.locator("#queue")).to_contain_text("Reviewed")
    expect(page.get_by_role("button", name="Change the review of Kopi Robotics")).to_be_visible()
    assert_accessible(page)

    # The organiser reads the review and its figures.
    sign_in(page, server, Role.organiser)
    page.goto(f"{server.url}/review.html?event={SLUG}")
    page.get_by_role("searchbox", name="Search applications").fill("Kopi")
    scores = page.locator("#scores tr").filter(has_text="Kopi Robotics")
    expect(scores).to_contain_text("1 of 3")
    scores.get_by_role("button", name="Reviews of Kopi Robotics").click()
    expect(page.locator("#reviews-of-list")).to_contain_text("Ravi Reviewer: 5")
    expect(page.locator("#reviews-of-list")).to_contain_text("Clear plan, strong founder.")

    # The organiser locks it in, runs the optimiser under the showcase's rules, and releases.
    page.goto(f"{server.url}/selection.html?event={SLUG}")
    expect(page.get_by_role("link", name="Selection", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_label("Places (N)")).to_have_value("32")
    # Before the optimiser has run: no empty charts, nothing to set, and what to do next.
    expect(page.locator("#proposal-summary")).to_contain_text("No proposal yet")
    expect(page.locator("#proposal-summary")).to_contain_text("Save rules and run the optimiser")
    expect(page.locator("#charts")).to_be_hidden()
    expect(page.get_by_role("button", name="Set these as pending decisions")).to_be_disabled()
    page.get_by_role("searchbox", name="Search applications").fill("Kopi")
    row = page.locator("#board tr").filter(has_text="Kopi Robotics")
    expect(row).to_be_visible()
    row.get_by_label("Lock for Kopi Robotics").select_option("include")
    expect(page.locator("#board-message")).to_contain_text("always in")
    page.get_by_role("button", name="Save rules and run the optimiser").click()
    expect(page.locator("#run-message")).to_have_text("Proposed 32 start-ups.")
    expect(page.locator("#proposal-summary")).to_contain_text("proved optimal")
    expect(page.locator("#charts")).to_be_visible()
    expect(page.locator("#chart-country svg title")).to_contain_text("SG")
    expect(page.locator("#chart-women svg title")).to_contain_text("women-led")
    expect(row).to_contain_text("selected")
    expect(row).to_contain_text("score 5, locked in by the organiser")
    assert_accessible(page)

    page.get_by_role("button", name="Set these as pending decisions").click()
    expect(page.locator("#decision-message")).to_contain_text("Pending: 32 accepted")
    expect(row).to_contain_text("pending: accepted")
    page.get_by_role("button", name="Release the decisions").click()
    expect(page.locator("#decision-message")).to_contain_text("Released")
    expect(row).to_contain_text("accepted")
    expect(row).not_to_contain_text("pending")
    [mine] = [
        item
        for item in ok(page.request.get(f"{server.url}{API}/applications?q=Kopi"))["items"]
        if item["company_name"] == "Kopi Robotics"
    ]
    assert mine["state"] == "accepted"

    # The start-up declines its place; the board proposes who takes it, every rule kept.
    sign_in(page, server, Role.startup)
    page.goto(f"{server.url}/apply.html?event={SLUG}")
    expect(page.locator("#state-tag")).to_have_text("accepted")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Decline the place").click()
    expect(page.locator("#state-tag")).to_have_text("declined")
    sign_in(page, server, Role.organiser)
    page.goto(f"{server.url}/selection.html?event={SLUG}")
    declined = page.locator("#declined-section")
    expect(declined).to_contain_text("Kopi Robotics")
    declined.get_by_role("button", name="Propose a replacement for Kopi Robotics").click()
    expect(page.locator("#declined-message")).to_contain_text("Replacement for Kopi Robotics:")
    expect(page.locator("#declined-message")).to_contain_text("in for")
    assert_accessible(page)
