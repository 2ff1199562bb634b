"""The programme: items per stage and day, versions, releases, and live stage control.

Every change (an edit, a generated day, a stage action, an undo) is one transaction that raises
the event's programme version by one (`_bump`); a stage action names the version it was made
against and is refused with 409 `stale_version` when another change came first. After the
commit the change is published on the event's programme topic (`eventapp.live.hub`), so every
screen and phone following the event hears of it. The schedule arithmetic is pure
(`schedule.py`); here it is loaded, applied and stored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from eventapp.applications.service import startups_taking_part
from eventapp.db import transaction
from eventapp.errors import Conflict, InvalidInput, NotFound
from eventapp.events.service import days_of
from eventapp.events.tables import Event, Stage
from eventapp.live.hub import event_topic, hub
from eventapp.pagination import PageRequest
from eventapp.programme import schedule
from eventapp.programme.schedule import Item, ScheduleError
from eventapp.programme.schemas import ActionIn, GenerateIn, ItemIn, ItemPatch
from eventapp.programme.tables import (
    ProgrammeAction,
    ProgrammeItem,
    ProgrammeRelease,
    ProgrammeState,
)

# The live fields a stage action may change, and what undo puts back.
_LIVE_FIELDS = (
    "position",
    "planned_start",
    "status",
    "actual_start",
    "actual_end",
    "extra_minutes",
    "delay_minutes",
)
_TIMES = frozenset({"planned_start", "actual_start", "actual_end"})


def now_utc() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------------
# The start-ups taking part: the applications capability decides


async def participating_startups(event_id: int) -> list[dict]:
    """The start-ups that pitch (see `applications.service.startups_taking_part`)."""
    return await startups_taking_part(event_id)


# --------------------------------------------------------------------------------------------------
# Versions


async def current_version(event_id: int) -> int:
    row = (
        await ProgrammeState.select(ProgrammeState.version)
        .where(ProgrammeState.event == event_id)
        .first()
    )
    return row["version"] if row else 0


async def _bump(event_id: int, expected: int | None = None) -> int:
    """Inside a transaction: raise the version by one (if it is still `expected`) and hold the
    event's programme until the commit (a row lock on PostgreSQL; SQLite's write lock)."""
    await ProgrammeState.raw(
        "INSERT INTO programme_state (event, version) VALUES ({}, 0) ON CONFLICT DO NOTHING",
        event_id,
    )
    condition = "WHERE event = {}" + (" AND version = {}" if expected is not None else "")
    args = [event_id] + ([expected] if expected is not None else [])
    rows = await ProgrammeState.raw(
        "UPDATE programme_state SET version = version + 1, updated_at = CURRENT_TIMESTAMP "
        f"{condition} RETURNING version",
        *args,
    )
    if not rows:
        raise Conflict(
            "The programme changed since you loaded it; reload and try again.",
            reason="stale_version",
            version=await current_version(event_id),
        )
    return rows[0]["version"]


# --------------------------------------------------------------------------------------------------
# Reading: the programme as screens see it


def _as_item(row: dict) -> Item:
    return Item(
        id=row["id"],
        kind=row["kind"],
        planned_start=_aware(row["planned_start"]),
        planned_minutes=row["planned_minutes"],
        status=row["status"],
        actual_start=_aware(row["actual_start"]),
        actual_end=_aware(row["actual_end"]),
        extra_minutes=row["extra_minutes"],
        delay_minutes=row["delay_minutes"],
        absorbs_delay=row["absorbs_delay"],
        min_minutes=row["min_minutes"],
    )


def _aware(value: Any) -> Any:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


async def _items(event_id: int, stage_id: int | None = None, day: date | None = None) -> list:
    conditions = [ProgrammeItem.event == event_id]
    if stage_id is not None:
        conditions.append(ProgrammeItem.stage == stage_id)
    if day is not None:
        conditions.append(ProgrammeItem.day == day)
    return (
        await ProgrammeItem.select()
        .where(*conditions)
        .order_by(ProgrammeItem.day)
        .order_by(ProgrammeItem.stage)
        .order_by(ProgrammeItem.position)
        .order_by(ProgrammeItem.id)
        .run()
    )


def _project_rows(rows: list[dict], now: datetime) -> list[dict]:
    """Rows of any number of stage-days with their projected times."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["stage"], row["day"]), []).append(row)
    out = []
    for group in groups.values():
        projected = schedule.project([_as_item(row) for row in group], now)
        for row, where in zip(group, projected, strict=True):
            out.append({**row, "projected_start": where.start, "projected_end": where.end})
    return out


def _item_out(row: dict, startups: dict[int, dict]) -> dict:
    startup = startups.get(row["organisation"]) if row["organisation"] else None
    planned_start = _aware(row["planned_start"])
    return {
        "id": row["id"],
        "stage_id": row["stage"],
        "day": row["day"],
        "position": row["position"],
        "kind": row["kind"],
        "title": row["title"],
        "description": row["description"],
        "startup": (
            {
                key: startup[key]
                for key in ("organisation_id", "name", "country", "one_liner", "logo_url")
            }
            if startup
            else None
        ),
        "planned_start": planned_start,
        "planned_end": planned_start + timedelta(minutes=row["planned_minutes"]),
        "planned_minutes": row["planned_minutes"],
        "pitch_minutes": row["pitch_minutes"],
        "qa_minutes": row["qa_minutes"],
        "absorbs_delay": row["absorbs_delay"],
        "min_minutes": row["min_minutes"],
        "status": row["status"],
        "actual_start": _aware(row["actual_start"]),
        "actual_end": _aware(row["actual_end"]),
        "extra_minutes": row["extra_minutes"],
        "delay_minutes": row["delay_minutes"],
        "projected_start": row["projected_start"],
        "projected_end": row["projected_end"],
    }


async def stage_day_items(event_id: int, stage_id: int, day: date) -> list[dict]:
    rows = _project_rows(await _items(event_id, stage_id, day), now_utc())
    startups = {s["organisation_id"]: s for s in await participating_startups(event_id)}
    return [_item_out(row, startups) for row in rows]


async def programme(event_id: int) -> dict:
    """The whole programme at its current version (the snapshot screens start from)."""
    # The version is read before the items, so the items are at least that new: a client that
    # then applies the next change replaces its stage-day with the same or newer items.
    version = await current_version(event_id)
    rows = await _items(event_id)
    released = await ProgrammeRelease.count().where(ProgrammeRelease.event == event_id)
    event = await Event.select(Event.timezone).where(Event.id == event_id).first()
    stages = (
        await Stage.select(Stage.id, Stage.name)
        .where(Stage.event == event_id)
        .order_by(Stage.id)
        .run()
    )
    startups = {s["organisation_id"]: s for s in await participating_startups(event_id)}
    items = [_item_out(row, startups) for row in _project_rows(rows, now_utc())]
    return {
        "version": version,
        "released": released,
        "timezone": event["timezone"] if event else "UTC",
        "stages": stages,
        "days": [day["day"] for day in await days_of(event_id)],
        "items": items,
        "current": [
            {"stage_id": item["stage_id"], "day": item["day"], "item_id": item["id"]}
            for item in items
            if item["status"] == "running"
        ],
        "server_time": now_utc(),
    }


async def _programme_snapshot(event_id: int) -> dict:
    state = await programme(event_id)
    state.pop("server_time")  # stamped by the hub when sent
    return state


hub.provide("event", "programme", _programme_snapshot)


async def _publish(
    event_id: int, version: int, kind: str, stage_id: int | None, day: date | None, **extra
) -> None:
    """After the commit: tell every follower what changed, with the stage-day's items now."""
    message: dict[str, Any] = {"version": version, "kind": kind, **extra}
    if stage_id is not None and day is not None:
        items = await stage_day_items(event_id, stage_id, day)
        message.update(
            stage_id=stage_id,
            day=day.isoformat(),
            items=items,
            current=[item["id"] for item in items if item["status"] == "running"],
        )
    message["server_time"] = now_utc()
    await hub.publish(event_topic(event_id, "programme"), message)


# --------------------------------------------------------------------------------------------------
# Editing (the work-in-progress programme)


async def _stage_in_event(event_id: int, stage_id: int) -> None:
    found = await Stage.exists().where((Stage.id == stage_id) & (Stage.event == event_id))
    if not found:
        raise NotFound("No such stage in this event.", reason="stage_unknown")


async def _item_in_event(event_id: int, item_id: int) -> dict:
    row = (
        await ProgrammeItem.select()
        .where((ProgrammeItem.id == item_id) & (ProgrammeItem.event == event_id))
        .first()
    )
    if row is None:
        raise NotFound("No such programme item in this event.", reason="item_unknown")
    return row


async def _startup_in_event(event_id: int, organisation_id: int) -> None:
    if organisation_id not in {
        s["organisation_id"] for s in await participating_startups(event_id)
    }:
        raise InvalidInput(
            "That organisation is not a start-up taking part in this event.",
            reason="startup_unknown",
        )


async def _renumber(event_id: int, stage_id: int, day: date) -> None:
    """Positions 0..n-1 in the current order (planned start for items added out of order)."""
    rows = await _items(event_id, stage_id, day)
    for position, row in enumerate(rows):
        if row["position"] != position:
            await ProgrammeItem.update({ProgrammeItem.position: position}).where(
                ProgrammeItem.id == row["id"]
            )


def _length(kind: str, minutes: int, pitch: int, qa: int) -> int:
    return pitch + qa if kind == "pitch" else minutes


async def add_item(event_id: int, data: ItemIn) -> dict:
    await _stage_in_event(event_id, data.stage_id)
    if data.organisation_id is not None:
        await _startup_in_event(event_id, data.organisation_id)
    async with transaction():
        version = await _bump(event_id)
        rows = await _items(event_id, data.stage_id, data.day)
        position = sum(1 for row in rows if _aware(row["planned_start"]) <= data.planned_start)
        for row in rows[position:]:
            await ProgrammeItem.update({ProgrammeItem.position: row["position"] + 1}).where(
                ProgrammeItem.id == row["id"]
            )
        created = (
            await ProgrammeItem.insert(
                ProgrammeItem(
                    event=event_id,
                    stage=data.stage_id,
                    day=data.day,
                    position=position,
                    kind=data.kind,
                    title=data.title,
                    description=data.description,
                    organisation=data.organisation_id,
                    planned_start=data.planned_start,
                    planned_minutes=_length(
                        data.kind, data.minutes, data.pitch_minutes, data.qa_minutes
                    ),
                    pitch_minutes=data.pitch_minutes if data.kind == "pitch" else 0,
                    qa_minutes=data.qa_minutes if data.kind == "pitch" else 0,
                    absorbs_delay=data.absorbs_delay,
                    min_minutes=data.min_minutes,
                )
            )
            .returning(ProgrammeItem.id)
            .run()
        )
        await _renumber(event_id, data.stage_id, data.day)
    await _publish(event_id, version, "item_added", data.stage_id, data.day)
    return await _one_out(event_id, created[0]["id"])


async def _one_out(event_id: int, item_id: int) -> dict:
    row = await _item_in_event(event_id, item_id)
    for item in await stage_day_items(event_id, row["stage"], row["day"]):
        if item["id"] == item_id:
            return item
    raise NotFound("No such programme item in this event.", reason="item_unknown")


async def update_item(event_id: int, item_id: int, patch: ItemPatch) -> dict:
    fields = patch.model_dump(exclude_unset=True, exclude_none=True)
    async with transaction():
        row = await _item_in_event(event_id, item_id)
        version = await _bump(event_id)
        kind = row["kind"]
        pitch = fields.pop("pitch_minutes", row["pitch_minutes"])
        qa = fields.pop("qa_minutes", row["qa_minutes"])
        minutes = fields.pop("minutes", row["planned_minutes"])
        total = _length(kind, minutes, pitch, qa)
        if total < 1:
            raise InvalidInput("An item lasts at least a minute.", reason="too_short")
        fields["planned_minutes"] = total
        if kind == "pitch":
            fields.update(pitch_minutes=pitch, qa_minutes=qa)
        await ProgrammeItem.update(fields).where(ProgrammeItem.id == item_id)
    await _publish(event_id, version, "item_changed", row["stage"], row["day"])
    return await _one_out(event_id, item_id)


async def remove_item(event_id: int, item_id: int) -> None:
    async with transaction():
        row = await _item_in_event(event_id, item_id)
        if row["status"] in ("running", "done"):
            raise Conflict(
                "An item that has started stays in the programme.", reason="item_started"
            )
        version = await _bump(event_id)
        await ProgrammeItem.delete().where(ProgrammeItem.id == item_id)
        await _renumber(event_id, row["stage"], row["day"])
    await _publish(event_id, version, "item_removed", row["stage"], row["day"])


def _group_key(startup: dict, group_by: str) -> str:
    if group_by == "sector":
        return (startup["sectors"] or [""])[0]
    if group_by == "country":
        return startup["country"]
    return ""


async def generate(event_id: int, data: GenerateIn) -> list[dict]:
    """Pitches for the participating start-ups, grouped by sector or country, a break every N."""
    await _stage_in_event(event_id, data.stage_id)
    startups = await participating_startups(event_id)
    if data.organisation_ids is not None:
        wanted = set(data.organisation_ids)
        unknown = wanted - {s["organisation_id"] for s in startups}
        if unknown:
            raise InvalidInput(
                "Some organisations are not start-ups taking part in this event.",
                reason="startup_unknown",
            )
        startups = [s for s in startups if s["organisation_id"] in wanted]
    if not startups:
        raise Conflict("No start-ups take part in this event yet.", reason="no_startups")
    startups.sort(key=lambda s: (_group_key(s, data.group_by), s["name"]))
    event = await Event.select(Event.timezone).where(Event.id == event_id).first()
    local = datetime.combine(data.day, data.starts_at, tzinfo=ZoneInfo(event["timezone"]))
    plan: list[dict] = []
    for index, startup in enumerate(startups):
        if data.break_every and index and index % data.break_every == 0:
            plan.append({"kind": "break", "title": "Break", "minutes": data.break_minutes})
        plan.append(
            {
                "kind": "pitch",
                "title": startup["name"],
                "organisation": startup["organisation_id"],
                "minutes": data.pitch_minutes + data.qa_minutes,
            }
        )
    laid = schedule.lay_out([p["minutes"] for p in plan], local.astimezone(UTC), data.gap_minutes)
    async with transaction():
        existing = await _items(event_id, data.stage_id, data.day)
        if existing and not data.replace:
            raise Conflict(
                "This stage already has items that day; send replace to start over.",
                reason="programme_not_empty",
            )
        if any(row["status"] != "planned" for row in existing):
            raise Conflict("The stage's day has started.", reason="item_started")
        version = await _bump(event_id)
        if existing:
            await ProgrammeItem.delete().where(
                ProgrammeItem.id.is_in([row["id"] for row in existing])
            )
        await ProgrammeItem.insert(
            *(
                ProgrammeItem(
                    event=event_id,
                    stage=data.stage_id,
                    day=data.day,
                    position=position,
                    kind=entry["kind"],
                    title=entry["title"],
                    organisation=entry.get("organisation"),
                    planned_start=start,
                    planned_minutes=minutes,
                    pitch_minutes=data.pitch_minutes if entry["kind"] == "pitch" else 0,
                    qa_minutes=data.qa_minutes if entry["kind"] == "pitch" else 0,
                    absorbs_delay=entry["kind"] == "break",
                    min_minutes=max(5, minutes // 2) if entry["kind"] == "break" else 0,
                )
                for position, (entry, (start, minutes)) in enumerate(zip(plan, laid, strict=True))
            )
        ).run()
    await _publish(event_id, version, "generated", data.stage_id, data.day)
    return await stage_day_items(event_id, data.stage_id, data.day)


# --------------------------------------------------------------------------------------------------
# Releases


def _release_items(rows: list[dict]) -> list[dict]:
    return [
        {
            "id": row["id"],
            "title": row["title"],
            "stage": row["stage"],
            "day": row["day"].isoformat(),
            "planned_start": _aware(row["planned_start"]).isoformat(),
            "status": row["status"],
        }
        for row in rows
    ]


def changelog(previous: list[dict], current: list[dict]) -> dict:
    """What changed between two released item lists: new, moved and cancelled items."""
    gone = {"cancelled", "no_show"}
    before = {item["id"]: item for item in previous if item["status"] not in gone}
    now = {item["id"]: item for item in current}
    new, moved, cancelled = [], [], []
    for item_id, item in now.items():
        old = before.get(item_id)
        if item["status"] in gone:
            if old is not None:
                cancelled.append({"item_id": item_id, "title": item["title"]})
        elif old is None:
            new.append(
                {"item_id": item_id, "title": item["title"], "planned_start": item["planned_start"]}
            )
        elif (old["planned_start"], old["stage"], old["day"]) != (
            item["planned_start"],
            item["stage"],
            item["day"],
        ):
            moved.append(
                {
                    "item_id": item_id,
                    "title": item["title"],
                    "planned_start": item["planned_start"],
                    "was": old["planned_start"],
                }
            )
    for item_id, old in before.items():
        if item_id not in now:
            cancelled.append({"item_id": item_id, "title": old["title"]})
    return {"new": new, "moved": moved, "cancelled": cancelled}


async def release(event_id: int, actor_id: int | None, note: str) -> dict:
    """Freeze the programme as a numbered release with its changelog against the last one."""
    async with transaction():
        version = await _bump(event_id)
        last = (
            await ProgrammeRelease.select(ProgrammeRelease.number, ProgrammeRelease.items)
            .where(ProgrammeRelease.event == event_id)
            .order_by(ProgrammeRelease.number, ascending=False)
            .first()
            .output(load_json=True)
        )
        items = _release_items(await _items(event_id))
        number = (last["number"] if last else 0) + 1
        log = changelog(last["items"] if last else [], items)
        rows = (
            await ProgrammeRelease.insert(
                ProgrammeRelease(
                    event=event_id,
                    number=number,
                    programme_version=version,
                    note=note,
                    items=items,
                    changelog=log,
                    released_by=actor_id,
                )
            )
            .returning(ProgrammeRelease.released_at)
            .run()
        )
    await _publish(event_id, version, "released", None, None, released=number)
    return {
        "number": number,
        "programme_version": version,
        "note": note,
        "released_at": rows[0]["released_at"],
        "changelog": log,
    }


async def releases(event_id: int, page: PageRequest) -> tuple[list[dict], int]:
    condition = ProgrammeRelease.event == event_id
    rows = await page.apply(
        ProgrammeRelease.select(
            ProgrammeRelease.number,
            ProgrammeRelease.programme_version,
            ProgrammeRelease.note,
            ProgrammeRelease.released_at,
            ProgrammeRelease.changelog,
        )
        .where(condition)
        .order_by(ProgrammeRelease.number, ascending=False)
        .output(load_json=True)
    )
    return rows, await ProgrammeRelease.count().where(condition)


# --------------------------------------------------------------------------------------------------
# Live stage control


def _stored(item: Item) -> dict:
    return {name: getattr(item, name) for name in _LIVE_FIELDS if name != "position"}


def _before_image(rows: list[dict]) -> list[dict]:
    """The live fields of a stage-day as JSON, for undo."""
    images = []
    for row in rows:
        image = {"id": row["id"]}
        for name in _LIVE_FIELDS:
            value = _aware(row[name]) if name in _TIMES else row[name]
            image[name] = value.isoformat() if isinstance(value, datetime) else value
        images.append(image)
    return images


def _from_image(image: dict) -> dict:
    """The live fields a before-image records, as they are stored."""
    return {name: _aware(image[name]) if name in _TIMES else image[name] for name in _LIVE_FIELDS}


def _takes_a_place_of_one(old: dict, new: dict) -> bool:
    """Whether a change takes a place only one item may hold at a time (the partial unique
    indexes of tables.py): the stage-day's running slot, or a start-up's one live pitch."""
    before, after = old["status"], new.get("status", old["status"])
    return (after == "running" != before) or (before == "cancelled" != after)


async def _write_live_fields(changes: list[tuple[dict, dict]]) -> None:
    """Store new live fields for items of one stage-day (each: its row as read, the new values),
    only the fields that differ. The database checks its unique indexes row by row, so the items
    that give up a place (the item leaving the stage) are written before those that take one
    (the item coming back on): the indexes never see two running items, in whatever order the
    changes come (an action ends one item and starts a later one; an undo does the reverse)."""
    writes = []
    for old, new in changes:
        differing = {
            name: value
            for name, value in new.items()
            if (_aware(old[name]) if name in _TIMES else old[name]) != value
        }
        if differing:
            writes.append((old, differing))
    writes.sort(key=lambda write: _takes_a_place_of_one(*write))  # stable: leaving ones first
    for old, values in writes:
        await ProgrammeItem.update(values).where(ProgrammeItem.id == old["id"])


def _apply(items: list[Item], data: ActionIn, now: datetime, template: Item) -> list[Item]:
    def needs(value: int | None, what: str) -> int:
        if value is None:
            raise InvalidInput(f"This action needs {what}.", reason="missing_argument")
        return value

    match data.action:
        case "start_next":
            return schedule.start_next(items, now)
        case "end":
            return schedule.end_current(items, now)
        case "extend":
            return schedule.extend(items, data.minutes or 1)
        case "delay":
            return schedule.delay(items, needs(data.minutes, "minutes"))
        case "move":
            return schedule.move(
                items, needs(data.item_id, "item_id"), needs(data.position, "position")
            )
        case "swap":
            return schedule.swap(
                items, needs(data.item_id, "item_id"), needs(data.other_item_id, "other_item_id")
            )
        case "no_show":
            return schedule.no_show(items, needs(data.item_id, "item_id"))
        case "cancel":
            return schedule.cancel(items, needs(data.item_id, "item_id"))
        case "insert_break":
            return schedule.insert_break(items, data.minutes or 10, template, after_id=data.item_id)
    raise InvalidInput("Unknown action.", reason="invalid")  # pragma: no cover - Literal


async def act(
    event_id: int, actor_id: int | None, data: ActionIn, now: datetime | None = None
) -> int:
    """One stage action as one transaction; the new version. Published after the commit."""
    now = now or now_utc()
    await _stage_in_event(event_id, data.stage_id)
    async with transaction():
        version = await _bump(event_id, data.version)
        rows = await _items(event_id, data.stage_id, data.day)
        if not rows:
            raise NotFound("This stage has no programme that day.", reason="no_programme")
        template = Item(id=None, kind="break", planned_start=now, planned_minutes=0)
        try:
            after = _apply([_as_item(row) for row in rows], data, now, template)
        except ScheduleError as refusal:
            raise Conflict(refusal.detail, reason=refusal.reason) from refusal
        by_id = {row["id"]: row for row in rows}
        created, changes = [], []
        for position, item in enumerate(after):
            if item.id is None:
                inserted = (
                    await ProgrammeItem.insert(
                        ProgrammeItem(
                            event=event_id,
                            stage=data.stage_id,
                            day=data.day,
                            position=position,
                            kind="break",
                            title="Break",
                            planned_start=item.planned_start,
                            planned_minutes=item.planned_minutes,
                        )
                    )
                    .returning(ProgrammeItem.id)
                    .run()
                )
                created.append(inserted[0]["id"])
                continue
            changes.append((by_id[item.id], {**_stored(item), "position": position}))
        await _write_live_fields(changes)
        await ProgrammeAction.insert(
            ProgrammeAction(
                event=event_id,
                version=version,
                kind=data.action,
                stage=data.stage_id,
                day=data.day,
                item=data.item_id,
                minutes=data.minutes,
                actor=actor_id,
                acted_at=now,
                before=_before_image(rows),
                created=created,
            )
        ).run()
    await _publish(
        event_id,
        version,
        data.action,
        data.stage_id,
        data.day,
        action={"kind": data.action, "item_id": data.item_id, "minutes": data.minutes},
    )
    return version


async def _last_undoable(event_id: int, version: int) -> dict:
    """The newest stage action not yet undone, if every change since it is a stage action that
    was undone or an undo: an edit, a generated day or a release in between ends the undo trail.
    Inside the transaction that raised the version to `version` + 1 (so nothing moves meanwhile).
    """
    last = (
        await ProgrammeAction.select()
        .where(
            (ProgrammeAction.event == event_id)
            & (ProgrammeAction.kind != "undo")
            & (ProgrammeAction.undone.eq(False))
        )
        .order_by(ProgrammeAction.version, ascending=False)
        .first()
        .output(load_json=True)
    )
    if last is None:
        raise Conflict("There is no stage action left to undo.", reason="nothing_to_undo")
    # Versions are unique per event, so a gap in the recorded actions is a change of another kind.
    recorded = await ProgrammeAction.count().where(
        (ProgrammeAction.event == event_id)
        & (ProgrammeAction.version > last["version"])
        & (ProgrammeAction.version <= version)
    )
    if recorded != version - last["version"]:
        raise Conflict(
            "The programme was edited or released since the last stage action, "
            "so there is no stage action left to undo.",
            reason="nothing_to_undo",
        )
    return last


async def undo(event_id: int, actor_id: int | None, expected: int) -> int:
    """Undo the newest stage action not yet undone: pressed again and again, undo walks back
    through the stage actions one by one, newest first, down to the last edit or release.

    The version is raised first, so two organisers pressing at once queue on the programme and
    the second is refused as stale; what the action changed is then put back exactly: the items
    it added are removed and every item of its stage-day gets its live fields from before.
    """
    async with transaction():
        version = await _bump(event_id, expected)
        last = await _last_undoable(event_id, expected)
        if last["created"]:
            await ProgrammeItem.delete().where(
                ProgrammeItem.id.is_in(last["created"]) & (ProgrammeItem.event == event_id)
            )
        by_id = {row["id"]: row for row in await _items(event_id, last["stage"], last["day"])}
        await _write_live_fields(
            [
                (by_id[image["id"]], _from_image(image))
                for image in last["before"]
                if image["id"] in by_id
            ]
        )
        await ProgrammeAction.update({ProgrammeAction.undone: True}).where(
            ProgrammeAction.id == last["id"]
        )
        await ProgrammeAction.insert(
            ProgrammeAction(
                event=event_id,
                version=version,
                kind="undo",
                stage=last["stage"],
                day=last["day"],
                item=None,
                actor=actor_id,
                acted_at=now_utc(),
            )
        ).run()
    await _publish(event_id, version, "undo", last["stage"], last["day"], action={"kind": "undo"})
    return version


async def actions(event_id: int, page: PageRequest) -> tuple[list[dict], int]:
    condition = ProgrammeAction.event == event_id
    rows = await page.apply(
        ProgrammeAction.select(
            ProgrammeAction.version,
            ProgrammeAction.kind,
            ProgrammeAction.stage.as_alias("stage_id"),
            ProgrammeAction.day,
            ProgrammeAction.item.as_alias("item_id"),
            ProgrammeAction.minutes,
            ProgrammeAction.actor.as_alias("actor_id"),
            ProgrammeAction.acted_at,
            ProgrammeAction.undone,
        )
        .where(condition)
        .order_by(ProgrammeAction.version, ascending=False)
    )
    return rows, await ProgrammeAction.count().where(condition)
