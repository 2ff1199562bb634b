"""Badge exports: a PDF of every valid ticket's badge, made by a durable background job.

A job is a row (`badge_exports`). Every app process runs an `export_worker` that claims the
oldest job under a lease (renewed as pages are written), so a job runs once however many
processes serve, and one whose worker died is taken up again by another when the lease runs
out (from its start). Pages are rendered in a process pool on every core, handed back as
compressed indexed images and streamed into the PDF (`badges.PdfWriter`): memory stays flat
for 5,000 badges and more (about 40 KB a page of four). `eventapp export-badges` runs a job
in the terminal with a progress bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from piccolo.engine.sqlite import SQLiteEngine

from eventapp.db import active_engine, fetch_all_off_loop, transaction
from eventapp.errors import Conflict, NotFound
from eventapp.events.tables import Event
from eventapp.tickets.badges import Badge, PdfWriter, page_images
from eventapp.tickets.tables import BadgeExport, Ticket

log = logging.getLogger("eventapp.tickets")
LEASE_S = 60
POLL_S = 2.0
CHUNK = 40  # badges a worker process renders at once (ten pages)
_COLUMNS = (
    BadgeExport.id,
    BadgeExport.status,
    BadgeExport.total,
    BadgeExport.done,
    BadgeExport.error,
    BadgeExport.created_at,
    BadgeExport.finished_at,
)


def now() -> datetime:
    return datetime.now(UTC)


async def start_export(event_id: int) -> dict:
    total = await Ticket.count().where((Ticket.event == event_id) & (Ticket.status == "valid"))
    rows = await BadgeExport.insert(BadgeExport(event=event_id, total=total)).returning(*_COLUMNS)
    return rows[0]


async def export_by_id(event_id: int, export_id: int) -> dict:
    row = (
        await BadgeExport.select(*_COLUMNS, BadgeExport.path)
        .where((BadgeExport.id == export_id) & (BadgeExport.event == event_id))
        .first()
    )
    if row is None:
        raise NotFound("This event has no such export.", reason="not_found")
    return row


async def export_file(event_id: int, export_id: int) -> bytes:
    row = await export_by_id(event_id, export_id)
    if row["status"] != "done":
        raise Conflict("The export is not done yet.", reason="not_ready")
    return await asyncio.to_thread(Path(row["path"]).read_bytes)


async def claim(export_id: int | None = None) -> dict | None:
    """Take a job (this one, or the oldest waiting) under a lease; None if there is none."""
    at = now()
    due = BadgeExport.status.is_in(["queued", "running"]) & (
        BadgeExport.claimed_until.is_null() | (BadgeExport.claimed_until < at)
    )
    if export_id is not None:
        due &= BadgeExport.id == export_id
    if not await BadgeExport.exists().where(due):
        return None  # the usual case, answered by a read: no write lock taken
    async with transaction():
        query = BadgeExport.select(BadgeExport.id, BadgeExport.event).where(due)
        query = query.order_by(BadgeExport.id).limit(1)
        if not isinstance(active_engine(), SQLiteEngine):
            query = query.lock_rows(skip_locked=True)
        job = await query.first()
        if job is None:
            return None
        await BadgeExport.update(
            {
                BadgeExport.status: "running",
                BadgeExport.done: 0,
                BadgeExport.claimed_until: at + timedelta(seconds=LEASE_S),
            }
        ).where(BadgeExport.id == job["id"])
    return job


def _pool() -> ProcessPoolExecutor:
    # spawn: a forked copy of a process running an event loop and database connections is unsafe.
    return ProcessPoolExecutor(
        max_workers=os.cpu_count() or 2, mp_context=multiprocessing.get_context("spawn")
    )


async def run(job: dict, folder: Path, progress: Callable[[int, int], None] | None = None) -> Path:
    """Render the job's PDF into `folder`; the job row follows (progress, done or failed)."""
    event = await Event.select(Event.name).where(Event.id == job["event"]).first()
    tickets = await fetch_all_off_loop(
        "SELECT t.name, t.organisation, tt.kind, t.secret FROM tickets t"
        " JOIN ticket_types tt ON tt.id = t.ticket_type"
        " WHERE t.event = {} AND t.status = 'valid' ORDER BY t.name, t.id",
        job["event"],
    )
    badges = [
        Badge(row["name"], row["organisation"], row["kind"], event["name"], row["secret"])
        for row in tickets
    ]
    total = len(badges)
    await BadgeExport.update({BadgeExport.total: total}).where(BadgeExport.id == job["id"])
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    path = folder / f"badges-{job['event']}-{job['id']}.pdf"
    partial = path.with_suffix(".part")
    loop = asyncio.get_running_loop()
    pool = _pool()
    out = await asyncio.to_thread(open, partial, "wb")
    try:
        writer = PdfWriter(out)
        chunks = [badges[i : i + CHUNK] for i in range(0, total, CHUNK)]
        # Every core busy, results taken in order: a few chunks in flight at a time.
        pending = [loop.run_in_executor(pool, page_images, c) for c in chunks[:4]]
        done = 0
        for index, chunk in enumerate(chunks):
            images = await pending[index]
            if index + 4 < len(chunks):
                pending.append(loop.run_in_executor(pool, page_images, chunks[index + 4]))
            for image in images:
                writer.add_page(image)
            done += len(chunk)
            await BadgeExport.update(
                {
                    BadgeExport.done: done,
                    BadgeExport.claimed_until: now() + timedelta(seconds=LEASE_S),
                }
            ).where(BadgeExport.id == job["id"])
            if progress:
                progress(done, total)
        writer.close()
        out.close()
        await asyncio.to_thread(os.replace, partial, path)
    except Exception as error:
        log.exception("Badge export %s failed", job["id"])
        await BadgeExport.update(
            {
                BadgeExport.status: "failed",
                BadgeExport.error: str(error)[:500],
                BadgeExport.finished_at: now(),
            }
        ).where(BadgeExport.id == job["id"])
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(partial.unlink)
        raise
    finally:
        out.close()
        await asyncio.to_thread(pool.shutdown, cancel_futures=True)
    await BadgeExport.update(
        {
            BadgeExport.status: "done",
            BadgeExport.path: str(path),
            BadgeExport.done: total,
            BadgeExport.finished_at: now(),
            BadgeExport.claimed_until: None,
        }
    ).where(BadgeExport.id == job["id"])
    if progress:
        progress(total, total)
    return path


async def work(folder: Path, poll_s: float = POLL_S) -> None:
    """Run jobs as they come, until cancelled (every app process runs one); the first look is
    a poll after start-up, which leaves the starting process's first requests alone."""
    while True:
        await asyncio.sleep(poll_s)
        try:
            job = await claim()
            if job is not None:
                await run(job, folder)
                continue
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged; the worker goes on with the next job
            log.exception("Badge export worker")


@contextlib.asynccontextmanager
async def export_worker(app) -> AsyncIterator[None]:
    """Lifespan: the export worker of this process."""
    task = asyncio.create_task(
        work(Path(app.state.settings.var_dir) / "exports"), name="badge exports"
    )
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait([task], timeout=5)
