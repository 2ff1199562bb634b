"""The SQLite engine: fair turns at the write lock across processes, 503 when busy, checkpoints
and large reads off the event loop."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from piccolo.columns import Text
from piccolo.engine.sqlite import TransactionType
from piccolo.table import Table

from eventapp import db
from eventapp.app import create_app
from eventapp.errors import IntegrityConflict, Unavailable
from eventapp.events.tables import Event
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


async def test_a_lock_file_that_cannot_be_opened_fails_one_write_not_the_next(
    sqlite_client, monkeypatch
):
    """Out of file descriptors for a moment (EMFILE): that write fails, the process writes on."""
    client, path = sqlite_client
    await make_user("ada@example.org")
    connections = db.active_engine().connections
    connections._turn.close()  # the next write opens the lock file afresh
    real_open, failures = os.open, []

    def open_failing_once(name, *args, **kwargs):
        if str(name).endswith("-writer") and not failures:
            failures.append(name)
            raise OSError(errno.EMFILE, "Too many open files")
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(db.os, "open", open_failing_once)
    with pytest.raises(OSError):
        async with db.transaction():
            pass
    assert failures and not connections._write_lock.locked()
    assert (await _sign_in(client)).status_code == 200


class Blob(Table, tablename="blobs"):
    data = Text()


async def _write_megabytes(engine: db.FastSQLiteEngine, megabytes: int) -> None:
    """Commits of about 100 kB each, as many writes would add."""
    for _ in range(megabytes * 10):
        async with engine.transaction(transaction_type=TransactionType.immediate):
            await Blob.insert(Blob(data=secrets.token_hex(50_000)))


@pytest.fixture
async def blob_engine(tmp_path: Path) -> AsyncIterator[db.FastSQLiteEngine]:
    engine = db.FastSQLiteEngine(path=str(tmp_path / "blobs.sqlite"))
    Blob._meta.db = engine
    await Blob.create_table()
    yield engine
    await engine.close()


async def test_a_commit_never_runs_a_checkpoint_on_the_event_loop(blob_engine, tmp_path):
    """6 MB of commits (SQLite would checkpoint inline at 4 MB): the database file is untouched."""
    blob_engine.connections.checkpoint_every_s = 3600
    database, wal = tmp_path / "blobs.sqlite", tmp_path / "blobs.sqlite-wal"
    size_before = database.stat().st_size
    await _write_megabytes(blob_engine, 6)
    assert database.stat().st_size == size_before
    assert wal.stat().st_size > 6_000_000


async def test_the_wal_is_checkpointed_in_the_background_and_stops_growing(blob_engine, tmp_path):
    blob_engine.connections.checkpoint_every_s = 0.05
    database, wal = tmp_path / "blobs.sqlite", tmp_path / "blobs.sqlite-wal"
    for _ in range(4):
        await _write_megabytes(blob_engine, 2)
        await asyncio.sleep(0.1)  # a pause, as between bursts of requests
    await Blob.insert(Blob(data="last"))  # a write after the interval starts one more
    await asyncio.sleep(0.5)
    assert database.stat().st_size > 8_000_000  # the 8 MB written reached the database file
    assert wal.stat().st_size < 6_000_000  # the WAL was started over, not grown to 8 MB


async def test_a_large_read_runs_off_the_loop_while_requests_go_on(client):
    """A read of millions of rows leaves the loop free: a ticker goes on ticking meanwhile."""
    await Event.insert(Event(slug="seen", name="Committed")).run()
    assert await db.fetch_all_off_loop("SELECT slug FROM events WHERE name = {}", "Committed") == [
        {"slug": "seen"}
    ]
    gaps: list[float] = []

    async def tick() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    rows = await db.fetch_all_off_loop(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {}) "
        "SELECT count(*) AS total FROM c",
        3_000_000,
    )
    took = time.perf_counter() - started
    ticker.cancel()
    assert rows == [{"total": 3_000_000}]
    # Inline, the loop would stall for the whole read; here only briefly (a busy machine's
    # scheduling), never for a good part of it.
    assert took > 0.2 and len(gaps) > 10, (took, len(gaps))
    assert max(gaps) < took / 3, (max(gaps), took)


# --------------------------------------------------------------------------------------------------
# Group commit: short writes arriving together share one transaction and one COMMIT.


@pytest.fixture
async def grouping_engine(tmp_path: Path) -> AsyncIterator[db.FastSQLiteEngine]:
    """An active engine on a file with a table of notes and one of notes' parents."""
    previous = db.active_engine()
    engine = db.FastSQLiteEngine(path=str(tmp_path / "group.sqlite"))
    db.activate(engine)
    async with engine.connections.writer() as connection:
        await connection.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
        await connection.execute(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT UNIQUE,"
            " parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    yield engine
    await engine.close()
    db.activate(previous)


def _note(text: str, parent: int | None = None):
    def write(connection: db.InlineConnection) -> int:
        return connection.run(
            "INSERT INTO notes (text, parent) VALUES (?, ?)", (text, parent)
        ).lastrowid

    return write


async def _notes() -> list[str]:
    rows = (
        await db.active_engine()
        .connections.reader()
        .execute_fetchall("SELECT text FROM notes ORDER BY id")
    )
    return [row["text"] for row in rows]


async def test_writes_arriving_together_commit_once_and_return_after_the_commit(
    grouping_engine, monkeypatch
):
    statements: list[str] = []
    real_run = db.InlineConnection.run

    def recording(self, sql, parameters=()):
        statements.append(sql.split()[0])
        return real_run(self, sql, parameters)

    monkeypatch.setattr(db.InlineConnection, "run", recording)
    ids = await asyncio.gather(*(db.group_commit(_note(f"n{n}")) for n in range(20)))
    assert sorted(ids) == list(range(1, 21))
    assert statements.count("COMMIT") == 1 and statements.count("INSERT") == 20
    # Acknowledged after the commit: another connection sees every write by then.
    assert await _notes() == [f"n{n}" for n in range(20)]


async def test_a_write_that_raises_leaves_no_trace_and_only_its_caller_hears(grouping_engine):
    def half_then_fail(connection: db.InlineConnection) -> None:
        _note("half")(connection)
        raise ValueError("changed its mind")

    outcomes = await asyncio.gather(
        db.group_commit(_note("a")),
        db.group_commit(half_then_fail),
        db.group_commit(_note("a")),  # a duplicate: the unique index refuses it
        db.group_commit(_note("b")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], int) and isinstance(outcomes[3], int)
    assert isinstance(outcomes[1], ValueError)
    assert isinstance(outcomes[2], sqlite3.IntegrityError)
    assert await _notes() == ["a", "b"]


async def test_a_commit_that_fails_fails_every_write_of_its_group(grouping_engine):
    """A deferred foreign key is checked at COMMIT: nobody in the group is told it was written."""
    outcomes = await asyncio.gather(
        db.group_commit(_note("fine")),
        db.group_commit(_note("orphan", parent=7)),
        return_exceptions=True,
    )
    assert all(isinstance(outcome, IntegrityConflict) for outcome in outcomes), outcomes
    assert await _notes() == []
    assert await db.group_commit(_note("after")) == 1  # the writer is free and works on


async def test_a_group_commit_inside_a_transaction_is_refused(grouping_engine):
    async with db.transaction():
        with pytest.raises(RuntimeError):
            await db.group_commit(_note("inside"))


async def test_a_write_sqlite_rolled_back_itself_fails_alone(grouping_engine):
    """An interrupt (like a full disk) ends SQLite's transaction by itself: that write's caller
    gets its error, the others are written."""

    def interrupted(connection: db.InlineConnection) -> None:
        connection._db.set_progress_handler(lambda: 1, 1)
        try:
            connection.run("INSERT INTO notes (text) SELECT value FROM json_each('[1, 2, 3]')")
        finally:
            connection._db.set_progress_handler(None, 1)

    outcomes = await asyncio.gather(
        db.group_commit(_note("a")),
        db.group_commit(interrupted),
        db.group_commit(_note("b")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], sqlite3.OperationalError), outcomes
    assert await _notes() == ["a", "b"]


async def test_a_group_cancelled_before_it_began_answers_503_and_the_next_write_goes_on(
    grouping_engine,
):
    """As a shutdown cancels what is left: the queued caller is told to retry, nothing hangs."""
    caller = asyncio.ensure_future(db.group_commit(_note("queued")))
    await asyncio.sleep(0)  # the write is queued and its group's task made, not yet run
    for task in list(grouping_engine.connections._committing):
        task.cancel()
    with pytest.raises(Unavailable):
        await asyncio.wait_for(caller, 2)
    assert await asyncio.wait_for(db.group_commit(_note("next")), 2) == 1
