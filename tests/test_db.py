"""The database layer: migrated schema, transactions, integrity errors, concurrency."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from piccolo.engine.sqlite import SQLiteEngine

from eventapp import db
from eventapp.errors import IntegrityConflict
from eventapp.events.schemas import EventCreate
from eventapp.events.service import create_event, numbered_labels
from eventapp.events.tables import Event, Stage
from eventapp.piccolo_app import APP_CONFIG
from tests.helpers import make_user


async def _columns(table: str) -> set[str]:
    if isinstance(db.active_engine(), SQLiteEngine):
        rows = await Event.raw(f"PRAGMA table_info({table})")
        return {row["name"] for row in rows}
    rows = await Event.raw(
        "SELECT column_name FROM information_schema.columns WHERE table_name = {}", table
    )
    return {row["column_name"] for row in rows}


async def _indexes() -> dict[str, str]:
    """Each index's name and its definition, as the database reports it."""
    if isinstance(db.active_engine(), SQLiteEngine):
        rows = await Event.raw("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        return {row["name"]: row["sql"] or "" for row in rows}
    rows = await Event.raw("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    return {row["indexname"]: row["indexdef"] for row in rows}


async def test_a_migrated_database_has_every_table_column_and_unique_index_the_code_declares(
    client,
):
    for table in APP_CONFIG.table_classes:
        declared = {column._meta.db_column_name for column in table._meta.columns}
        assert await _columns(table._meta.tablename) == declared, table._meta.tablename
    indexes = await _indexes()
    for name, declared in db.UNIQUE_INDEXES.items():
        definition = indexes[name].upper()
        assert definition.startswith("CREATE UNIQUE INDEX"), name
        assert ("WHERE" in definition) == (declared.where is not None), name


async def test_a_failed_operation_leaves_nothing_behind(client):
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await Event.insert(Event(slug="half", name="Half written")).run()
            raise RuntimeError("boom")
    assert await Event.count() == 0


async def test_integrity_violations_become_one_domain_error_with_the_index_reason(client):
    await Event.insert(Event(slug="sg", name="SG")).run()
    with pytest.raises(IntegrityConflict) as caught:
        await Event.insert(Event(slug="sg", name="Again")).run()
    assert caught.value.reason == "slug_taken" and caught.value.constraint == "events_slug_uq"
    assert "slug_taken" not in caught.value.detail  # the reason is for programs, not in the words
    with pytest.raises(IntegrityConflict) as caught:
        await Stage.insert(Stage(event=999_999, name="Nowhere")).run()
    assert caught.value.reason == "reference"


async def test_concurrent_creations_of_one_slug_let_exactly_one_through(client):
    organiser = await make_user("olga@example.org")
    data = EventCreate(slug="race", name="Race")
    results = await asyncio.gather(
        *(create_event(data, organiser_id=organiser) for _ in range(20)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, dict)]
    losers = [r for r in results if isinstance(r, IntegrityConflict)]
    assert len(winners) == 1 and len(losers) == 19, results
    assert {loser.reason for loser in losers} == {"slug_taken"}
    assert await Event.count() == 1


async def test_concurrent_read_then_write_transactions_lose_no_update(client):
    """A transaction that reads a value, then writes it back changed, is never interleaved.

    SQLite: BEGIN IMMEDIATE serialises them (no 'database is locked'). PostgreSQL: `lock_row`.
    """
    await Event.insert(Event(slug="counter", name="Counter")).run()
    await Stage.insert(Stage(event=1, name="Main", capacity=0)).run()
    stage_id = (await Stage.select(Stage.id).first())["id"]

    async def bump() -> None:
        async with db.transaction():
            await db.lock_row(Stage, stage_id)
            row = await Stage.select(Stage.capacity).where(Stage.id == stage_id).first()
            await asyncio.sleep(0)  # let every other transaction try to get in between
            await Stage.update({Stage.capacity: row["capacity"] + 1}).where(Stage.id == stage_id)

    await asyncio.gather(*(bump() for _ in range(50)))
    assert (await Stage.select(Stage.capacity).first())["capacity"] == 50


@given(
    existing=st.lists(st.integers(min_value=1, max_value=500), max_size=30),
    count=st.integers(min_value=1, max_value=60),
    prefix=st.sampled_from(["T", "Table ", "B-"]),
)
def test_numbered_labels_are_new_distinct_and_follow_the_highest_number(existing, count, prefix):
    labels_in_use = [f"{prefix}{n:02d}" for n in existing] + ["VIP"]
    labels = numbered_labels(labels_in_use, prefix, count)
    assert len(labels) == len(set(labels)) == count
    assert not set(labels) & set(labels_in_use)
    numbers = [int(label.removeprefix(prefix)) for label in labels]
    assert numbers == list(
        range(max(existing, default=0) + 1, max(existing, default=0) + count + 1)
    )


@given(
    table=st.sampled_from(sorted({index.table for index in db.UNIQUE_INDEXES.values()})),
    data=st.data(),
)
def test_sqlite_unique_messages_map_back_to_the_declared_index(table, data):
    index = data.draw(st.sampled_from([i for i in db.UNIQUE_INDEXES.values() if i.table == table]))
    columns = data.draw(st.permutations(index.columns))
    if any("(" in column for column in columns):
        message = f"UNIQUE constraint failed: index '{index.name}'"
    else:
        message = "UNIQUE constraint failed: " + ", ".join(f"{table}.{c}" for c in columns)
    import sqlite3

    conflict = db.integrity_conflict(sqlite3.IntegrityError(message))
    assert conflict.constraint == index.name and conflict.reason == index.reason


WRITER_SCRIPT = """
import asyncio, sys
from eventapp import db
from eventapp.events.tables import Stage

async def main(url, worker, count):
    engine = db.engine_from_url(url)
    db.activate(engine)
    try:
        for n in range(count):
            async with db.transaction():
                await Stage.count().where(Stage.event == 1)
                await Stage.insert(Stage(event=1, name=f"w{worker}-{n}"))
    finally:
        await engine.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def test_several_processes_write_to_one_sqlite_file_without_losing_a_write(
    sqlite_template, tmp_path
):
    """Several workers on one SQLite file wait for each other's write lock and all commit."""
    import shutil
    import sys

    shutil.copyfile(sqlite_template, tmp_path / "shared.sqlite")
    database_url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    engine = db.engine_from_url(database_url)
    db.activate(engine)
    await Event.insert(Event(slug="multi", name="Multi")).run()
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER_SCRIPT, database_url, str(w), "150"
        )
        for w in range(3)
    ]
    codes = [await writer.wait() for writer in writers]
    assert codes == [0, 0, 0]
    assert await Stage.count() == 450
    await engine.close()


@pytest.mark.parametrize("failing", ["ROLLBACK", "COMMIT"])
async def test_a_failed_rollback_or_commit_leaves_no_dead_transaction_in_the_task(
    client, engine_kind, database_url, failing
):
    """The server goes away mid-transaction; the task's next transaction starts afresh.

    PostgreSQL only: piccolo's own transaction skipped its clean-up when ROLLBACK or COMMIT
    raised (SQLite's transaction is eventapp's own and cleans up in a `finally`).
    """
    if engine_kind != "postgres":
        pytest.skip("piccolo's transaction clean-up is what is tested, on PostgreSQL")
    import asyncpg

    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the dead connection raises
        async with db.transaction():
            await Event.insert(Event(slug="lost", name="Lost")).run()
            backend = (await Event.raw("SELECT pg_backend_pid() AS pid"))[0]["pid"]
            killer = await asyncpg.connect(database_url)
            await killer.execute("SELECT pg_terminate_backend($1)", backend)
            await killer.close()
            if failing == "ROLLBACK":
                raise RuntimeError("the request failed; its transaction rolls back")
    async with db.transaction():
        await Event.insert(Event(slug="next", name="Next")).run()
    assert [row["slug"] for row in await Event.select(Event.slug)] == ["next"]
    assert db.active_engine().current_transaction.get() is None
