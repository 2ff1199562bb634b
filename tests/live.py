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
def serve_demo(folder: Path, sqlite_template: Path) -> Iterator[LiveServer]:
    """The app on a fresh copy of the demo event, served by uvicorn as `eventapp run` serves it."""
    database = folder / "live.sqlite"
    shutil.copyfile(sqlite_template, database)
    database_url = f"sqlite:///{database}"
    port = _free_port()
    env = {
        **os.environ,
        "EVENTAPP_DATABASE_URL": database_url,
        "EVENTAPP_VAR_DIR": str(folder / "var"),
        "EVENTAPP_PORT": str(port),
        "EVENTAPP_LOG_LEVEL": "warning",
    }
    seeded = subprocess.run(
        [sys.executable, "-m", "eventapp.cli", "demo", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    logins = {
        Role(row["role"]): (row["email"], row["password"]) for row in json.loads(seeded.stdout)
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "eventapp.cli", "run", "--port", str(port)], env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process)
        yield LiveServer(url, logins)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[LiveServer]:
    """The demo event served live, shared by the browser tests of the session."""
    with serve_demo(tmp_path_factory.mktemp("live"), sqlite_template) as server:
        yield server


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
