"""The home and invitation pages in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from eventapp.accounts.schemas import Role
from tests.live import assert_accessible

pytestmark = pytest.mark.browser


def test_the_home_page_shows_the_event_and_an_organiser_signs_in(page, live_server):
    missing = []
    page.on("console", lambda m: missing.append(m.location["url"]) if "404" in m.text else None)
    page.goto(live_server.url + "/")
    expect(page.locator("#event-name")).to_have_text("ASEAN Start-up Showcase 2027")
    page.wait_for_timeout(500)
    assert missing == []  # no /favicon.ico asked for and missed: the page names its icon
    expect(page.locator("#event-facts")).to_contain_text("Suntec Singapore Convention Centre")
    expect(page.locator("#event-facts")).to_contain_text("Asia/Singapore")
    assert_accessible(page)

    email, password = live_server.logins[Role.organiser]
    page.locator("#sign-in-form").get_by_label("Email").fill(email)
    page.locator("#sign-in-form").get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-message")).to_have_text("Email or password is wrong.")

    page.locator("#sign-in-form").get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_contain_text("Olivia Organiser")
    expect(page.locator("#role-list")).to_contain_text("Organiser")
    expect(page.get_by_role("link", name="Event settings, people and invitations")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#sign-in")).to_be_visible()


def test_the_event_card_leads_to_the_agenda(page, live_server):
    page.goto(live_server.url + "/")
    page.locator("#event").get_by_role("link", name="Agenda").click()
    expect(page).to_have_url(f"{live_server.url}/agenda.html?event=asean-showcase")
    expect(page.locator(".agenda-item").first).to_be_visible()
    page.go_back()
    events = page.get_by_role("region", name="Events")
    expect(
        events.get_by_role("link", name="Agenda of ASEAN Start-up Showcase 2027")
    ).to_be_visible()


def _api(
    live_server, method: str, path: str, body: dict | None = None, token: str | None = None
) -> dict:
    request = urllib.request.Request(
        live_server.url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_an_invited_reviewer_accepts_the_link_and_lands_signed_in(page, live_server):
    email, password = live_server.logins[Role.organiser]
    token = _api(live_server, "POST", "/api/auth/tokens", {"email": email, "password": password})[
        "token"
    ]
    invitation = _api(
        live_server,
        "POST",
        "/api/events/asean-showcase/invitations",
        {"email": "new.reviewer@example.org", "role": "reviewer", "name": "Nia Reviewer"},
        token,
    )
    page.goto(invitation["url"].replace("http://127.0.0.1:8000", live_server.url))
    expect(page.locator("#invite-summary")).to_contain_text("as reviewer")
    expect(page.get_by_label("Your name")).to_have_value("Nia Reviewer")
    assert_accessible(page)
    page.get_by_label("Password (10 characters or more)").fill("a long enough password")
    page.get_by_role("button", name="Accept and sign in").click()
    expect(page.locator("#who")).to_contain_text("Nia Reviewer")
    expect(page.locator("#role-list")).to_contain_text("Reviewer")
