"""The demo event's programme (two stages, two days), and the live player of `demo --live`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from eventapp.db import transaction
from eventapp.errors import DomainError
from eventapp.events.service import days_of
from eventapp.events.tables import Event, Stage
from eventapp.programme import service
from eventapp.programme.schemas import ActionIn, GenerateIn, ItemIn
from eventapp.programme.tables import ProgrammeItem

log = logging.getLogger("eventapp.demo")

# Per stage-day: (opening item, its minutes, closing item, its minutes); pitches between.
BOOKENDS = {
    (0, 0): (
        ("keynote", "Opening keynote: ASEAN's start-up decade"),
        30,
        ("panel", "Investor panel: what Japan's funds look for"),
        45,
    ),
    (0, 1): (
        ("keynote", "Welcome to the Pitch Theatre"),
        10,
        ("panel", "Founders' panel: scaling across borders"),
        40,
    ),
    (1, 0): (
        ("keynote", "Keynote: women founders in Southeast Asia"),
        30,
        ("ceremony", "Awards and closing ceremony"),
        45,
    ),
    (1, 1): (
        ("keynote", "Day two warm-up"),
        10,
        ("panel", "Incubators' panel: the next cohort"),
        40,
    ),
}


async def seed_programme(event_id: int) -> None:
    """Pitches for every participating start-up, spread over both stages and both days, with
    keynotes, panels, breaks every five pitches and a closing ceremony; released once."""
    event = await Event.select(Event.timezone).where(Event.id == event_id).first()
    zone = ZoneInfo(event["timezone"])
    stages = [
        row["id"]
        for row in await Stage.select(Stage.id).where(Stage.event == event_id).order_by(Stage.id)
    ]
    days = [row["day"] for row in await days_of(event_id)]
    startups = [s["organisation_id"] for s in await service.participating_startups(event_id)]
    slots = [(d, s) for d in range(len(days)) for s in range(len(stages))]
    share = -(-len(startups) // len(slots))
    for index, (d, s) in enumerate(slots):
        (open_kind, open_title), open_minutes, (close_kind, close_title), close_minutes = BOOKENDS[
            (d % 2, s % 2)
        ]
        day, stage = days[d], stages[s]
        start = datetime.combine(day, time(9, 0), tzinfo=zone)
        pitches = startups[index * share : (index + 1) * share]
        items = []
        if pitches:
            items = await service.generate(
                event_id,
                GenerateIn(
                    stage_id=stage,
                    day=day,
                    starts_at=(start + timedelta(minutes=open_minutes)).time(),
                    group_by="country",
                    pitch_minutes=5,
                    qa_minutes=3,
                    break_every=5,
                    break_minutes=15,
                    organisation_ids=pitches,
                ),
            )
        await service.add_item(
            event_id,
            ItemIn(
                stage_id=stage,
                day=day,
                kind=open_kind,
                title=open_title,
                planned_start=start,
                minutes=open_minutes,
            ),
        )
        end = max((_end(item) for item in items), default=start + timedelta(minutes=open_minutes))
        await service.add_item(
            event_id,
            ItemIn(
                stage_id=stage,
                day=day,
                kind=close_kind,
                title=close_title,
                planned_start=end,
                minutes=close_minutes,
            ),
        )
    await service.release(event_id, None, "The programme as announced.")


def _end(item: dict) -> datetime:
    return item["planned_end"]


# --------------------------------------------------------------------------------------------------
# `eventapp demo --live`: play the first day forward quickly, in the serving process


async def play(event_id: int, seconds_per_item: float) -> None:
    """Re-plan the first day to start now, then start the next item on every stage every
    `seconds_per_item`, with an extension and a delay now and then; start over at the end."""
    days = [row["day"] for row in await days_of(event_id)]
    if not days:
        return
    day = days[0]
    stages = [
        row["id"]
        for row in await Stage.select(Stage.id).where(Stage.event == event_id).order_by(Stage.id)
    ]
    step = 0
    while True:
        if step == 0:
            await _restart_day(event_id, day)
        moved = False
        for stage in stages:
            action = "start_next"
            if step % 7 == 3:
                action = "extend"
            elif step % 11 == 5:
                action = "delay"
            with contextlib.suppress(DomainError):  # nothing left to start, an empty stage
                await service.act(
                    event_id,
                    None,
                    ActionIn(
                        version=await service.current_version(event_id),
                        stage_id=stage,
                        day=day,
                        action=action,
                        minutes=2 if action == "delay" else 1,
                    ),
                )
                moved = True
        step = step + 1 if moved else 0
        await asyncio.sleep(seconds_per_item)


async def _restart_day(event_id: int, day: date) -> None:
    """Every item of the day back to planned, the day's plan moved to start now."""
    rows = await ProgrammeItem.select(ProgrammeItem.id, ProgrammeItem.planned_start).where(
        (ProgrammeItem.event == event_id) & (ProgrammeItem.day == day)
    )
    if not rows:
        return
    first = min(service._aware(row["planned_start"]) for row in rows)
    shift = datetime.now(UTC).replace(second=0, microsecond=0) - first
    async with transaction():
        version = await service._bump(event_id)
        for row in rows:
            await ProgrammeItem.update(
                {
                    ProgrammeItem.planned_start: service._aware(row["planned_start"]) + shift,
                    ProgrammeItem.status: "planned",
                    ProgrammeItem.actual_start: None,
                    ProgrammeItem.actual_end: None,
                    ProgrammeItem.extra_minutes: 0,
                    ProgrammeItem.delay_minutes: 0,
                }
            ).where(ProgrammeItem.id == row["id"])
    await service._publish(event_id, version, "restarted", None, None)
    log.info("Demo: the first day starts over now")


def start_player(seconds_per_item: float) -> asyncio.Task | None:
    """The app's lifespan starts this when EVENTAPP_DEMO_LIVE_S is set (`eventapp demo --live`)."""
    if seconds_per_item <= 0:
        return None

    async def run() -> None:
        from eventapp.demo import DEMO_SLUG

        row = await Event.select(Event.id).where(Event.slug == DEMO_SLUG).first()
        if row is None:
            log.warning("Demo: no demo event to play; run `eventapp demo` first")
            return
        try:
            await play(row["id"], seconds_per_item)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a demo aid: never take the server down
            log.exception("Demo: the live player stopped")

    return asyncio.create_task(run(), name="demo live player")
