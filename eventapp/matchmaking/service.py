"""Matchmaking: the grid, profiles and fit, marks, booking, the scheduler run, feedback, reports.

Every meeting is written by `_book`, in the caller's transaction: the per-party counters are
raised with a conditional UPDATE (the caps), then the row is inserted, and the partial unique
indexes refuse any double booking with the reason a client sees in the 409. So the rules hold
under any race on both engines, and the code here only has to choose a free table.

Requests that wait too long expire: lazily (every read of meetings and every booking first
expires what is due) and by the periodic sweep (`sweep_forever`, started with the app). An
expiry is an UPDATE ... WHERE status = 'pending' AND expires_at < now, so whichever process
gets there first expires a request, once.

Live: every change returns the affected people (`Changed.people`); after the commit the routes
call `announce_changes`, which sends each of them, on their own hub topic, their next meeting and
how many requests wait for them, so their open pages update without a reload.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from eventapp.accounts.schemas import Role
from eventapp.accounts.security import new_token, token_digest
from eventapp.accounts.service import my_events, on_sessions_ended, roles_in_event
from eventapp.accounts.tables import User
from eventapp.applications.service import startups_taking_part
from eventapp.db import transaction
from eventapp.errors import Conflict, Forbidden, NotFound
from eventapp.events.service import event_by_slug
from eventapp.events.tables import MeetingTable
from eventapp.hotpath import HotQuery, Param
from eventapp.live.hub import hub, person_topic
from eventapp.mail import service as mail
from eventapp.matchmaking import calendar, fit, scheduler
from eventapp.matchmaking.schemas import GridSettings, InvestorProfileIn, MeetingOut
from eventapp.matchmaking.tables import (
    InvestorProfile,
    Meeting,
    MeetingChangeRequest,
    MeetingCount,
    MeetingFeedback,
    MeetingFeedToken,
    MeetingFit,
    MeetingMark,
    MeetingSettings,
    MeetingSlot,
    MeetingUnavailable,
    ScheduleVersion,
)
from eventapp.pagination import PageRequest
from eventapp.spreadsheets import safe_cell

logger = logging.getLogger(__name__)

ACTIVE = ("pending", "accepted")
MARKS = {"no_thanks": 0, "happy": 1, "must": 2}
MARK_NAMES = {value: name for name, value in MARKS.items()}
SWEEP_EVERY_S = 60.0


def now() -> datetime:
    return datetime.now(UTC)


def _json(value: Any) -> Any:
    """A JSON column's value (SQLite hands back its text)."""
    return json.loads(value) if isinstance(value, str) else value


# --------------------------------------------------------------------------------------------------
# Who takes part


async def participating_startups(event_id: int) -> list[dict]:
    """The start-ups that meet investors (see `applications.service.startups_taking_part`)."""
    return await startups_taking_part(event_id)


async def event_investors(event_id: int) -> list[dict]:
    """Investor people of the event with their firm (people without a firm cannot meet)."""
    return await User.raw(
        "SELECT DISTINCT u.id, u.name, u.email, o.id AS firm_id, o.name AS firm_name, "
        "o.country AS firm_country FROM users u "
        'JOIN user_event_roles r ON r."user" = u.id JOIN organisations o ON o.id = u.organisation '
        "WHERE r.event = {} AND r.role = 'investor' AND o.kind = 'investor' ORDER BY u.id",
        event_id,
    )


async def investor_party(event_id: int, user_id: int) -> dict:
    """The caller as an investor: their firm, or a refusal when they belong to none."""
    for row in await User.raw(
        "SELECT o.id AS firm_id, o.name AS firm_name FROM users u "
        "JOIN organisations o ON o.id = u.organisation WHERE u.id = {} AND o.kind = 'investor'",
        user_id,
    ):
        return row
    raise Forbidden("Your account belongs to no investment firm.", reason="no_organisation")


async def startup_party(event_id: int, user_id: int) -> int:
    """The caller's start-up organisation, or a refusal when they belong to none, or to one that
    does not take part (not selected, or declined): it may not hold investors' slots."""
    for row in await User.raw(
        "SELECT o.id FROM users u JOIN organisations o ON o.id = u.organisation "
        "WHERE u.id = {} AND o.kind = 'startup'",
        user_id,
    ):
        taking_part = {s["organisation_id"] for s in await participating_startups(event_id)}
        if row["id"] not in taking_part:
            raise Forbidden(
                "Your start-up does not take part in this event's meetings.",
                reason="not_taking_part",
            )
        return row["id"]
    raise Forbidden("Your account belongs to no start-up.", reason="no_organisation")


async def _startup_people(startup_id: int, event_id: int) -> list[dict]:
    return await User.raw(
        'SELECT DISTINCT u.id, u.name, u.email FROM users u JOIN user_event_roles r ON r."user" = '
        "u.id WHERE u.organisation = {} AND r.event = {} AND r.role = 'startup' ORDER BY u.id",
        startup_id,
        event_id,
    )


# --------------------------------------------------------------------------------------------------
# The grid


DEFAULT_SETTINGS = GridSettings()


async def grid_settings(event_id: int) -> dict:
    row = await MeetingSettings.select().where(MeetingSettings.event == event_id).first().run()
    if row is None:
        row = DEFAULT_SETTINGS.model_dump(mode="json")
    row["blocks"] = _json(row["blocks"])
    row["weights"] = {**fit.DEFAULT_WEIGHTS, **_json(row["weights"])}
    return row


def slot_times(settings: GridSettings, timezone: str) -> list[tuple[datetime, datetime, int]]:
    """Every slot (start, end, day index) the blocks hold, in UTC; a slot never crosses a block's
    end, and blocks on one day that overlap give each slot once."""
    zone = ZoneInfo(timezone or "UTC")
    days = sorted({block.day for block in settings.blocks})
    found: dict[datetime, tuple[datetime, int]] = {}
    step = timedelta(minutes=settings.slot_minutes)
    for block in settings.blocks:
        start = datetime.combine(block.day, block.start, zone)
        end = datetime.combine(block.day, block.end, zone)
        while start + step <= end:
            found[start.astimezone(UTC)] = ((start + step).astimezone(UTC), days.index(block.day))
            start += step
    return [(start, end, day) for start, (end, day) in sorted(found.items())]


async def save_grid_settings(event: dict, settings: GridSettings) -> dict:
    """Store the grid and its rules; slots follow the blocks. A slot that has meetings cannot go."""
    values = settings.model_dump(mode="json")
    try:
        wanted = slot_times(settings, event["timezone"])
    except OverflowError:
        raise Conflict(
            "A block lies beyond the calendar's end.", reason="grid_out_of_range"
        ) from None
    async with transaction():
        updated = (
            await MeetingSettings.update(values)
            .where(MeetingSettings.event == event["id"])
            .returning(MeetingSettings.id)
            .run()
        )
        if not updated:
            await MeetingSettings.insert(MeetingSettings(event=event["id"], **values)).run()
        existing = await MeetingSlot.select().where(MeetingSlot.event == event["id"]).run()
        by_start = {row["starts_at"].astimezone(UTC): row for row in existing}
        keep = {start for start, _, _ in wanted}
        gone = [row["id"] for start, row in by_start.items() if start not in keep]
        if gone:
            used = await Meeting.exists().where(Meeting.slot.is_in(gone))
            if used:
                raise Conflict(
                    "Some slots that would go have meetings: move or cancel them first.",
                    reason="slots_in_use",
                )
            await MeetingSlot.delete().where(MeetingSlot.id.is_in(gone)).run()
        for start, end, day in wanted:
            if start in by_start:
                row = by_start[start]
                if row["ends_at"].astimezone(UTC) != end or row["day_index"] != day:
                    await (
                        MeetingSlot.update({MeetingSlot.ends_at: end, MeetingSlot.day_index: day})
                        .where(MeetingSlot.id == row["id"])
                        .run()
                    )
            else:
                await MeetingSlot.insert(
                    MeetingSlot(event=event["id"], starts_at=start, ends_at=end, day_index=day)
                ).run()
    await refresh_fits(event["id"])
    return await grid_settings(event["id"])


async def slots_of(event_id: int, page: PageRequest | None = None) -> tuple[list[dict], int]:
    query = (
        MeetingSlot.select(
            MeetingSlot.id, MeetingSlot.starts_at, MeetingSlot.ends_at, MeetingSlot.day_index
        )
        .where(MeetingSlot.event == event_id)
        .order_by(MeetingSlot.starts_at)
    )
    rows = await (page.apply(query) if page else query.run())
    return rows, await MeetingSlot.count().where(MeetingSlot.event == event_id)


async def tables_in_order(event_id: int) -> list[dict]:
    return (
        await MeetingTable.select(MeetingTable.id, MeetingTable.label)
        .where(MeetingTable.event == event_id)
        .order_by(MeetingTable.id)
        .run()
    )


async def fixed_table_of(event_id: int, startup_id: int) -> int | None:
    """With fixed tables: the start-up's own table (the n-th start-up keeps the n-th table)."""
    startups = [s["organisation_id"] for s in await participating_startups(event_id)]
    tables = await tables_in_order(event_id)
    if startup_id not in startups:
        return None
    n = startups.index(startup_id)
    if n >= len(tables):
        raise Conflict("There are fewer tables than start-ups.", reason="table_full")
    return tables[n]["id"]


async def set_unavailable(
    event_id: int, kind: str, party_id: int, slot_ids: list[int]
) -> list[int]:
    """Replace the party's unavailable slots; slots of other events are refused."""
    wanted = sorted(set(slot_ids))
    async with transaction():
        if wanted:
            found = await MeetingSlot.select(MeetingSlot.id).where(
                (MeetingSlot.event == event_id) & MeetingSlot.id.is_in(wanted)
            )
            if len(found) != len(wanted):
                raise NotFound("A slot named is not one of this event's.")
        await (
            MeetingUnavailable.delete()
            .where(
                (MeetingUnavailable.event == event_id)
                & (MeetingUnavailable.party_kind == kind)
                & (MeetingUnavailable.party_id == party_id)
            )
            .run()
        )
        if wanted:
            await MeetingUnavailable.insert(
                *(
                    MeetingUnavailable(event=event_id, party_kind=kind, party_id=party_id, slot=s)
                    for s in wanted
                )
            ).run()
    return wanted


async def unavailable_of(event_id: int, kind: str, party_id: int) -> list[int]:
    rows = await MeetingUnavailable.select(MeetingUnavailable.slot).where(
        (MeetingUnavailable.event == event_id)
        & (MeetingUnavailable.party_kind == kind)
        & (MeetingUnavailable.party_id == party_id)
    )
    return sorted(row["slot"] for row in rows)


# --------------------------------------------------------------------------------------------------
# Investor profiles and fit


def _profile_out(row: dict, firm_name: str) -> dict:
    return {
        "firm_id": row["firm"],
        "firm_name": firm_name,
        "investor_type": row["investor_type"],
        "country": row["country"],
        "sectors": _json(row["sectors"]),
        "stages": _json(row["stages"]),
        "ticket_min_usd": row["ticket_min_usd"],
        "ticket_max_usd": row["ticket_max_usd"],
        "countries_of_interest": _json(row["countries_of_interest"]),
        "thesis": row["thesis"],
    }


async def investor_profile(event_id: int, firm: dict) -> dict:
    row = (
        await InvestorProfile.select()
        .where((InvestorProfile.event == event_id) & (InvestorProfile.firm == firm["firm_id"]))
        .first()
    )
    if row is None:
        row = {"firm": firm["firm_id"], **InvestorProfileIn().model_dump(mode="json")}
    return _profile_out(row, firm["firm_name"])


async def save_investor_profile(event_id: int, firm: dict, data: InvestorProfileIn) -> dict:
    """Any person of the firm edits the firm's one profile; its fits are computed again."""
    low, high = data.ticket_min_usd, data.ticket_max_usd
    if low is not None and high is not None and low > high:
        raise Conflict("The smallest ticket is above the largest.", reason="ticket_range")
    values = {**data.model_dump(mode="json"), "updated_at": now()}
    async with transaction():
        rows = (
            await InvestorProfile.update(values)
            .where((InvestorProfile.event == event_id) & (InvestorProfile.firm == firm["firm_id"]))
            .returning(InvestorProfile.id)
            .run()
        )
        if not rows:
            await InvestorProfile.insert(
                InvestorProfile(event=event_id, firm=firm["firm_id"], **values)
            ).run()
    await refresh_fits(event_id, firm_ids=[firm["firm_id"]])
    return await investor_profile(event_id, firm)


def _investor_side(profile: dict | None, firm_country: str) -> fit.InvestorSide:
    if profile is None:
        return fit.InvestorSide(country=firm_country)
    return fit.InvestorSide(
        country=profile["country"] or firm_country,
        sectors=tuple(_json(profile["sectors"])),
        stages=tuple(_json(profile["stages"])),
        ticket_min_usd=profile["ticket_min_usd"],
        ticket_max_usd=profile["ticket_max_usd"],
        countries_of_interest=tuple(_json(profile["countries_of_interest"])),
        thesis=profile["thesis"],
    )


def _startup_side(startup: dict) -> fit.StartupSide:
    return fit.StartupSide(
        country=startup["country"],
        sectors=tuple(startup["sectors"]),
        stage=startup["stage"],
        funding_sought_usd=startup["funding_sought_usd"],
        one_liner=startup["one_liner"],
    )


async def refresh_fits(event_id: int, firm_ids: list[int] | None = None) -> None:
    """Compute and store the fit of every (investor firm, start-up) pair, or of some firms'."""
    weights = (await grid_settings(event_id))["weights"]
    startups = await participating_startups(event_id)
    firms = {row["firm_id"]: row["firm_country"] for row in await event_investors(event_id)}
    if firm_ids is not None:
        firms = {f: c for f, c in firms.items() if f in firm_ids}
    if not firms:
        return
    profiles = {
        row["firm"]: row
        for row in await InvestorProfile.select().where(
            (InvestorProfile.event == event_id) & InvestorProfile.firm.is_in(list(firms))
        )
    }
    rows = []
    for firm_id, country in firms.items():
        side = _investor_side(profiles.get(firm_id), country)
        for startup in startups:
            found = fit.fit(side, _startup_side(startup), weights)
            rows.append(
                MeetingFit(
                    event=event_id,
                    firm=firm_id,
                    startup=startup["organisation_id"],
                    score=found.score,
                    gate=found.gate,
                    breakdown=found.breakdown,
                )
            )
    async with transaction():
        await (
            MeetingFit.delete()
            .where((MeetingFit.event == event_id) & MeetingFit.firm.is_in(list(firms)))
            .run()
        )
        for start in range(0, len(rows), 500):
            await MeetingFit.insert(*rows[start : start + 500]).run()


async def _fits(event_id: int, firm_id: int | None = None) -> dict[tuple[int, int], dict]:
    condition = MeetingFit.event == event_id
    if firm_id is not None:
        condition &= MeetingFit.firm == firm_id
    rows = await MeetingFit.select().where(condition)
    return {(row["firm"], row["startup"]): row for row in rows}


def _why(row: dict | None) -> tuple[float, str | None, list[str], dict[str, float]]:
    if row is None:
        return 0.0, None, [], {}
    breakdown = _json(row["breakdown"])
    return (
        row["score"],
        row["gate"],
        fit.Fit(row["score"], row["gate"], breakdown).why(),
        breakdown,
    )


async def _marks(event_id: int, **where: int) -> dict[tuple[str, int, int], str]:
    condition = MeetingMark.event == event_id
    for column, value in where.items():
        condition &= getattr(MeetingMark, column) == value
    rows = await MeetingMark.select().where(condition)
    return {(r["side"], r["investor"], r["startup"]): MARK_NAMES[r["mark"]] for r in rows}


async def browse_startups(
    event_id: int,
    user_id: int,
    firm: dict,
    page: PageRequest,
    country: str | None = None,
    sector: str | None = None,
    min_fit: float = 0.0,
) -> tuple[list[dict], int]:
    """The start-ups for an investor, best fit first, with why and both sides' marks."""
    startups = await participating_startups(event_id)
    fits = await _fits(event_id, firm["firm_id"])
    if len(fits) < len(startups):
        await refresh_fits(event_id, firm_ids=[firm["firm_id"]])
        fits = await _fits(event_id, firm["firm_id"])
    marks = await _marks(event_id, investor=user_id)
    found = []
    for startup in startups:
        sid = startup["organisation_id"]
        score, gate, why, breakdown = _why(fits.get((firm["firm_id"], sid)))
        if country and startup["country"] != country:
            continue
        if sector and sector.lower() not in [s.lower() for s in startup["sectors"]]:
            continue
        if page.q and page.q.lower() not in f"{startup['name']} {startup['one_liner']}".lower():
            continue
        if score < min_fit:
            continue
        found.append(
            {
                **startup,
                "fit": score,
                "gate": gate,
                "why": why,
                "breakdown": breakdown,
                "my_mark": marks.get(("investor", user_id, sid)),
                "their_mark": marks.get(("startup", user_id, sid)),
            }
        )
    found.sort(key=lambda row: (-row["fit"], row["name"]))
    return found[page.offset : page.offset + page.limit], len(found)


async def browse_investors(
    event_id: int, startup_id: int, page: PageRequest
) -> tuple[list[dict], int]:
    """The investor people for a start-up, best fit first, with both sides' marks."""
    investors = await event_investors(event_id)
    fits = await _fits(event_id)
    marks = await _marks(event_id, startup=startup_id)
    types = {
        row["firm"]: row["investor_type"]
        for row in await InvestorProfile.select(
            InvestorProfile.firm, InvestorProfile.investor_type
        ).where(InvestorProfile.event == event_id)
    }
    found = []
    for person in investors:
        if page.q and page.q.lower() not in f"{person['name']} {person['firm_name']}".lower():
            continue
        score, gate, why, _ = _why(fits.get((person["firm_id"], startup_id)))
        found.append(
            {
                "user_id": person["id"],
                "name": person["name"],
                "firm_id": person["firm_id"],
                "firm_name": person["firm_name"],
                "country": person["firm_country"],
                "investor_type": types.get(person["firm_id"], ""),
                "fit": score,
                "gate": gate,
                "why": why,
                "my_mark": marks.get(("startup", person["id"], startup_id)),
                "their_mark": marks.get(("investor", person["id"], startup_id)),
            }
        )
    found.sort(key=lambda row: (-row["fit"], row["name"]))
    return found[page.offset : page.offset + page.limit], len(found)


async def set_mark(
    event_id: int, side: str, investor_id: int, startup_id: int, mark: str | None
) -> None:
    """One side's mark on a pair (None clears it). The counterpart must take part."""
    if side == "investor":
        if startup_id not in {s["organisation_id"] for s in await participating_startups(event_id)}:
            raise NotFound("No such start-up in this event.")
    elif investor_id not in {row["id"] for row in await event_investors(event_id)}:
        raise NotFound("No such investor in this event.")
    mine = (
        (MeetingMark.event == event_id)
        & (MeetingMark.side == side)
        & (MeetingMark.investor == investor_id)
        & (MeetingMark.startup == startup_id)
    )
    async with transaction():
        await MeetingMark.delete().where(mine).run()
        if mark is not None:
            await MeetingMark.insert(
                MeetingMark(
                    event=event_id,
                    side=side,
                    investor=investor_id,
                    startup=startup_id,
                    mark=MARKS[mark],
                )
            ).run()


# --------------------------------------------------------------------------------------------------
# Booking: the one way a meeting row is written, on the fast path


_FREE_TABLE = HotQuery(
    lambda: (
        MeetingTable.select(MeetingTable.id)
        .where(
            (MeetingTable.event == Param("event_id"))
            & MeetingTable.id.not_in(
                Meeting.select(Meeting.meeting_table).where(
                    (Meeting.slot == Param("slot_id")) & Meeting.status.is_in(list(ACTIVE))
                )
            )
        )
        .order_by(MeetingTable.id)
        .limit(1)
    )
)
_SLOT = HotQuery(
    lambda: (
        MeetingSlot.select(MeetingSlot.id, MeetingSlot.starts_at)
        .where((MeetingSlot.id == Param("slot_id")) & (MeetingSlot.event == Param("event_id")))
        .limit(1)
    )
)
_UNAVAILABLE = HotQuery(
    lambda: MeetingUnavailable.select(MeetingUnavailable.party_kind).where(
        (MeetingUnavailable.event == Param("event_id"))
        & (MeetingUnavailable.slot == Param("slot_id"))
        & (
            (
                (MeetingUnavailable.party_kind == "investor")
                & (MeetingUnavailable.party_id == Param("investor_id"))
            )
            | (
                (MeetingUnavailable.party_kind == "startup")
                & (MeetingUnavailable.party_id == Param("startup_id"))
            )
        )
    )
)
_BUSY = HotQuery(
    lambda: Meeting.select(Meeting.investor, Meeting.startup).where(
        (Meeting.slot == Param("slot_id"))
        & Meeting.status.is_in(list(ACTIVE))
        & ((Meeting.investor == Param("investor_id")) | (Meeting.startup == Param("startup_id")))
    )
)
_PAIR = HotQuery(
    lambda: (
        Meeting.select(Meeting.id)
        .where(
            Meeting.status.is_in(list(ACTIVE))
            & (Meeting.event == Param("event_id"))
            & (Meeting.startup == Param("startup_id"))
            & ((Meeting.investor == Param("investor_id")) | (Meeting.firm == Param("firm_id")))
        )
        .limit(1)
    )
)
_RAISE_COUNT = HotQuery(
    lambda: (
        MeetingCount.update({MeetingCount.active: MeetingCount.active + 1})
        .where(
            (MeetingCount.event == Param("event_id"))
            & (MeetingCount.party_kind == Param("kind"))
            & (MeetingCount.party_id == Param("party_id"))
            & (MeetingCount.active < Param("cap"))
        )
        .returning(MeetingCount.active)
    )
)
_LOWER_COUNT = HotQuery(
    lambda: MeetingCount.update({MeetingCount.active: MeetingCount.active - 1}).where(
        (MeetingCount.event == Param("event_id"))
        & (MeetingCount.party_kind == Param("kind"))
        & (MeetingCount.party_id == Param("party_id"))
    )
)
_ENSURE_COUNT = HotQuery(
    lambda: MeetingCount.insert(
        MeetingCount(
            event=Param("event_id"),
            party_kind=Param("kind"),
            party_id=Param("party_id"),
            active=0,
        )
    ).on_conflict(action="DO NOTHING")
)
_MEETING_FIELDS = (
    "event",
    "slot",
    "meeting_table",
    "investor",
    "firm",
    "startup",
    "status",
    "source",
    "version",
    "requested_by",
    "requester_side",
    "message",
    "expires_at",
)
_INSERT_MEETING = HotQuery(
    lambda: Meeting.insert(
        Meeting(
            **{name: Param(name) for name in _MEETING_FIELDS},
            created_at=Param("at"),
            updated_at=Param("at"),
        )
    ).returning(Meeting.id)
)


@dataclass
class Booking:
    event_id: int
    slot_id: int
    investor_id: int
    firm_id: int
    startup_id: int
    status: str
    source: str
    table_id: int | None = None
    version_id: int | None = None
    requested_by: int | None = None
    requester_side: str = ""
    message: str = ""
    expires_at: datetime | None = None


async def _check_slot(event_id: int, slot_id: int, investor_id: int, startup_id: int) -> dict:
    slot = await _SLOT.first(slot_id=slot_id, event_id=event_id)
    if slot is None:
        raise NotFound("No such slot in this event.")
    for row in await _UNAVAILABLE.rows(
        event_id=event_id, slot_id=slot_id, investor_id=investor_id, startup_id=startup_id
    ):
        side = row["party_kind"]
        raise Conflict(f"The {side} is not available in that slot.", reason=f"{side}_busy")
    return slot


async def _check_free(booking: Booking) -> None:
    """Say which rule a booking would break, before choosing a table. The unique indexes are
    what holds under a race; this only names the conflict a client can act on first."""
    for row in await _BUSY.rows(
        slot_id=booking.slot_id, investor_id=booking.investor_id, startup_id=booking.startup_id
    ):
        side = "investor" if row["investor"] == booking.investor_id else "startup"
        raise Conflict(f"The {side} already has a meeting in that slot.", reason=f"{side}_busy")
    if await _PAIR.rows(
        event_id=booking.event_id,
        startup_id=booking.startup_id,
        investor_id=booking.investor_id,
        firm_id=booking.firm_id,
    ):
        raise Conflict(
            "This start-up already meets this investor or their firm.", reason="already_meeting"
        )


async def _table_for(event_id: int, slot_id: int, startup_id: int, fixed: bool) -> int:
    if fixed:
        table = await fixed_table_of(event_id, startup_id)
        if table is not None:
            return table
    row = await _FREE_TABLE.first(event_id=event_id, slot_id=slot_id)
    if row is None:
        raise Conflict("Every table is taken in that slot.", reason="slot_taken")
    return row["id"]


async def _raise_counts(event_id: int, investor_id: int, startup_id: int, rules: dict) -> None:
    """Count the meeting against both caps (investor first: one lock order, no deadlock)."""
    for kind, party, cap in (
        ("investor", investor_id, rules["max_investor"]),
        ("startup", startup_id, rules["max_startup"]),
    ):
        await _ENSURE_COUNT.rows(event_id=event_id, kind=kind, party_id=party)
        if not await _RAISE_COUNT.rows(event_id=event_id, kind=kind, party_id=party, cap=cap):
            raise Conflict(f"The {kind} has reached their cap of meetings.", reason="cap_reached")


async def _lower_counts(event_id: int, investor_id: int, startup_id: int) -> None:
    await _LOWER_COUNT.rows(event_id=event_id, kind="investor", party_id=investor_id)
    await _LOWER_COUNT.rows(event_id=event_id, kind="startup", party_id=startup_id)


async def _book(booking: Booking, rules: dict) -> int:
    """Write one active meeting; call inside a transaction. Conflicts are 409s with a reason."""
    await _check_slot(booking.event_id, booking.slot_id, booking.investor_id, booking.startup_id)
    await _check_free(booking)
    if booking.table_id is None:
        booking.table_id = await _table_for(
            booking.event_id, booking.slot_id, booking.startup_id, rules["fixed_tables"]
        )
    await _raise_counts(booking.event_id, booking.investor_id, booking.startup_id, rules)
    rows = await _INSERT_MEETING.rows(
        event=booking.event_id,
        slot=booking.slot_id,
        meeting_table=booking.table_id,
        investor=booking.investor_id,
        firm=booking.firm_id,
        startup=booking.startup_id,
        status=booking.status,
        source=booking.source,
        version=booking.version_id,
        requested_by=booking.requested_by,
        requester_side=booking.requester_side,
        message=booking.message,
        expires_at=booking.expires_at,
        at=now(),
    )
    return rows[0]["id"]


# --------------------------------------------------------------------------------------------------
# Meetings as people see them


_MEETING_SELECT = """
SELECT m.id, m.status, m.source, m.slot AS slot_id, s.starts_at, s.ends_at,
       m.meeting_table AS table_id, t.label AS table_label, t.area AS table_area,
       m.investor AS investor_id, u.name AS investor_name, u.email AS investor_email,
       m.firm AS firm_id, f.name AS firm_name, m.startup AS startup_id, o.name AS startup_name,
       m.requested_by, m.requester_side, m.message, m.expires_at, m.sequence, m.event,
       (m.version IS NULL OR v.status = 'published') AS published
FROM meetings m
JOIN meeting_slots s ON s.id = m.slot
JOIN meeting_tables t ON t.id = m.meeting_table
JOIN users u ON u.id = m.investor
JOIN organisations f ON f.id = m.firm
JOIN organisations o ON o.id = m.startup
LEFT JOIN schedule_versions v ON v.id = m.version
"""


def _meeting(row: dict) -> dict:
    return {**row, "published": bool(row["published"])}


async def meeting_rows(where: str, *args: Any, order: str = "s.starts_at, m.id") -> list[dict]:
    rows = await Meeting.raw(f"{_MEETING_SELECT} WHERE {where} ORDER BY {order}", *args)
    return [_meeting(row) for row in rows]


async def meeting(event_id: int, meeting_id: int) -> dict:
    rows = await meeting_rows("m.id = {} AND m.event = {}", meeting_id, event_id)
    if not rows:
        raise NotFound("No such meeting in this event.")
    return rows[0]


@dataclass(frozen=True)
class Party:
    """Who is acting on meetings: an investor person, a start-up (any of its people), or the
    organiser."""

    side: str
    user_id: int
    party_id: int
    firm_id: int | None = None

    def condition(self) -> tuple[str, int]:
        column = "m.investor" if self.side == "investor" else "m.startup"
        return f"{column} = {{}}", self.party_id

    def owns(self, row: dict) -> bool:
        if self.side == "organiser":
            return True
        if self.side == "investor":
            return row["investor_id"] == self.party_id
        return row["startup_id"] == self.party_id


async def my_meetings(
    event_id: int, party: Party, page: PageRequest, status: str | None = None
) -> tuple[list[dict], int]:
    """The party's meetings that they can see (requests, and published schedules)."""
    await expire_due(event_id)
    where, value = party.condition()
    condition = f"m.event = {{}} AND {where} AND (m.version IS NULL OR v.status = 'published')"
    args: list[Any] = [event_id, value]
    if status:
        condition += " AND m.status = {}"
        args.append(status)
    rows = await meeting_rows(condition, *args)
    return rows[page.offset : page.offset + page.limit], len(rows)


async def event_meetings(
    event_id: int, page: PageRequest, status: str | None = None
) -> tuple[list[dict], int]:
    """Every meeting of the event for the organiser, drafts of the schedule included; a page
    at a time (a large event has thousands)."""
    await expire_due(event_id)
    condition, args = "m.event = {}", [event_id]
    if status:
        condition += " AND m.status = {}"
        args.append(status)
    if page.q:
        condition += (
            " AND (LOWER(u.name) LIKE {} ESCAPE '\\' OR LOWER(o.name) LIKE {} ESCAPE '\\'"
            " OR LOWER(f.name) LIKE {} ESCAPE '\\')"
        )
        args += [page.contains_pattern.lower()] * 3
    rows = await meeting_rows(
        condition, *args, order=f"s.starts_at, m.id LIMIT {page.limit} OFFSET {page.offset}"
    )
    total = await Meeting.raw(
        "SELECT COUNT(*) AS n FROM meetings m JOIN users u ON u.id = m.investor "
        f"JOIN organisations o ON o.id = m.startup JOIN organisations f ON f.id = m.firm "
        f"WHERE {condition}",
        *args,
    )
    return rows, total[0]["n"]


# --------------------------------------------------------------------------------------------------
# Self-service requests


@dataclass
class Changed:
    """What a change did: the meeting as it is now, and whom to tell (mail, the live hub)."""

    meeting: dict
    people: list[int] = field(default_factory=list)


async def request_meeting(
    event: dict, party: Party, counterpart_id: int, slot_id: int, message: str
) -> Changed:
    """A request in a free slot: pending, holding the slot on both sides until it expires."""
    event_id = event["id"]
    await expire_due(event_id)
    rules = await grid_settings(event_id)
    if party.side == "investor":
        investor_id, firm_id, startup_id = party.user_id, party.firm_id, counterpart_id
        if counterpart_id not in {
            s["organisation_id"] for s in await participating_startups(event_id)
        }:
            raise NotFound("No such start-up in this event.")
    else:
        person = next(
            (row for row in await event_investors(event_id) if row["id"] == counterpart_id), None
        )
        if person is None:
            raise NotFound("No such investor in this event.")
        investor_id, firm_id, startup_id = person["id"], person["firm_id"], party.party_id
    booking = Booking(
        event_id=event_id,
        slot_id=slot_id,
        investor_id=investor_id,
        firm_id=firm_id or 0,
        startup_id=startup_id,
        status="pending",
        source="request",
        requested_by=party.user_id,
        requester_side=party.side,
        message=message,
        expires_at=now() + timedelta(hours=rules["request_hours"]),
    )
    async with transaction():
        meeting_id = await _book(booking, rules)
        row = await meeting(event_id, meeting_id)
        await _mail_change(event, row, "requested")
    return Changed(row, await _people_of(row))


_TRANSITIONS = {
    # action: (allowed from, new status, who may)
    "accept": (("pending",), "accepted", "counterpart"),
    "decline": (("pending",), "declined", "counterpart"),
    "cancel": (("pending", "accepted"), "cancelled", "either"),
}


async def change_status(event: dict, party: Party, meeting_id: int, action: str) -> Changed:
    """Accept or decline a request (the other side), or cancel a meeting (either side)."""
    event_id = event["id"]
    await expire_due(event_id)
    allowed, new_status, who = _TRANSITIONS[action]
    async with transaction():
        row = await meeting(event_id, meeting_id)
        if not party.owns(row) or not row["published"]:
            raise NotFound("No such meeting in this event.")
        if who == "counterpart" and row["requester_side"] == party.side:
            raise Conflict("The other side answers a request.", reason="not_your_turn")
        updated = await Meeting.raw(
            "UPDATE meetings SET status = {}, sequence = sequence + 1, updated_at = {} "
            f"WHERE id = {{}} AND status IN ({', '.join('{}' for _ in allowed)}) RETURNING id",
            new_status,
            now(),
            meeting_id,
            *allowed,
        )
        if not updated:
            raise Conflict(f"The meeting is {row['status']}.", reason="meeting_state")
        if new_status not in ACTIVE:
            await _lower_counts(event_id, row["investor_id"], row["startup_id"])
        row = await meeting(event_id, meeting_id)
        await _mail_change(event, row, action)
    return Changed(row, await _people_of(row))


async def move_meeting(
    event: dict, party: Party, meeting_id: int, slot_id: int, table_id: int | None = None
) -> Changed:
    """Move an active meeting to another slot (and table). A participant's reschedule makes it
    a request again, for the other side to accept; the organiser's move stands."""
    event_id = event["id"]
    await expire_due(event_id)
    rules = await grid_settings(event_id)
    async with transaction():
        row = await meeting(event_id, meeting_id)
        if not party.owns(row) or not (row["published"] or party.side == "organiser"):
            raise NotFound("No such meeting in this event.")
        if row["status"] not in ACTIVE:
            raise Conflict(f"The meeting is {row['status']}.", reason="meeting_state")
        await _check_slot(event_id, slot_id, row["investor_id"], row["startup_id"])
        if table_id is not None:
            if not await MeetingTable.exists().where(
                (MeetingTable.id == table_id) & (MeetingTable.event == event_id)
            ):
                raise NotFound("No such table in this event.")
        elif slot_id == row["slot_id"]:
            table_id = row["table_id"]
        else:
            table_id = await _table_for(event_id, slot_id, row["startup_id"], rules["fixed_tables"])
        values: dict[str, Any] = {
            "slot": slot_id,
            "meeting_table": table_id,
            "sequence": row["sequence"] + 1,
            "updated_at": now(),
        }
        if party.side != "organiser":
            values |= {
                "status": "pending",
                "requested_by": party.user_id,
                "requester_side": party.side,
                "expires_at": now() + timedelta(hours=rules["request_hours"]),
            }
        await Meeting.update(values).where(Meeting.id == meeting_id).run()
        row = await meeting(event_id, meeting_id)
        await _mail_change(event, row, "moved")
    return Changed(row, await _people_of(row))


async def expire_due(event_id: int | None = None) -> int:
    """Expire requests past their time and free their slots; each expires once, wherever this
    runs (the UPDATE only takes rows still pending)."""
    at = now()
    condition = "status = 'pending' AND expires_at < {}"
    args: list[Any] = [at]
    if event_id is not None:
        condition += " AND event = {}"
        args.append(event_id)
    # A plain read first: with nothing due, no write lock is taken.
    if not await Meeting.raw(f"SELECT id FROM meetings WHERE {condition} LIMIT 1", *args):
        return 0
    async with transaction():
        rows = await Meeting.raw(
            "UPDATE meetings SET status = 'expired', sequence = sequence + 1, updated_at = {} "
            f"WHERE {condition} RETURNING id, event, investor, startup",
            at,
            *args,
        )
        for row in rows:
            await _lower_counts(row["event"], row["investor"], row["startup"])
    return len(rows)


async def sweep_forever(every_s: float = SWEEP_EVERY_S) -> None:
    """The periodic sweep every process runs; expiring twice is impossible (see expire_due)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await expire_due()
        except Exception:  # noqa: BLE001 - the next round tries again
            logger.exception("expiring meeting requests failed")


async def free_slots(event_id: int, investor_id: int, startup_id: int) -> list[dict]:
    """Slots where both are free and available and a table is free: where a request can go."""
    await expire_due(event_id)
    return await MeetingSlot.raw(
        "SELECT s.id, s.starts_at, s.ends_at, s.day_index FROM meeting_slots s WHERE s.event = {} "
        "AND NOT EXISTS (SELECT 1 FROM meetings m WHERE m.slot = s.id AND m.status IN "
        "('pending', 'accepted') AND (m.investor = {} OR m.startup = {})) "
        "AND NOT EXISTS (SELECT 1 FROM meeting_unavailable a WHERE a.slot = s.id AND "
        "((a.party_kind = 'investor' AND a.party_id = {}) OR "
        "(a.party_kind = 'startup' AND a.party_id = {}))) "
        "AND (SELECT COUNT(*) FROM meetings m WHERE m.slot = s.id AND m.status IN "
        "('pending', 'accepted')) < (SELECT COUNT(*) FROM meeting_tables t WHERE t.event = {}) "
        "ORDER BY s.starts_at",
        event_id,
        investor_id,
        startup_id,
        investor_id,
        startup_id,
        event_id,
    )


# --------------------------------------------------------------------------------------------------
# The organiser's scheduler run and publishing


def _mark_of(name: str | None) -> scheduler.Preference | None:
    return None if name is None else scheduler.Preference(MARKS[name])


async def run_scheduler(event: dict, redo: bool) -> dict:
    """Run the scheduler into a provisional version: it fills free slots around the meetings
    there are, or with `redo` replaces every meeting an earlier run placed."""
    event_id = event["id"]
    await expire_due(event_id)
    rules = await grid_settings(event_id)
    await refresh_fits(event_id)
    investors = await event_investors(event_id)
    startups = [s["organisation_id"] for s in await participating_startups(event_id)]
    slots, _ = await slots_of(event_id)
    tables = await tables_in_order(event_id)
    if not slots or not tables or not investors or not startups:
        raise Conflict(
            "The grid needs slots, tables, investors and start-ups first.", reason="grid_incomplete"
        )
    if rules["fixed_tables"] and len(tables) < len(startups):
        raise Conflict("Fixed tables need a table per start-up.", reason="table_full")
    firm_of = {row["id"]: row["firm_id"] for row in investors}
    fits = await _fits(event_id)
    marks = await _marks(event_id)
    investor_marks, startup_marks, fit_of = {}, {}, {}
    for (side, investor, startup), name in marks.items():
        if investor not in firm_of or startup not in startups:
            continue
        key = (str(investor), str(startup))
        (investor_marks if side == "investor" else startup_marks)[key] = _mark_of(name)
    for key in {*investor_marks, *startup_marks}:
        row = fits.get((firm_of[int(key[0])], int(key[1])))
        # A failed hard gate: only a pair both sides asked for is still worth a slot.
        asked_by_both = key in investor_marks and key in startup_marks
        if row is not None and row["gate"] is not None and not asked_by_both:
            investor_marks.pop(key, None)
            startup_marks.pop(key, None)
        fit_of[key] = row["score"] if row else 0.0
    unavailable: dict[str, set[str]] = defaultdict(set)
    for row in await MeetingUnavailable.select().where(MeetingUnavailable.event == event_id):
        prefix = "" if row["party_kind"] == "investor" else "s"
        unavailable[f"{prefix}{row['party_id']}"].add(str(row["slot"]))
    slot_ids = [str(s["id"]) for s in slots]
    table_index = {t["id"]: n for n, t in enumerate(tables)}
    # With `redo`, what earlier runs placed is left out of the problem here, and cancelled only in
    # the transaction that books the new run: if that fails (someone booked meanwhile), nothing
    # changed at all.
    kept = (Meeting.event == event_id) & Meeting.status.is_in(list(ACTIVE))
    if redo:
        kept &= Meeting.source != "scheduler"
    existing = await Meeting.select().where(kept)
    problem = scheduler.Problem(
        investors=[scheduler.Investor(str(row["id"]), str(row["firm_id"])) for row in investors],
        startups=[f"s{s}" for s in startups],
        slots=[scheduler.Slot(str(s["id"]), s["day_index"]) for s in slots],
        tables=len(tables),
        investor_marks={(i, f"s{s}"): m for (i, s), m in investor_marks.items()},
        startup_marks={(i, f"s{s}"): m for (i, s), m in startup_marks.items()},
        fit={(i, f"s{s}"): v for (i, s), v in fit_of.items()},
        availability={
            person: frozenset(slot_ids) - slots_off for person, slots_off in unavailable.items()
        },
        max_investor=rules["max_investor"],
        max_startup=rules["max_startup"],
        min_startup=rules["min_startup"],
        fixed_tables=(
            {f"s{s}": n for n, s in enumerate(startups)} if rules["fixed_tables"] else None
        ),
        existing=[
            scheduler.Meeting(
                str(m["investor"]),
                f"s{m['startup']}",
                str(m["slot"]),
                table_index[m["meeting_table"]],
            )
            for m in existing
            if str(m["investor"]) in {str(i["id"]) for i in investors} and m["startup"] in startups
        ],
    )
    result = await asyncio.to_thread(scheduler.schedule, problem, time_limit=20.0)
    new = result.meetings[len(problem.existing) :]
    cancelled: list[dict] = []
    async with transaction():
        if redo:
            cancelled = await _cancel_scheduled(event)
        number = (
            await ScheduleVersion.raw(
                "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM schedule_versions WHERE event = {}",
                event_id,
            )
        )[0]["n"]
        version = (
            await ScheduleVersion.insert(
                ScheduleVersion(
                    event=event_id,
                    number=number,
                    meetings=len(new),
                    value=result.value,
                    bound=min(result.bound, 1e300),
                )
            ).run()
        )[0]["id"]
        # A fresh run supersedes the drafts before it; their meetings stay as kept ones.
        await (
            ScheduleVersion.update({ScheduleVersion.status: "superseded"})
            .where(
                (ScheduleVersion.event == event_id)
                & (ScheduleVersion.status == "provisional")
                & (ScheduleVersion.id != version)
            )
            .run()
        )
        await (
            Meeting.update({Meeting.version: version})
            .where(
                (Meeting.event == event_id)
                & Meeting.version.is_in(
                    ScheduleVersion.select(ScheduleVersion.id).where(
                        (ScheduleVersion.event == event_id)
                        & (ScheduleVersion.status == "superseded")
                    )
                )
            )
            .run()
        )
        for m in new:
            investor = int(m.investor)
            await _book(
                Booking(
                    event_id=event_id,
                    slot_id=int(m.slot),
                    investor_id=investor,
                    firm_id=firm_of[investor],
                    startup_id=int(m.startup[1:]),
                    status="accepted",
                    source="scheduler",
                    table_id=tables[m.table]["id"],
                    version_id=version,
                ),
                rules,
            )
    for row in cancelled:
        await announce_changes(event, await _people_of(row))
    return await _version(event_id, version)


async def _cancel_scheduled(event: dict) -> list[dict]:
    """Cancel every meeting the scheduler placed (in the caller's transaction). Those already
    published are mailed as cancelled, with their calendar entry; the rows are returned so that
    the people concerned can be told after the commit."""
    event_id = event["id"]
    rows = await Meeting.raw(
        "UPDATE meetings SET status = 'cancelled', sequence = sequence + 1, updated_at = {} "
        "WHERE event = {} AND source = 'scheduler' AND status IN ('pending', 'accepted') "
        "RETURNING id, investor, startup",
        now(),
        event_id,
    )
    for row in rows:
        await _lower_counts(event_id, row["investor"], row["startup"])
    if not rows:
        return []
    ids = ", ".join(str(int(row["id"])) for row in rows)
    cancelled = await meeting_rows(f"m.id IN ({ids})")
    for row in cancelled:
        await _mail_change(event, row, "cancelled")
    return cancelled


async def _version(event_id: int, version_id: int) -> dict:
    row = (
        await ScheduleVersion.select()
        .where((ScheduleVersion.id == version_id) & (ScheduleVersion.event == event_id))
        .first()
    )
    if row is None:
        raise NotFound("No such schedule version.")
    return row


async def versions(event_id: int, page: PageRequest) -> tuple[list[dict], int]:
    condition = ScheduleVersion.event == event_id
    rows = await page.apply(
        ScheduleVersion.select().where(condition).order_by(ScheduleVersion.number, ascending=False)
    )
    return rows, await ScheduleVersion.count().where(condition)


async def publish(event: dict) -> tuple[dict, list[int]]:
    """Publish the provisional schedule: its meetings become everyone's, each person is mailed
    their schedule with a calendar attached. The version, and everyone in it."""
    event_id = event["id"]
    async with transaction():
        rows = await ScheduleVersion.raw(
            "UPDATE schedule_versions SET status = 'published', published_at = {} "
            "WHERE event = {} AND status = 'provisional' RETURNING id",
            now(),
            event_id,
        )
        if not rows:
            raise Conflict(
                "There is no provisional schedule to publish.", reason="nothing_to_publish"
            )
        version_id = rows[0]["id"]
        published = await meeting_rows(
            "m.version = {} AND m.status IN ('pending', 'accepted')", version_id
        )
        by_person: dict[int, list[dict]] = defaultdict(list)
        emails: dict[int, tuple[str, str]] = {}
        for row in published:
            by_person[row["investor_id"]].append(row)
            emails[row["investor_id"]] = (row["investor_email"], row["investor_name"])
        startup_people: dict[int, list[dict]] = {}
        for row in published:
            if row["startup_id"] not in startup_people:
                startup_people[row["startup_id"]] = await _startup_people(
                    row["startup_id"], event_id
                )
            for person in startup_people[row["startup_id"]]:
                by_person[person["id"]].append(row)
                emails[person["id"]] = (person["email"], person["name"])
        for person_id, meetings in by_person.items():
            email, name = emails[person_id]
            ics = calendar.calendar_for(event, meetings, method="PUBLISH")
            await mail.enqueue(
                to=email,
                template="meeting_schedule",
                context={"name": name, "event": event, "meetings": meetings},
                event_id=event_id,
                attachments=(mail.Attachment("meetings.ics", "text/calendar", ics),),
            )
    return await _version(event_id, version_id), list(by_person)


# --------------------------------------------------------------------------------------------------
# Change requests, feedback, the report


async def ask_change(event_id: int, party: Party, meeting_id: int, kind: str, note: str) -> dict:
    row = await meeting(event_id, meeting_id)
    if not party.owns(row) or not row["published"]:
        raise NotFound("No such meeting in this event.")
    if row["status"] not in ACTIVE:
        raise Conflict(f"The meeting is {row['status']}.", reason="meeting_state")
    created = (
        await MeetingChangeRequest.insert(
            MeetingChangeRequest(meeting=meeting_id, person=party.user_id, kind=kind, note=note)
        )
        .returning(MeetingChangeRequest.id)
        .run()
    )
    return (await _change_requests(MeetingChangeRequest.id == created[0]["id"]))[0]


def _change_columns() -> tuple:
    request = MeetingChangeRequest
    return (
        *request.all_columns(),
        request.meeting.as_alias("meeting_id"),
        request.person.as_alias("person_id"),
        request.person.name.as_alias("person_name"),
        request.meeting.investor.name.as_alias("investor_name"),
        request.meeting.startup.name.as_alias("startup_name"),
        request.meeting.slot.starts_at.as_alias("starts_at"),
    )


async def _change_requests(condition, page: PageRequest | None = None) -> list[dict]:
    query = (
        MeetingChangeRequest.select(*_change_columns())
        .where(condition)
        .order_by(MeetingChangeRequest.id, ascending=False)
    )
    return await (page.apply(query) if page else query.run())


async def change_requests(event_id: int, page: PageRequest) -> tuple[list[dict], int]:
    """Swap and drop requests, newest first, with who asked and which meeting."""
    condition = MeetingChangeRequest.meeting.event == event_id
    rows = await _change_requests(condition, page)
    return rows, await MeetingChangeRequest.count().where(condition)


async def close_change_request(event_id: int, request_id: int) -> dict:
    mine = (MeetingChangeRequest.id == request_id) & MeetingChangeRequest.meeting.is_in(
        Meeting.select(Meeting.id).where(Meeting.event == event_id)
    )
    rows = (
        await MeetingChangeRequest.update({MeetingChangeRequest.status: "done"})
        .where(mine)
        .returning(MeetingChangeRequest.id)
        .run()
    )
    if not rows:
        raise NotFound("No such change request in this event.")
    return (await _change_requests(MeetingChangeRequest.id == request_id))[0]


async def give_feedback(
    event_id: int, party: Party, meeting_id: int, happened: bool, interest: str
) -> dict:
    """After the meeting's start, each side says whether it happened and their interest."""
    row = await meeting(event_id, meeting_id)
    if not party.owns(row) or not row["published"] or row["status"] != "accepted":
        raise NotFound("No accepted meeting with that id for you.")
    if row["starts_at"] > now():
        raise Conflict("The meeting has not started yet.", reason="meeting_not_started")
    values = {"happened": happened, "interest": interest if happened else "none"}
    async with transaction():
        await (
            MeetingFeedback.delete()
            .where((MeetingFeedback.meeting == meeting_id) & (MeetingFeedback.side == party.side))
            .run()
        )
        await MeetingFeedback.insert(
            MeetingFeedback(meeting=meeting_id, side=party.side, person=party.user_id, **values)
        ).run()
    return {"meeting_id": meeting_id, "side": party.side, **values}


async def _report_rows(event_id: int) -> tuple[list[dict], dict]:
    """Per investor and per start-up: meetings held, no-shows, follow-ups; and the totals.

    A meeting counts once its slot has started; a no-show when either side says it did not
    happen; held otherwise; a follow-up when either side wants a follow-up or due diligence.
    """
    meetings = await meeting_rows(
        "m.event = {} AND m.status = 'accepted' AND s.starts_at <= {} "
        "AND (m.version IS NULL OR v.status = 'published')",
        event_id,
        now(),
    )
    feedback: dict[int, list[dict]] = defaultdict(list)
    if meetings:
        for row in await MeetingFeedback.select().where(
            MeetingFeedback.meeting.is_in([m["id"] for m in meetings])
        ):
            feedback[row["meeting"]].append(row)
    rows: dict[tuple[str, int], dict] = {}
    totals = {"meetings": 0, "held": 0, "no_shows": 0, "follow_ups": 0}
    for m in meetings:
        answers = feedback.get(m["id"], [])
        no_show = any(not a["happened"] for a in answers)
        follow = not no_show and any(a["interest"] != "none" for a in answers)
        for kind, party_id, name in (
            ("investor", m["investor_id"], f"{m['investor_name']} ({m['firm_name']})"),
            ("startup", m["startup_id"], m["startup_name"]),
        ):
            row = rows.setdefault(
                (kind, party_id),
                {
                    "kind": kind,
                    "id": party_id,
                    "name": name,
                    "meetings": 0,
                    "held": 0,
                    "no_shows": 0,
                    "follow_ups": 0,
                },
            )
            row["meetings"] += 1
            row["held"] += not no_show
            row["no_shows"] += no_show
            row["follow_ups"] += follow
        totals["meetings"] += 1
        totals["held"] += not no_show
        totals["no_shows"] += no_show
        totals["follow_ups"] += follow
    totals["no_show_rate"] = round(totals["no_shows"] / totals["meetings"], 4) if meetings else 0.0
    ordered = sorted(rows.values(), key=lambda r: (r["kind"], r["name"]))
    return ordered, totals


async def report_summary(event_id: int) -> dict:
    return (await _report_rows(event_id))[1]


async def report_rows(
    event_id: int, page: PageRequest, kind: str | None = None
) -> tuple[list[dict], int]:
    rows = [r for r in (await _report_rows(event_id))[0] if kind is None or r["kind"] == kind]
    if page.q:
        rows = [r for r in rows if page.q.lower() in r["name"].lower()]
    return rows[page.offset : page.offset + page.limit], len(rows)


async def report_csv(event_id: int) -> str:
    rows, totals = await _report_rows(event_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "id", "name", "meetings", "held", "no_shows", "follow_ups"])
    for row in rows:
        writer.writerow(
            [
                safe_cell(row[k])
                for k in ("kind", "id", "name", "meetings", "held", "no_shows", "follow_ups")
            ]
        )
    writer.writerow(
        [
            "total",
            "",
            "",
            totals["meetings"],
            totals["held"],
            totals["no_shows"],
            totals["follow_ups"],
        ]
    )
    return out.getvalue()


# --------------------------------------------------------------------------------------------------
# Calendars and mail


async def _people_of(row: dict) -> list[int]:
    """Everyone a meeting concerns: the investor and the start-up's people."""
    people = await _startup_people(row["startup_id"], row["event"])
    return [row["investor_id"], *(p["id"] for p in people)]


async def _mail_change(event: dict, row: dict, action: str) -> None:
    """Tell both sides, in the change's transaction, with the meeting's calendar attached.

    A scheduler draft no participant sees yet is not mailed (publishing mails it).
    """
    if not row["published"]:
        return
    people = [(row["investor_email"], row["investor_name"])] + [
        (p["email"], p["name"]) for p in await _startup_people(row["startup_id"], event["id"])
    ]
    method = "CANCEL" if row["status"] not in ACTIVE else "REQUEST"
    ics = calendar.calendar_for(event, [row], method=method)
    for email, name in people:
        await mail.enqueue(
            to=email,
            template="meeting_changed",
            context={"name": name, "event": event, "meeting": row, "action": action},
            event_id=event["id"],
            attachments=(mail.Attachment("meeting.ics", "text/calendar", ics),),
        )


async def feed_link(event_id: int, user_id: int, secret: bytes) -> str:
    """A new private feed token for the person (the old link stops working); its path."""
    token = new_token()
    digest = token_digest(token, secret)
    async with transaction():
        await (
            MeetingFeedToken.delete()
            .where((MeetingFeedToken.event == event_id) & (MeetingFeedToken.person == user_id))
            .run()
        )
        await MeetingFeedToken.insert(
            MeetingFeedToken(event=event_id, person=user_id, token_hash=digest)
        ).run()
    return f"/api/calendar/{token}"


@on_sessions_ended
async def end_feeds(user_id: int) -> None:
    """A password change or reset ends the person's calendar links in every event."""
    await MeetingFeedToken.delete().where(MeetingFeedToken.person == user_id).run()


async def feed(token: str, secret: bytes, events_by_id) -> bytes:
    """The calendar of the person whose feed token this is: every meeting they can see, those
    no longer on as cancelled.

    The link works only while its person may still see their meetings: an active account that
    meets in the event (investor or start-up). A removed role or a deactivated account ends it,
    as it ends their sessions; to the calendar app it is then no calendar at all.
    """
    row = (
        await MeetingFeedToken.select()
        .where(MeetingFeedToken.token_hash == token_digest(token, secret))
        .first()
    )
    person = (
        row
        and await User.select(User.organisation, User.is_active)
        .where(User.id == row["person"])
        .first()
    )
    if (
        row is None
        or not person
        or not person["is_active"]
        or not {Role.investor, Role.startup} & await roles_in_event(row["person"], row["event"])
    ):
        raise NotFound("No such calendar.")
    event = await events_by_id(row["event"])
    await expire_due(event["id"])
    user_id = row["person"]
    visible = "(m.version IS NULL OR v.status = 'published')"
    startup_id = person["organisation"]
    rows = await meeting_rows(
        f"m.event = {{}} AND {visible} AND (m.investor = {{}} OR m.startup = {{}})",
        event["id"],
        user_id,
        startup_id or 0,
    )
    return calendar.calendar_for(event, rows, method="PUBLISH")


async def announce_changes(event: dict, people: list[int]) -> None:
    """After a commit: each person's open pages hear their next meeting and waiting requests."""
    for user_id in dict.fromkeys(people):
        state = await meeting_changes_for(event["id"], user_id)
        await hub.publish(person_topic(user_id, "meetings"), {"event": event["slug"], **state})


async def meetings_snapshot(user_id: int) -> dict:
    """The whole state of a person's meetings topic: per event they meet in, as announced.

    Its messages carry no version (each is whole for its event), so a client never resyncs.
    """
    events = []
    for entry in await my_events(user_id):
        if {"investor", "startup"} & set(entry["roles"]):
            event = await event_by_slug(entry["slug"])
            if event is not None:
                state = await meeting_changes_for(event["id"], user_id)
                events.append({"event": entry["slug"], **state})
    return {"version": 0, "events": events}


hub.provide("person", "meetings", meetings_snapshot)


async def meeting_changes_for(event_id: int, user_id: int) -> dict:
    """What a person's page shows live: their next meeting and how many requests wait for them."""
    row = (
        await User.select(User.organisation.id, User.organisation.kind)
        .where(User.id == user_id)
        .first()
    )
    kind = row["organisation.kind"] if row else None
    if kind == "investor":
        party = Party("investor", user_id, user_id, row["organisation.id"])
    elif kind == "startup":
        party = Party("startup", user_id, row["organisation.id"])
    else:
        return {"next": None, "waiting": 0}
    where, value = party.condition()
    waiting = await meeting_rows(
        f"m.event = {{}} AND {where} AND m.status = 'pending' AND m.requester_side != {{}}",
        event_id,
        value,
        party.side,
    )
    upcoming = await next_meeting(event_id, party)
    # As the REST answers show a meeting (MeetingOut): no one else's email on a person's topic.
    shown = MeetingOut(**upcoming).model_dump(mode="json") if upcoming else None
    return {"next": shown, "waiting": len(waiting)}


async def next_meeting(event_id: int, party: Party) -> dict | None:
    """The party's next accepted meeting ("table 12 at 10:40 with ..."), for pages and the hub."""
    where, value = party.condition()
    rows = await meeting_rows(
        f"m.event = {{}} AND {where} AND m.status = 'accepted' AND s.ends_at > {{}} "
        "AND (m.version IS NULL OR v.status = 'published')",
        event_id,
        value,
        now(),
    )
    return rows[0] if rows else None
