"""The SQLite engine under several processes: fair turns at the write lock, 503 when busy."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from eventapp import db
from eventapp.app import create_app
from eventapp.settings import Settings
from tests.helpers import PASSWORD, make_user

ROOT = Path(__file__).resolve().parent.parent


def test_four_processes_of_twenty_writers_take_fair_turns_at_the_write_lock(tmp_path):
    """4 processes x 20 concurrent writers on one file for 3 s: every writer gets in quickly.

    The issue's bound is 2 s per request; before the fix the longest wait here was 1.7 to 2 s
    (one process starved the others), after it about 0.2 s. The bound is 1 s.
    """
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "db_contention.py"), "--seconds", "3"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    figures = json.loads(completed.stdout.splitlines()[-1])
    assert figures["failed"] == 0, figures["failures"]
    assert figures["max_wait_ms"] < 1000, figures
    per_process = figures["commits_per_process"]
    assert min(per_process) > 0.5 * sum(per_process) / len(per_process), per_process


@pytest.fixture
async def sqlite_client(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    """The app on a SQLite file, refusing writes that wait for the lock longer than 0.3 s."""
    monkeypatch.setattr(db, "SQLITE_WRITE_WAIT_S", 0.3)
    path = tmp_path / "eventapp.sqlite"
    shutil.copyfile(sqlite_template, path)
    settings = Settings(
        database_url=f"sqlite:///{path}",
        var_dir=tmp_path / "var",
        secret_key=secrets.token_urlsafe(32),
        public_url="http://testserver.local",
    )
    app = create_app(settings)
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
        ) as client,
    ):
        yield client, path


async def _sign_in(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(
        "/api/auth/login", json={"email": "ada@example.org", "password": PASSWORD}
    )


def _assert_busy(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.json()["reason"] == "database_busy"


async def test_a_write_waiting_too_long_for_another_processs_turn_is_a_503(sqlite_client):
    client, path = sqlite_client
    await make_user("ada@example.org")
    # Another eventapp process holding its turn: an flock on its own open file description.
    holder = os.open(f"{path}-writer", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        _assert_busy(await _sign_in(client))
    finally:
        os.close(holder)
    assert (await _sign_in(client)).status_code == 200


async def test_a_write_waiting_too_long_for_a_foreign_sqlite_writer_is_a_503(sqlite_client):
    client, path = sqlite_client
    await make_user("ada@example.org")
    # A program that knows nothing of eventapp's turns (the sqlite3 shell, say) holds the lock.
    foreign = sqlite3.connect(path, isolation_level=None)
    foreign.execute("BEGIN IMMEDIATE")
    try:
        _assert_busy(await _sign_in(client))
    finally:
        foreign.execute("ROLLBACK")
        foreign.close()
    assert (await _sign_in(client)).status_code == 200
