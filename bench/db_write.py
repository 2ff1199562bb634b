"""How fast can an endpoint commit single-row writes? Three engines, one run, one machine.

Each write is what an endpoint does: a transaction that reads, then inserts one row, then commits,
with many writers at once (as concurrent requests are). Compared:

- stock:    piccolo's SQLiteEngine (a new connection per transaction, rollback journal), using the
            IMMEDIATE transactions piccolo recommends for writes;
- sqlite:   eventapp's engine (long-lived WAL connections, one writer behind an asyncio lock);
- postgres: eventapp's PostgreSQL engine with its pool (skipped if no server answers).

Usage: python bench/db_write.py [--writes N] [--concurrency C]
The last line is JSON: {"bench": "db_write", "stock_sqlite_per_s", "sqlite_per_s", "postgres_per_s",
"sqlite_vs_stock"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
import time
from pathlib import Path

import asyncpg
from piccolo.columns import Integer, Varchar
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from eventapp.db import EventappPostgresEngine, FastSQLiteEngine

POSTGRES_URL = os.environ.get(
    "EVENTAPP_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


class BenchWrite(Table, tablename="bench_writes"):
    key = Varchar(length=40)
    value = Integer()


def transaction_for(engine: Engine):
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def measure(engine: Engine, writes: int, concurrency: int) -> dict:
    BenchWrite._meta.db = engine
    await BenchWrite.create_table(if_not_exists=True)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(writes):
        queue.put_nowait(n)
    failures = 0
    latencies: list[float] = []

    async def writer() -> None:
        nonlocal failures
        while not queue.empty():
            n = queue.get_nowait()
            started = time.perf_counter()
            try:
                async with transaction_for(engine):
                    await BenchWrite.count().where(BenchWrite.key == f"k{n}")
                    await BenchWrite.insert(BenchWrite(key=f"k{n}", value=n))
            except Exception:  # noqa: BLE001 - a failed write is counted, not fatal
                failures += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    committed = await BenchWrite.count()
    return {
        "per_s": round(committed / elapsed, 1),
        "committed": committed,
        "failed": failures,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "seconds": round(elapsed, 2),
    }


async def bench_postgres(writes: int, concurrency: int) -> dict | None:
    name = f"eventapp_bench_{secrets.token_hex(4)}"
    try:
        admin = await asyncpg.connect(POSTGRES_URL, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return None
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
        engine = EventappPostgresEngine(config={"dsn": url})
        await engine.start(pool_size=concurrency)
        try:
            return await measure(engine, writes, concurrency)
        finally:
            await engine.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main(writes: int, stock_writes: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        stock = await measure(
            SQLiteEngine(path=str(Path(folder) / "stock.sqlite")), stock_writes, concurrency
        )
        ours_engine = FastSQLiteEngine(path=str(Path(folder) / "ours.sqlite"))
        try:
            ours = await measure(ours_engine, writes, concurrency)
        finally:
            await ours_engine.close()
    postgres = await bench_postgres(writes, concurrency)

    rows = [
        ("stock piccolo SQLiteEngine", stock),
        ("eventapp SQLite (WAL)", ours),
        ("eventapp PostgreSQL", postgres),
    ]
    print(f"db_write: read-then-insert transactions, {concurrency} concurrent writers\n")
    header = ["writes/s", "committed", "failed", "p50 ms", "p99 ms", "seconds"]
    print(f"{'engine':<28}" + "".join(f"{h:>11}" for h in header))
    for label, figures in rows:
        if figures is None:
            print(f"{label:<28}{'(no server)':>11}")
            continue
        values = ["per_s", "committed", "failed", "p50_ms", "p99_ms", "seconds"]
        print(f"{label:<28}" + "".join(f"{figures[v]:>11}" for v in values))
    ratio = round(ours["per_s"] / stock["per_s"], 1) if stock["per_s"] else None
    print(f"\neventapp SQLite vs stock: {ratio}x (goal: at least 8x)")
    print(
        json.dumps(
            {
                "bench": "db_write",
                "stock_sqlite_per_s": stock["per_s"],
                "sqlite_per_s": ours["per_s"],
                "postgres_per_s": postgres["per_s"] if postgres else None,
                "sqlite_vs_stock": ratio,
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=5000, help="writes for the fast engines")
    parser.add_argument(
        "--stock-writes", type=int, default=1000, help="writes for the stock engine"
    )
    parser.add_argument("--concurrency", type=int, default=32)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.writes, arguments.stock_writes, arguments.concurrency))
