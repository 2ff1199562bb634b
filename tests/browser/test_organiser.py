"""The organiser's settings page in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from eventapp.accounts.schemas import Role
from tests.live import assert_accessible, sign_in

pytestmark = pytest.mark.browser


def test_an_organiser_adds_a_stage_tables_and_invites_a_reviewer(page, live_server):
    sign_in(page, live_server, Role.organiser)
    page.get_by_role("link", name="Event settings, people and invitations").click()
    expect(page.locator("#details-form").get_by_label("Name", exact=True)).to_have_value(
        "ASEAN Start-up Showcase 2027"
    )
    expect(page.locator("#tables-summary")).to_contain_text("24 tables")
    assert_accessible(page)

    page.locator("#stage-form").get_by_label("Name").fill("Workshop Room")
    page.locator("#stage-form").get_by_label("Capacity").fill("60")
    page.get_by_role("button", name="Add stage").click()
    expect(page.locator("#stages")).to_contain_text("Workshop Room")

    page.locator("#stage-form").get_by_label("Name").fill("Workshop Room")
    page.get_by_role("button", name="Add stage").click()
    expect(page.locator("#stages-message")).to_contain_text("already has a stage with this name")

    page.get_by_label("How many more").fill("4")
    page.get_by_role("button", name="Add numbered tables").click()
    expect(page.locator("#tables-summary")).to_contain_text("28 tables")
    page.get_by_label("Search tables").fill("T28")  # page 2 on a phone (20 rows a page)
    expect(page.locator("#tables")).to_contain_text("T28")

    page.locator("#invite-form").get_by_label("Email").fill("second.reviewer@example.org")
    page.locator("#invite-form").get_by_label("Role").select_option("reviewer")
    page.get_by_role("button", name="Create invitation link").click()
    expect(page.locator("#invite-link-box")).to_be_visible()
    expect(page.locator("#invitations")).to_contain_text("second.reviewer@example.org")
    assert "/invite.html#" in page.locator("#invite-link").input_value()


def test_a_reviewer_cannot_open_the_settings(page, live_server):
    sign_in(page, live_server, Role.reviewer)
    page.goto(live_server.url + "/organiser.html?event=asean-showcase")
    expect(page.locator("#page-message")).to_contain_text("Only this event's organisers")
    expect(page.locator("#event-sections")).to_be_hidden()


def test_an_organiser_edits_the_details_and_days(page, live_server):
    sign_in(page, live_server, Role.organiser)
    page.goto(live_server.url + "/organiser.html?event=asean-showcase")
    details = page.locator("#details-form")
    expect(details.get_by_label("Venue")).to_have_value("Suntec Singapore Convention Centre")
    expect(page.locator("#days tr")).to_have_count(2)
    details.get_by_label("Venue").fill("Marina Bay Sands Expo")
    page.get_by_role("button", name="Add a day").click()
    new_day = page.locator("#days tr").last
    new_day.get_by_label("day").fill("2027-03-20")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#details-message")).to_have_text("Saved.")
    page.reload()
    expect(details.get_by_label("Venue")).to_have_value("Marina Bay Sands Expo")
    expect(page.locator("#days tr")).to_have_count(3)


def test_an_organiser_pages_through_and_searches_the_people(page, live_server):
    sign_in(page, live_server, Role.organiser)
    page.goto(live_server.url + "/organiser.html?event=asean-showcase")
    status = page.locator("#people-pager [role=status]")
    # On a phone a page holds 20 rows (each row is a card there); on a desk, 50.
    expect(status).to_contain_text("1–20 of")
    expect(page.locator("#people tr")).to_have_count(20)
    page.get_by_role("button", name="Next page of people").click()
    expect(status).to_contain_text("21–")
    page.get_by_label("Search people").fill("reviewer@demo")
    expect(page.locator("#people tr")).to_have_count(1)
    expect(status).to_have_text("1–1 of 1")
    page.get_by_label("Search people").fill("nobody-by-this-name")
    expect(status).to_have_text("Nothing matches")
