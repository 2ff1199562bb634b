#!/usr/bin/env python3
"""Set up and run eventapp with nothing but Python 3.11+ and git.

    python3 dev.py run     # virtualenv, install, migrate, seed the demo, serve on :8000
    python3 dev.py test    # virtualenv with test extras, chromium where possible, every test

Arguments after `test` go to pytest (e.g. `python3 dev.py test -k accounts -x`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_environment(extras: str = "") -> None:
    """A virtualenv in .venv with eventapp installed (editable); again when pyproject changes."""
    if not PYTHON.exists():
        say("creating a virtual environment in .venv")
        try:
            venv.create(VENV, with_pip=True)
        except subprocess.CalledProcessError:
            shutil.rmtree(VENV, ignore_errors=True)
            sys.exit("This Python's venv has no pip; on Debian or Ubuntu: apt install python3-venv")
    fingerprint = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + extras.encode()
    ).hexdigest()
    stamp = VENV / f".installed{'-' + extras if extras else ''}"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    say(f"installing eventapp{f' with {extras}' if extras else ''} (first run takes a minute)")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    target = f".[{extras}]" if extras else "."
    subprocess.run([*pip, "install", "-e", target], check=True, cwd=ROOT)
    stamp.write_text(fingerprint)


def ensure_chromium() -> None:
    """Browser tests drive Debian's chromium; install it when we can (root with apt)."""
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        say("installing chromium for the browser tests")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
    else:
        say("chromium not found and cannot be installed here: browser tests will be skipped")


def eventapp(*args: str) -> None:
    subprocess.run([str(BIN / "eventapp"), *args], check=True, cwd=ROOT)


def run() -> None:
    ensure_environment()
    eventapp("migrate")
    eventapp("demo")
    if not os.environ.get("EVENTAPP_SMTP_URL"):
        # A laptop demo has no mail server: show the mails (their links too) in this terminal.
        os.environ.setdefault("EVENTAPP_MAIL_LOG_BODIES", "true")
        say("no EVENTAPP_SMTP_URL: mail is written to this terminal instead of being sent")
    say("serving on http://127.0.0.1:8000 (Ctrl+C stops)")
    os.execv(str(BIN / "eventapp"), [str(BIN / "eventapp"), "run"])


def test(pytest_args: list[str]) -> None:
    ensure_environment("test")
    ensure_chromium()
    if os.environ.get("EVENTAPP_TEST_POSTGRES"):
        say("running every test on SQLite and on PostgreSQL")
    else:
        say("running every test on SQLite (set EVENTAPP_TEST_POSTGRES to add PostgreSQL)")
    say("lint (ruff check, ruff format --check)")
    lint = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT).returncode
    lint |= subprocess.run([str(BIN / "ruff"), "format", "--check", "."], cwd=ROOT).returncode
    result = subprocess.run([str(PYTHON), "-m", "pytest", *pytest_args], cwd=ROOT)
    sys.exit(result.returncode or lint)


def main() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before any environment exists
        sys.exit("eventapp needs Python 3.11 or newer.")
    command, *rest = sys.argv[1:] or ["help"]
    if command == "run":
        run()
    elif command == "test":
        test(rest)
    else:
        print(__doc__)
        sys.exit(0 if command == "help" else 2)


if __name__ == "__main__":
    main()
