"""Signing in by a mailed link, resetting a password, and the organiser's mail page, in chromium,
with the mail read from a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from eventapp.accounts.schemas import Role
from tests.live import LiveServer, assert_accessible, demo_server
from tests.mailserver import SmtpServer, body_of, running_smtp_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory, sqlite_template, smtp) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("mail-live")
    with demo_server(
        folder, sqlite_template, EVENTAPP_SMTP_URL=smtp.url, EVENTAPP_MAIL_POLL_S="0.2"
    ) as server:
        yield server


def _mailed_link(smtp: SmtpServer, to: str, page: str) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for message in reversed(smtp.mailbox.messages):
            match = re.search(rf"(http://\S+/{page}#\S+)", body_of(message))
            if message["To"] == to and match:
                return match[1]
        time.sleep(0.1)
    raise AssertionError(f"no mail with a {page} link reached {to}")


def test_a_start_up_signs_in_with_a_mailed_link(page, mail_server, smtp):
    email, _ = mail_server.logins[Role.startup]
    page.goto(mail_server.url + "/")
    page.get_by_text("No password, or forgot it?").click()
    page.locator("#link-form").get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.locator("#link-message")).to_contain_text("a link is on its way")
    assert_accessible(page)
    link = _mailed_link(smtp, email, "signin.html")
    page.goto(link)
    expect(page.locator("#who")).to_contain_text("Signed in as")
    expect(page.locator("#role-list")).to_contain_text("Start-up")
    assert "#" not in page.url


def test_an_investor_resets_a_forgotten_password(page, mail_server, smtp):
    email, old_password = mail_server.logins[Role.investor]
    page.goto(mail_server.url + "/")
    page.get_by_text("No password, or forgot it?").click()
    page.locator("#link-form").get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a link to set a new password").click()
    expect(page.locator("#link-message")).to_contain_text("a link is on its way")
    page.goto(_mailed_link(smtp, email, "reset.html"))
    assert_accessible(page)
    page.get_by_role("textbox", name="New password").fill("a fresh long password")
    page.get_by_label("The same again").fill("a fresh long password")
    page.get_by_role("button", name="Set the password and sign in").click()
    expect(page.locator("#who")).to_contain_text("Signed in as")
    page.get_by_role("button", name="Sign out").click()
    page.locator("#sign-in-form").get_by_label("Email").fill(email)
    page.locator("#sign-in-form").get_by_label("Password").fill(old_password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#sign-in-message")).to_have_text("Email or password is wrong.")


def test_an_organiser_invites_by_mail_and_follows_it_on_the_mail_page(page, mail_server, smtp):
    email, password = mail_server.logins[Role.organiser]
    page.goto(mail_server.url + "/")
    page.locator("#sign-in-form").get_by_label("Email").fill(email)
    page.locator("#sign-in-form").get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("link", name="Event settings, people and invitations").click()
    page.locator("#invite-form").get_by_label("Email").fill("mailed.reviewer@example.org")
    page.get_by_role("button", name="Create invitation link").click()
    expect(page.locator("#invite-message")).to_contain_text("mailed")
    expect(page.locator("#invite-link-box")).to_be_hidden()  # the link went to the invitee only
    link = _mailed_link(smtp, "mailed.reviewer@example.org", "invite.html")
    assert "/invite.html#" in link

    page.get_by_role("navigation", name="Organiser console").get_by_role(
        "link", name="Mail"
    ).click()
    expect(page.locator("#outbox")).to_contain_text("mailed.reviewer@example.org")
    expect(page.locator("#outbox")).to_contain_text("Sent")
    assert_accessible(page)
    page.get_by_label("Search messages").fill("mailed.reviewer")
    expect(page.locator("#outbox tr")).to_have_count(1)
    before = len(smtp.mailbox.messages)
    page.get_by_role("button", name=re.compile("Resend to mailed.reviewer")).click()
    expect(page.locator("#outbox-message")).to_contain_text("Queued again")
    deadline = time.monotonic() + 10
    while len(smtp.mailbox.messages) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(smtp.mailbox.messages) == before + 1
