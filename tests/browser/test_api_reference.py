"""The API reference (/schema) renders with every request to another host blocked."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_api_reference_lists_every_operation_offline(page, live_server):
    ours = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []
    problems: list[str] = []

    def only_our_server(route) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_our_server)
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    with urllib.request.urlopen(live_server.url + "/schema/openapi.json", timeout=10) as answer:
        document = json.loads(answer.read())
    operations = sum(len(item) for item in document["paths"].values())

    page.goto(live_server.url + "/schema")
    # Swagger UI builds the whole reference in the browser before it shows the title: on a
    # loaded CI machine that has taken longer than Playwright's five-second default.
    rendering = 30_000
    expect(page.get_by_role("heading", name="eventapp")).to_be_visible(timeout=rendering)
    expect(page.locator(".opblock")).to_have_count(operations, timeout=rendering)
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(
        page.locator(".opblock-summary-path", has_text="/api/events/{slug}").first
    ).to_be_visible()

    page.locator(".opblock-summary", has_text="/api/auth/logout").click()
    expect(page.locator(".opblock.is-open")).to_contain_text("204")

    assert elsewhere == [], f"requests to other hosts: {elsewhere}"
    assert problems == [], f"errors in the page (CSP included): {problems}"
