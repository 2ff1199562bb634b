"""A live server (uvicorn in a subprocess, on a free port) and a Playwright chromium page."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from eventapp.accounts.schemas import Role

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass(frozen=True)
class LiveServer:
    url: str
    logins: dict[Role, tuple[str, str]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the live server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the live server did not become healthy in time")


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[str]:
    """`eventapp run` on a free port with `env` (and extra arguments, e.g. --workers); its URL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "eventapp.cli", "run", "--port", str(port), *args],
        env={**os.environ, "EVENTAPP_LOG_LEVEL": "warning", **env},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def demo_server(folder: Path, sqlite_template: Path, **settings: str) -> Iterator[LiveServer]:
    """The demo event, seeded into a fresh database and served as `eventapp run` serves it;
    `settings` are extra EVENTAPP_* variables (say, EVENTAPP_SMTP_URL)."""
    database = folder / "live.sqlite"
    shutil.copyfile(sqlite_template, database)
    env = {
        "EVENTAPP_DATABASE_URL": f"sqlite:///{database}",
        "EVENTAPP_VAR_DIR": str(folder / "var"),
        **settings,
    }
    seeded = subprocess.run(
        [sys.executable, "-m", "eventapp.cli", "demo", "--json"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    )
    logins = {
        Role(row["role"]): (row["email"], row["password"]) for row in json.loads(seeded.stdout)
    }
    with serving(env) as url:
        yield LiveServer(url, logins)


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[LiveServer]:
    """The app on the demo event, served by uvicorn exactly as `eventapp run` serves it."""
    with demo_server(tmp_path_factory.mktemp("live"), sqlite_template) as server:
        yield server


AXE_SOURCE = Path(__file__).parent / "browser" / "vendor" / "axe-core" / "axe.min.js"


def assert_accessible(page) -> None:
    """axe-core (vendored) finds no serious or critical WCAG violation on the page as it is now.

    The checker is evaluated through the browser's devtools protocol, which the page's
    Content-Security-Policy does not govern, so pages need no exception for it.
    """
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(AXE_SOURCE.read_text())
    results = page.evaluate(
        """() => axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
            resultTypes: ["violations"],
        })"""
    )
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert not serious, serious


def sign_in(page, server, role: Role = Role.organiser) -> None:
    """Sign in on the home page's password form as the demo login for `role` (whoever was
    signed in before is signed out first)."""
    from playwright.sync_api import expect

    page.context.clear_cookies()
    email, password = server.logins[role]
    page.goto(server.url + "/")
    page.locator("#sign-in-form").get_by_label("Email").fill(email)
    page.locator("#sign-in-form").get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#role-list")).to_be_visible()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through Playwright; Playwright never downloads a browser of its own.

    Module-scoped: Playwright's sync API keeps an event loop running while it is open, which
    must be closed again before the async tests of other modules run.
    """
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        if os.environ.get("EVENTAPP_REQUIRE_BROWSER"):
            pytest.fail("chromium is required (EVENTAPP_REQUIRE_BROWSER is set) but not installed")
        pytest.skip(
            "chromium is not installed here; `python3 dev.py test` installs it where it can"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    yield page
    context.close()
