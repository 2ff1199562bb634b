"""A start-up applies in chromium on a phone-sized screen: through its incubator's nomination
link, with a logo, fixing the fields the page points at, then submits and, once selected,
confirms; another starts without an account, resumes from the mailed link and withdraws."""

from __future__ import annotations

import io
import json
import re
import urllib.request
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import expect

from eventapp.accounts.schemas import Role
from eventapp.demo import DEMO_SLUG
from tests.browser.test_mail_pages import _mailed_link
from tests.live import LiveServer, assert_accessible, demo_server
from tests.mailserver import SmtpServer, running_smtp_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory, sqlite_template, smtp) -> Iterator[LiveServer]:
    """A demo of its own: decisions released here touch no other test's event."""
    folder = tmp_path_factory.mktemp("apply-live")
    with demo_server(
        folder, sqlite_template, EVENTAPP_SMTP_URL=smtp.url, EVENTAPP_MAIL_POLL_S="0.2"
    ) as live:
        yield live


def _call(server: LiveServer, method: str, path: str, body: dict | None = None) -> dict:
    """The organiser's side, through the API with a bearer token."""
    email, password = server.logins[Role.organiser]
    token = _json(server, "POST", "/api/auth/tokens", {"email": email, "password": password})
    return _json(server, method, path, body, token["token"])


def _json(server, method, path, body=None, token=None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        server.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _logo(tmp_path) -> str:
    path = tmp_path / "logo.png"
    image = Image.new("RGB", (640, 320), (11, 110, 79))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_a_nominated_start_up_applies_with_a_logo_submits_and_confirms(page, server, tmp_path):
    base = f"/api/events/{DEMO_SLUG}"
    incubators = _call(server, "GET", f"{base}/incubators?q=Block71%20Singapore")
    code = _call(
        server,
        "POST",
        f"{base}/nomination-codes",
        {"incubator_id": incubators["items"][0]["id"], "cap": 3},
    )
    page.goto(code["link"])
    expect(page.locator("#nomination")).to_contain_text("Nominated by Block71 Singapore")
    assert "#" not in page.url  # the code left the address bar
    email, password = server.logins[Role.startup]
    page.locator("#login-form").get_by_label("Email").fill(email)
    page.locator("#login-form").get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#application-form")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Company name *").fill("Lion Robotics")
    page.get_by_label("Country *").select_option("SG")
    page.get_by_label("Logistics").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#save-message")).to_contain_text("Draft saved")
    expect(page.locator("#state-tag")).to_have_text("draft")
    expect(page.locator("#state-text")).to_contain_text("Nominated by Block71 Singapore")
    page.get_by_label("Logo (PNG, JPEG or WebP, up to 5 MB)").set_input_files(_logo(tmp_path))
    expect(page.locator("#logo-preview")).to_be_visible()

    page.get_by_role("button", name="Submit my application").click()
    expect(page.locator("#e-stage")).to_contain_text("required to submit")
    expect(page.locator("#e-founders")).to_contain_text("required to submit")
    expect(page.get_by_label("Stage *")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    page.get_by_label("Stage *").select_option("seed")
    page.get_by_label("Year founded *").fill("2021")
    page.get_by_label("Team size *").fill("12")
    page.get_by_label("We are women-led").check()
    page.get_by_label("Founder 1 name").fill("Hui Min Goh")
    page.get_by_label("Founder 1 role").fill("CEO")
    page.get_by_role("button", name="Add a founder").click()
    page.get_by_label("Founder 2 name").fill("Arjun Menon")
    page.get_by_label("One-line pitch *").fill(
        "Warehouse robots that small 3PLs can rent by the hour."
    )
    page.get_by_label("Description *").fill("Robots as a service for Singapore's small warehouses.")
    page.get_by_label("Website").fill("https://lionrobotics.example")
    page.get_by_role("button", name="Submit my application").click()
    expect(page.locator("#state-tag")).to_have_text("submitted")
    expect(page.locator("#status-message")).to_contain_text("Submitted")

    mine = [
        item
        for item in _call(server, "GET", f"{base}/applications?q=Lion%20Robotics")["items"]
        if item["company_name"] == "Lion Robotics"
    ][0]
    assert mine["nominated"] and mine["incubator_name"] == "Block71 Singapore"
    assert mine["logo_url"] and mine["founders"][1] == {"name": "Arjun Menon", "role": ""}
    _call(server, "PUT", f"{base}/applications/{mine['id']}/decision", {"decision": "accepted"})
    assert _call(server, "POST", f"{base}/applications/release")["released"] == 1

    page.reload()
    expect(page.locator("#state-tag")).to_have_text("accepted")
    expect(page.locator("#application-form")).to_contain_text("no longer editable")
    assert_accessible(page)
    page.get_by_role("button", name="Confirm we will pitch").click()
    expect(page.locator("#state-tag")).to_have_text("confirmed")
    logo = page.request.get(server.url + mine["logo_url"])
    assert logo.status == 200 and logo.headers["content-type"] == "image/png"


def test_a_start_up_without_an_account_resumes_from_the_mailed_link_and_withdraws(
    page, server, smtp
):
    base = f"/api/events/{DEMO_SLUG}"
    incubators = _call(server, "GET", f"{base}/incubators?q=SIHUB")
    code = _call(
        server,
        "POST",
        f"{base}/nomination-codes",
        {"incubator_id": incubators["items"][0]["id"], "cap": 2},
    )
    page.goto(code["link"])
    page.locator("#start-form").get_by_label("Company name").fill("Mekong Mail")
    page.locator("#start-form").get_by_label("Your email").fill("linh@mekongmail.example")
    page.get_by_role("button", name="Start my application").click()
    expect(page.locator("#start-message")).to_contain_text("open the link we mailed you")
    assert_accessible(page)

    page.goto(_mailed_link(smtp, "linh@mekongmail.example", r"apply\.html\?event=\S+"))
    expect(page.locator("#state-tag")).to_have_text("draft")
    expect(page.get_by_label("Company name *")).to_have_value("Mekong Mail")
    expect(page.locator("#who")).to_contain_text("linh@mekongmail.example")
    assert "resume" not in page.url
    page.get_by_role("button", name="Withdraw my application").click()
    expect(page.locator("#state-tag")).to_have_text("withdrawn")
    expect(page.get_by_role("button", name="Withdraw my application")).to_be_hidden()


def test_an_organiser_lists_applications_hands_out_a_code_and_imports_a_sheet(
    page, server, tmp_path
):
    email, password = server.logins[Role.organiser]
    page.goto(server.url + "/")
    page.locator("#sign-in-form").get_by_label("Email").fill(email)
    page.locator("#sign-in-form").get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#who")).to_contain_text("Signed in as")
    page.goto(f"{server.url}/applications.html?event={DEMO_SLUG}")
    expect(page.get_by_role("link", name="Applications")).to_have_attribute("aria-current", "page")
    expect(page.locator("#applications-pager")).to_contain_text("of 15")  # 150 and more
    page.get_by_label("Search applications").fill("Padi")
    expect(page.locator("#applications")).to_contain_text("Padi")
    assert_accessible(page)

    page.get_by_label("Search incubators").fill("Phandeeyar")
    page.get_by_role("button", name="New code (cap 5) for Phandeeyar").click()
    expect(page.locator("#new-code-link")).to_have_value(
        re.compile(rf"/apply\.html\?event={DEMO_SLUG}#code=")
    )

    sheet = tmp_path / "nominations.csv"
    sheet.write_text(
        "company_name,contact_email,country,sectors\n"
        "Shwe Solar,thiri@shwesolar.example,MM,Cleantech\n"
        "Bad Row,not-an-email,ZZ,\n"
    )
    choice = page.locator("#import-code option", has_text="Phandeeyar").first.get_attribute("value")
    page.locator("#import-code").select_option(choice)
    page.get_by_label("CSV file").set_input_files(str(sheet))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-report")).to_contain_text("contact_email")
    expect(page.locator("#import-message")).to_contain_text("nothing was imported")
    assert_accessible(page)
    sheet.write_text(
        "company_name,contact_email,country,sectors\n"
        "Shwe Solar,thiri@shwesolar.example,MM,Cleantech\n"
    )
    page.get_by_label("CSV file").set_input_files(str(sheet))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-message")).to_contain_text("Imported 1 start-ups")
    page.get_by_label("Show").select_option("draft")
    page.get_by_label("Search applications").fill("Shwe")
    expect(page.locator("#applications")).to_contain_text("Shwe Solar")
