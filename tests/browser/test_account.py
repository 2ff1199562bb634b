"""Your account: see where you are signed in, end a session, change your password."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from eventapp.accounts.schemas import Role
from tests.live import assert_accessible

pytestmark = pytest.mark.browser


def _token(live_server, email: str, password: str, label: str) -> str:
    request = urllib.request.Request(
        live_server.url + "/api/auth/tokens",
        data=json.dumps({"email": email, "password": password, "label": label}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["token"]


def _me_status(live_server, token: str) -> int:
    request = urllib.request.Request(
        live_server.url + "/api/auth/me", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_reviewer_ends_a_forgotten_token_and_changes_the_password(page, live_server):
    email, password = live_server.logins[Role.reviewer]
    forgotten = _token(live_server, email, password, "Old laptop script")
    kept_until_change = _token(live_server, email, password, "Scoring export")
    page.goto(live_server.url + "/")
    page.locator("#sign-in-form").get_by_label("Email").fill(email)
    page.locator("#sign-in-form").get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("link", name="Your account").click()
    expect(page.locator("#sessions")).to_contain_text("This browser")
    expect(page.locator("#sessions")).to_contain_text("API token: Old laptop script")
    assert_accessible(page)

    page.get_by_role("button", name="End API token: Old laptop script").click()
    expect(page.locator("#sessions-message")).to_contain_text("signed out")
    expect(page.locator("#sessions")).not_to_contain_text("Old laptop script")
    assert _me_status(live_server, forgotten) == 401
    assert _me_status(live_server, kept_until_change) == 200

    page.get_by_label("Current password").fill(password)
    page.get_by_role("textbox", name="New password").fill("reviewer's new password")
    page.get_by_role("button", name="Change the password").click()
    expect(page.locator("#password-message")).to_contain_text("every other session")
    expect(page.locator("#sessions")).not_to_contain_text("Scoring export")
    assert _me_status(live_server, kept_until_change) == 401
    # Other tests sign in with the demo password: put it back (and end this session's peers).
    page.get_by_label("Current password").fill("reviewer's new password")
    page.get_by_role("textbox", name="New password").fill(password)
    page.get_by_role("button", name="Change the password").click()
    expect(page.locator("#password-message")).to_contain_text("every other session")
