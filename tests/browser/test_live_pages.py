"""The venue screen, the phone agenda and the stage console in chromium: an action on the stage
page shows on the screen and the agenda within a second, undo puts the stage back, and the screen
recovers after the server restarts; on each engine."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from eventapp.accounts.schemas import Role
from tests.conftest import ENGINES, _truncate_all
from tests.live import _free_port, _wait_until_healthy, assert_accessible, sign_in

pytestmark = pytest.mark.browser

SLUG = "asean-showcase"


@dataclass
class RestartableServer:
    url: str
    port: int
    env: dict[str, str]
    logins: dict[Role, tuple[str, str]]
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eventapp.cli", "run", "--port", str(self.port)],
            env={**os.environ, "EVENTAPP_LOG_LEVEL": "warning", **self.env},
        )
        _wait_until_healthy(self.url, self.process)

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module", params=ENGINES)
def server(request, tmp_path_factory) -> Iterator[RestartableServer]:
    """The demo event served on each engine (PostgreSQL when EVENTAPP_TEST_POSTGRES is set)."""
    folder = tmp_path_factory.mktemp("live-pages")
    if request.param == "sqlite":
        database = folder / "live.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), database)
        url = f"sqlite:///{database}"
    else:
        url = request.getfixturevalue("postgres_url")
        _truncate_all(url)
    env = {"EVENTAPP_DATABASE_URL": url, "EVENTAPP_VAR_DIR": str(folder)}
    seeded = subprocess.run(
        [sys.executable, "-m", "eventapp.cli", "demo", "--json"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    )
    logins = {Role(r["role"]): (r["email"], r["password"]) for r in json.loads(seeded.stdout)}
    port = _free_port()
    server = RestartableServer(f"http://127.0.0.1:{port}", port, env, logins)
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.stop()


@contextmanager
def _page(browser, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_stage_action_reaches_the_screen_and_the_agenda_within_a_second(browser, server):
    shots = Path(os.environ.get("EVENTAPP_SCREENSHOTS", "/tmp"))
    with (
        _page(browser, 1920, 1080) as screen,
        _page(browser, 390, 844) as agenda,
        _page(browser, 1280, 900) as stage,
    ):
        screen.goto(f"{server.url}/screen.html?event={SLUG}")
        expect(screen.locator("#status")).to_have_text("Live")
        expect(screen.locator("#stage-name")).to_have_text("Main Stage")
        expect(screen.locator("#now-title")).to_contain_text("Opening keynote")
        expect(screen.locator("#qr")).not_to_have_js_property("naturalWidth", 0)
        # Before the day starts: what comes first, when it starts, and the three after it,
        # their countries spelled out as on the big panel.
        expect(screen.locator("#now-label")).to_have_text("Next on stage")
        expect(screen.locator("#countdown")).to_have_text(re.compile(r"^Starts at \d"))
        expect(screen.locator("#next-list li")).to_have_count(3)
        for text in screen.locator("#next-list li").all_inner_texts():
            assert not re.search(r"· [A-Z]{2}$", text), text
        # Read from the back of the hall: labels, event name and status at least 40 px.
        for element in ("#now-label", "#next-label", "#event-name", "#status"):
            size = screen.locator(element).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
            assert size >= 40, (element, size)
        assert_accessible(screen)  # contrast included, at 1920x1080

        agenda.goto(f"{server.url}/agenda.html?event={SLUG}")
        expect(agenda.locator("#live-status")).to_have_text("Live")
        expect(agenda.locator(".agenda-item").first).to_be_visible()
        assert_accessible(agenda)

        sign_in(stage, server)
        stage.goto(f"{server.url}/stage.html?event={SLUG}")
        expect(stage.locator("#console-nav")).to_contain_text("Stage")
        expect(stage.locator("#stage-items li").first).to_contain_text("Opening keynote")
        assert_accessible(stage)

        stage.keyboard.press("n")  # start next
        expect(screen.locator("#now-label")).to_have_text("Now on stage", timeout=1000)
        expect(screen.locator("#countdown")).to_contain_text("left", timeout=1000)
        expect(agenda.locator(".agenda-item.now")).to_contain_text("Opening keynote", timeout=1000)
        expect(stage.locator("#now-note")).to_contain_text("Opening keynote", timeout=1000)
        expect(screen.locator("#next-list li")).to_have_count(3)

        stage.get_by_label("Minutes for delay and break").fill("5")
        stage.get_by_role("button", name="Delay the rest").click()
        expect(screen.locator("#delay")).to_have_text("Running 5 min late", timeout=1000)
        expect(agenda.locator(".agenda-item.changed").first).to_be_visible(timeout=1000)
        expect(stage.locator("#end-note")).to_contain_text("Projected end of the day")

        stage.keyboard.press("u")  # undo the delay
        expect(screen.locator("#delay")).to_have_text("On time", timeout=1000)

        next_title = stage.locator("#stage-items li").nth(1).inner_text().split(" · ")[1]
        stage.keyboard.press("n")  # the keynote ends, the first pitch starts
        expect(stage.locator("#now-note")).to_contain_text(next_title, timeout=1000)
        expect(screen.locator("#now-title")).to_contain_text(next_title, timeout=1000)
        stage.keyboard.press("u")  # and the keynote is back on stage, nothing refused
        expect(stage.locator("#now-note")).to_contain_text("Opening keynote", timeout=1000)
        expect(screen.locator("#now-title")).to_contain_text("Opening keynote", timeout=1000)
        expect(stage.locator("#stage-items li").nth(1)).to_contain_text("Planned")
        expect(stage.locator("#page-message")).to_have_text("")
        screen.screenshot(path=str(shots / "eventapp-screen.png"))
        agenda.screenshot(path=str(shots / "eventapp-agenda.png"), full_page=True)
        stage.screenshot(path=str(shots / "eventapp-stage.png"), full_page=True)


def test_the_screen_recovers_after_the_server_restarts(browser, server):
    with _page(browser, 1920, 1080) as screen, _page(browser, 1280, 900) as stage:
        screen.goto(f"{server.url}/screen.html?event={SLUG}")
        expect(screen.locator("#status")).to_have_text("Live")
        server.stop()
        expect(screen.locator("#status")).to_have_text("Reconnecting…", timeout=5000)
        server.start()
        expect(screen.locator("#status")).to_have_text("Live", timeout=15000)
        sign_in(stage, server)
        stage.goto(f"{server.url}/stage.html?event={SLUG}")
        expect(stage.locator("#version-note")).to_contain_text("Version")
        stage.get_by_role("button", name="+5 min").click()
        expect(stage.locator("#page-message")).to_have_text("")
        expect(screen.locator("#countdown")).to_be_visible()
        stage.get_by_label("Minutes for delay and break").fill("3")
        stage.keyboard.press("Escape")
        stage.locator("body").click(position={"x": 5, "y": 400})
        stage.keyboard.press("d")
        expect(screen.locator("#delay")).to_contain_text("late", timeout=1000)


def test_taking_a_pitch_off_is_asked_first_and_the_focus_stays_on_it(browser, server):
    with _page(browser, 1920, 1080) as screen, _page(browser, 390, 844) as stage:
        sign_in(stage, server)
        stage.goto(f"{server.url}/stage.html?event={SLUG}")
        expect(stage.locator("#stage-items li").first).to_be_visible()
        # The stage page leads to this stage's venue screen.
        stage.locator("#stage-select").select_option(label="Pitch Theatre")
        link = stage.get_by_role("link", name="Venue screen for this stage")
        pitch_theatre = stage.locator("#stage-select").input_value()
        expect(link).to_have_attribute("href", f"/screen.html?event={SLUG}&stage={pitch_theatre}")
        stage.locator("#stage-select").select_option(label="Main Stage")
        screen.goto(server.url + link.get_attribute("href"))
        expect(screen.locator("#stage-name")).to_have_text("Main Stage")
        expect(screen.locator("#next-list li")).to_have_count(3)

        no_show = stage.get_by_role("button", name=re.compile("^No-show: ")).first
        title = no_show.get_attribute("aria-label").removeprefix("No-show: ")
        item = stage.locator("#stage-items li", has_text=f"· {title} ·")
        expect(screen.locator("#next-list")).to_contain_text(title)
        version = stage.locator("#version-note").inner_text()
        no_show.click()
        dialog = stage.get_by_role("dialog", name=f"Mark {title} as a no-show?")
        expect(dialog).to_be_visible()
        assert_accessible(stage)
        stage.keyboard.press("n")  # the stage's shortcuts wait while a question is open
        stage.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(item).to_contain_text("Planned")
        expect(stage.locator("#version-note")).to_have_text(version)  # nothing was sent

        item.get_by_role("button", name=f"No-show: {title}").click()
        dialog.get_by_role("button", name="Mark as no-show").click()
        expect(item).to_contain_text("No-show")
        expect(item).to_be_focused()  # not lost to the page when the list is redrawn
        expect(stage.locator("#notice")).to_contain_text(f"Marked as a no-show: {title}.")
        expect(stage.locator("#notice")).to_be_in_viewport()
        expect(screen.locator("#next-list")).not_to_contain_text(title, timeout=1000)
        expect(screen.locator("#next-list li")).to_have_count(3)

        stage.keyboard.press("u")  # undo, from where the focus is
        expect(item).to_contain_text("Planned")
        expect(screen.locator("#next-list")).to_contain_text(title, timeout=1000)
        screen.screenshot(
            path=str(
                Path(os.environ.get("EVENTAPP_SCREENSHOTS", "/tmp")) / "eventapp-screen-running.png"
            )
        )
