"""Events and what they are made of: days, stages, meeting tables."""

from __future__ import annotations

import re

from eventapp.accounts import cache
from eventapp.accounts.schemas import Role
from eventapp.accounts.service import grant_role
from eventapp.accounts.tables import UserEventRole
from eventapp.db import transaction
from eventapp.errors import NotFound
from eventapp.events.schemas import (
    DayIn,
    EventCreate,
    EventPatch,
    MeetingTableIn,
    MeetingTablesBulk,
)
from eventapp.events.tables import Event, EventDay, MeetingTable, Stage
from eventapp.hotpath import HotQuery, Param
from eventapp.pagination import PageRequest

_EVENT_BY_SLUG = HotQuery(lambda: Event.select().where(Event.slug == Param("slug")).limit(1))
_DAYS_OF = HotQuery(
    lambda: (
        EventDay.select(EventDay.day, EventDay.opens_at, EventDay.closes_at)
        .where(EventDay.event == Param("event_id"))
        .order_by(EventDay.day)
    )
)


async def event_by_slug(slug: str) -> dict:
    row = await _EVENT_BY_SLUG.first(slug=slug)
    if row is None:
        raise NotFound(f"There is no event {slug!r}.", reason="event_unknown")
    return row


async def days_of(event_id: int) -> list[dict]:
    """The event's days, kept a second: the public event read asks for them every time."""
    return await cache.event_days(event_id, lambda: _DAYS_OF.rows(event_id=event_id))


async def days_by_event(event_ids: list[int]) -> dict[int, list[dict]]:
    """Days for many events in one query."""
    if not event_ids:
        return {}
    rows = (
        await EventDay.select(EventDay.event, EventDay.day, EventDay.opens_at, EventDay.closes_at)
        .where(EventDay.event.is_in(event_ids))
        .order_by(EventDay.day)
        .run()
    )
    days: dict[int, list[dict]] = {}
    for row in rows:
        days.setdefault(row.pop("event"), []).append(row)
    return days


async def _replace_days(event_id: int, days: list[DayIn]) -> None:
    await EventDay.delete().where(EventDay.event == event_id).run()
    if days:
        await EventDay.insert(*(EventDay(event=event_id, **day.model_dump()) for day in days)).run()


async def create_event(data: EventCreate, *, organiser_id: int) -> dict:
    """Create the event with its days; whoever creates it becomes its first organiser."""
    fields = data.model_dump(exclude={"days"}, exclude_none=True)
    async with transaction():
        rows = await Event.insert(Event(**fields)).returning(*Event.all_columns()).run()
        event = rows[0]
        await _replace_days(event["id"], data.days)
        await grant_role(organiser_id, event["id"], Role.organiser)
    return event


async def update_event(event_id: int, patch: EventPatch) -> None:
    fields = patch.model_dump(exclude={"days"}, exclude_unset=True, exclude_none=True)
    async with transaction():
        if fields:
            await Event.update(fields).where(Event.id == event_id).run()
        if patch.days is not None:
            await _replace_days(event_id, patch.days)
    await cache.forget_event(event_id)


async def visible_events(
    *, user_id: int | None, is_admin: bool, page: PageRequest
) -> tuple[list[dict], int]:
    """Published events, plus those the user has a role in (every event for an admin), newest
    first; `q` searches names and slugs."""
    conditions = []
    if not is_admin:
        visible = Event.published.eq(True)
        if user_id is not None:
            visible |= Event.id.is_in(
                UserEventRole.select(UserEventRole.event).where(UserEventRole.user == user_id)
            )
        conditions.append(visible)
    if page.q:
        conditions.append(page.matches(Event.name, Event.slug))
    rows = await page.apply(
        Event.select()
        .where(*conditions)
        .order_by(Event.created_at, ascending=False)
        .order_by(Event.id, ascending=False)
    )
    return rows, await Event.count().where(*conditions)


# --------------------------------------------------------------------------------------------------
# Stages


_STAGE_COLUMNS = (Stage.id, Stage.name, Stage.capacity)


async def stages_of(event_id: int, page: PageRequest) -> tuple[list[dict], int]:
    condition = Stage.event == event_id
    if page.q:
        condition &= page.matches(Stage.name)
    rows = await page.apply(Stage.select(*_STAGE_COLUMNS).where(condition).order_by(Stage.id))
    return rows, await Stage.count().where(condition)


_ADD_STAGE = HotQuery(
    lambda: Stage.insert(
        Stage(event=Param("event_id"), name=Param("name"), capacity=Param("capacity"))
    ).returning(*_STAGE_COLUMNS)
)


async def add_stage(event_id: int, *, name: str, capacity: int) -> dict:
    rows = await _ADD_STAGE.rows(event_id=event_id, name=name, capacity=capacity)
    return rows[0]


async def update_stage(event_id: int, stage_id: int, fields: dict) -> dict:
    return await _update_in_event(Stage, _STAGE_COLUMNS, event_id, stage_id, fields, "stage")


async def remove_stage(event_id: int, stage_id: int) -> None:
    await _remove_from_event(Stage, event_id, stage_id, "stage")


# --------------------------------------------------------------------------------------------------
# Meeting tables

_TABLE_COLUMNS = (MeetingTable.id, MeetingTable.label, MeetingTable.area, MeetingTable.seats)


async def tables_of(event_id: int, page: PageRequest) -> tuple[list[dict], int]:
    """The event's meeting tables by label; `q` searches labels and areas."""
    condition = MeetingTable.event == event_id
    if page.q:
        condition &= page.matches(MeetingTable.label, MeetingTable.area)
    rows = await page.apply(
        MeetingTable.select(*_TABLE_COLUMNS).where(condition).order_by(MeetingTable.label)
    )
    return rows, await MeetingTable.count().where(condition)


async def add_tables(event_id: int, tables: list[MeetingTableIn]) -> list[dict]:
    async with transaction():
        return (
            await MeetingTable.insert(
                *(MeetingTable(event=event_id, **table.model_dump()) for table in tables)
            )
            .returning(*_TABLE_COLUMNS)
            .run()
        )


def numbered_labels(existing: list[str], prefix: str, count: int) -> list[str]:
    """The next `count` labels after the highest number already used with this prefix."""
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    highest = max((int(m[1]) for label in existing if (m := pattern.match(label))), default=0)
    width = max(2, len(str(highest + count)))
    return [f"{prefix}{n:0{width}d}" for n in range(highest + 1, highest + count + 1)]


async def add_numbered_tables(event_id: int, bulk: MeetingTablesBulk) -> list[dict]:
    async with transaction():
        existing = [
            row["label"]
            for row in await MeetingTable.select(MeetingTable.label)
            .where(MeetingTable.event == event_id)
            .run()
        ]
        labels = numbered_labels(existing, bulk.prefix, bulk.count)
        return await add_tables(
            event_id,
            [MeetingTableIn(label=label, area=bulk.area, seats=bulk.seats) for label in labels],
        )


async def update_table(event_id: int, table_id: int, fields: dict) -> dict:
    return await _update_in_event(
        MeetingTable, _TABLE_COLUMNS, event_id, table_id, fields, "meeting table"
    )


async def remove_table(event_id: int, table_id: int) -> None:
    await _remove_from_event(MeetingTable, event_id, table_id, "meeting table")


# --------------------------------------------------------------------------------------------------
# Rows that belong to one event: an id from another event is as unknown as a made-up one.


async def _update_in_event(
    table, columns, event_id: int, row_id: int, fields: dict, what: str
) -> dict:
    mine = (table.id == row_id) & (table.event == event_id)
    if fields:
        rows = await table.update(fields).where(mine).returning(*columns).run()
    else:
        rows = await table.select(*columns).where(mine).run()
    if not rows:
        raise NotFound(f"No such {what} in this event.")
    return rows[0]


async def _remove_from_event(table, event_id: int, row_id: int, what: str) -> None:
    rows = (
        await table.delete()
        .where((table.id == row_id) & (table.event == event_id))
        .returning(table.id)
        .run()
    )
    if not rows:
        raise NotFound(f"No such {what} in this event.")
