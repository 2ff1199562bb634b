"""How long does a writer wait for SQLite's write lock when several processes share one file?

Several worker processes (as `eventapp run --workers N` starts) each run many concurrent writers,
as concurrent requests are: a transaction that reads, inserts one row and commits, over and over
for a few seconds. Each writer records how long it waited to get into its transaction (its own
process's queue plus the other processes' turns). A fair lock keeps the longest wait short; an
unfair one lets one process starve the others.

Usage: python bench/db_contention.py [--processes P] [--writers W] [--seconds S]
The last line is JSON: {"bench": "db_contention", "processes", "writers", "commits", "failed",
"max_wait_ms", "p99_wait_ms", "per_s", "commits_per_process"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from piccolo.columns import Integer, Varchar
from piccolo.engine.sqlite import TransactionType
from piccolo.table import Table

from eventapp.db import FastSQLiteEngine


class ContentionWrite(Table, tablename="contention_writes"):
    worker = Varchar(length=20)
    value = Integer()


async def child(path: str, worker: int, writers: int, start_at: float, seconds: float) -> dict:
    """One process: `writers` concurrent read-then-insert transactions until the time is up."""
    engine = FastSQLiteEngine(path=path)
    ContentionWrite._meta.db = engine
    waits: list[float] = []
    failures: Counter[str] = Counter()
    await asyncio.sleep(max(0.0, start_at - time.time()))
    stop_at = time.time() + seconds

    async def writer(n: int) -> None:
        while time.time() < stop_at:
            asked = time.perf_counter()
            try:
                async with engine.transaction(transaction_type=TransactionType.immediate):
                    waits.append(time.perf_counter() - asked)
                    await ContentionWrite.count().where(ContentionWrite.worker == f"{worker}")
                    await ContentionWrite.insert(ContentionWrite(worker=f"{worker}", value=n))
            except Exception as error:  # noqa: BLE001 - a failed write is counted, not fatal
                waits.append(time.perf_counter() - asked)
                failures[f"{type(error).__name__}: {error}"[:80]] += 1

    try:
        await asyncio.gather(*(writer(n) for n in range(writers)))
    finally:
        await engine.close()
    return {"commits": len(waits) - sum(failures.values()), "failures": failures, "waits": waits}


def run(processes: int, writers: int, seconds: float, folder: str) -> dict:
    import subprocess

    path = str(Path(folder) / "contention.sqlite")

    async def create() -> None:
        engine = FastSQLiteEngine(path=path)
        ContentionWrite._meta.db = engine
        await ContentionWrite.create_table(if_not_exists=True)
        await engine.close()

    asyncio.run(create())
    start_at = time.time() + 1.0  # every process ready before the first writes
    arguments = [path, str(writers), str(start_at), str(seconds)]
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", str(p), *arguments], stdout=subprocess.PIPE
        )
        for p in range(processes)
    ]
    results = [json.loads(c.communicate()[0]) for c in children]
    if any(c.returncode for c in children):
        raise RuntimeError("a writer process failed")
    waits = sorted(w for r in results for w in r["waits"])
    failures: Counter[str] = Counter()
    for r in results:
        failures.update(r["failures"])
    commits = [r["commits"] for r in results]
    return {
        "bench": "db_contention",
        "processes": processes,
        "writers": writers,
        "commits": sum(commits),
        "failed": sum(failures.values()),
        "failures": dict(failures),
        "max_wait_ms": round(waits[-1] * 1000, 1),
        "p99_wait_ms": round(waits[int(len(waits) * 0.99) - 1] * 1000, 1),
        "per_s": round(sum(commits) / seconds, 1),
        "commits_per_process": commits,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--writers", type=int, default=20, help="concurrent writers per process")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        worker, path, writers, start_at, seconds = arguments.child
        work = child(path, int(worker), int(writers), float(start_at), float(seconds))
        print(json.dumps(asyncio.run(work)))
        return
    with tempfile.TemporaryDirectory() as folder:
        figures = run(arguments.processes, arguments.writers, arguments.seconds, folder)
    print(
        f"db_contention: {figures['processes']} processes x {figures['writers']} concurrent "
        f"writers on one SQLite file, {arguments.seconds:g} s\n"
    )
    for label, key in [
        ("commits", "commits"),
        ("commits/s", "per_s"),
        ("failed", "failed"),
        ("longest wait ms", "max_wait_ms"),
        ("p99 wait ms", "p99_wait_ms"),
        ("commits per process", "commits_per_process"),
    ]:
        print(f"{label:<22}{figures[key]}")
    for failure, count in figures["failures"].items():
        print(f"  {count} x {failure}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
