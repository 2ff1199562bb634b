"""Registration, tickets, check-in lists and check-ins: plain async functions, no HTTP.

Invariants the database keeps: a type never has more valid (or blocked) tickets than its capacity
(every issue counts under a lock on the type's row: SQLite's write lock, PostgreSQL's row lock);
one ticket per person and type (`tickets_type_email_uq`); a retried scan counts once
(`checkins_nonce_uq`); a single-entry list admits a ticket once until it exits (the scan locks
the ticket's row, then reads its last check-in on the list).
"""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import asyncpg
import msgspec
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.query.functions.aggregate import Count
from pydantic import EmailStr, TypeAdapter, ValidationError

from eventapp.accounts.schemas import Role
from eventapp.accounts.service import normalise_email, on_role_granted, people_with_role
from eventapp.batching import ALONE, Batcher
from eventapp.db import (
    InlineConnection,
    active_engine,
    fetch_all_off_loop,
    fetch_in_transaction,
    group_commit,
    integrity_conflict,
    lock_row,
    transaction,
)
from eventapp.errors import Conflict, IntegrityConflict, InvalidInput, NotFound
from eventapp.events.tables import Event
from eventapp.hotpath import HotQuery, Param
from eventapp.mail import service as mail
from eventapp.pagination import PageRequest
from eventapp.tickets.qr import qr_png
from eventapp.tickets.signer import (
    TicketSigner,
    claimed_ticket_id,
    generate_key,
    revocation_digest,
)
from eventapp.tickets.tables import (
    Checkin,
    CheckinList,
    RevokedSecret,
    Ticket,
    TicketKey,
    TicketType,
    WaitlistEntry,
)

IMPORT_MAX_ROWS = 5_000
INSERT_SLICE = 1_000
ARRIVAL_BUCKET_S = 15 * 60
COUNTED = ("valid", "blocked")  # statuses that hold a place (a canceled ticket frees it)


def now() -> datetime:
    return datetime.now(UTC)


def _is_sqlite() -> bool:
    return isinstance(active_engine(), SQLiteEngine)


# --------------------------------------------------------------------------------------------------
# The event's key


_KEY = HotQuery(
    lambda: (
        TicketKey.select(TicketKey.private_key, TicketKey.public_key)
        .where(TicketKey.event == Param("event_id"))
        .limit(1)
    )
)
_signers: dict[str, TicketSigner] = {}


async def event_key(event_id: int) -> dict:
    """The event's key pair, made on first use (concurrent first uses agree on one)."""
    row = await _KEY.first(event_id=event_id)
    if row is None:
        private, public = generate_key()
        await TicketKey.raw(
            "INSERT INTO ticket_keys (event, private_key, public_key) VALUES ({}, {}, {})"
            " ON CONFLICT DO NOTHING",
            event_id,
            private,
            public,
        )
        row = await _KEY.first(event_id=event_id)
    assert row is not None
    return row


async def public_key(event_id: int) -> str:
    return (await event_key(event_id))["public_key"]


async def _signer(event_id: int) -> TicketSigner:
    private = (await event_key(event_id))["private_key"]
    signer = _signers.get(private)
    if signer is None:
        signer = _signers[private] = TicketSigner(private)
    return signer


# --------------------------------------------------------------------------------------------------
# Ticket types


_TYPE_COLUMNS = (
    TicketType.id,
    TicketType.kind,
    TicketType.name,
    TicketType.capacity,
    TicketType.sales_from,
    TicketType.sales_until,
    TicketType.public,
)


def _on_sale(row: dict, at: datetime) -> bool:
    return (
        row["public"]
        and (row["sales_from"] is None or row["sales_from"] <= at)
        and (row["sales_until"] is None or at < row["sales_until"])
    )


async def _type_figures(rows: list[dict]) -> list[dict]:
    ids = [row["id"] for row in rows]
    sold: dict[int, int] = {}
    waiting: dict[int, int] = {}
    if ids:
        for row in (
            await Ticket.select(Ticket.ticket_type, Count(alias="n"))
            .where(Ticket.ticket_type.is_in(ids) & Ticket.status.is_in(list(COUNTED)))
            .group_by(Ticket.ticket_type)
        ):
            sold[row["ticket_type"]] = row["n"]
        for row in (
            await WaitlistEntry.select(WaitlistEntry.ticket_type, Count(alias="n"))
            .where(WaitlistEntry.ticket_type.is_in(ids) & WaitlistEntry.ticket.is_null())
            .group_by(WaitlistEntry.ticket_type)
        ):
            waiting[row["ticket_type"]] = row["n"]
    at = now()
    for row in rows:
        row["sold"] = sold.get(row["id"], 0)
        row["available"] = max(0, row["capacity"] - row["sold"])
        row["waiting"] = waiting.get(row["id"], 0)
        row["on_sale"] = _on_sale(row, at)
    return rows


async def ticket_types(
    event_id: int, page: PageRequest, public_only: bool = False
) -> tuple[list[dict], int]:
    condition = TicketType.event == event_id
    if public_only:
        condition &= TicketType.public == True  # noqa: E712 - a SQL comparison
    if page.q:
        condition &= page.matches(TicketType.name, TicketType.kind)
    rows = await page.apply(
        TicketType.select(*_TYPE_COLUMNS).where(condition).order_by(TicketType.id)
    )
    return await _type_figures(rows), await TicketType.count().where(condition)


async def _type(event_id: int, type_id: int) -> dict:
    row = (
        await TicketType.select(*_TYPE_COLUMNS)
        .where((TicketType.id == type_id) & (TicketType.event == event_id))
        .first()
    )
    if row is None:
        raise NotFound("This event has no such ticket type.", reason="ticket_type_unknown")
    return row


async def ticket_type(event_id: int, type_id: int) -> dict:
    return (await _type_figures([await _type(event_id, type_id)]))[0]


async def create_ticket_type(event_id: int, fields: dict, send: bool = True) -> dict:
    """A new type; an investor or start-up type issues those people their tickets at once."""
    await event_key(event_id)
    rows = await TicketType.insert(TicketType(event=event_id, **fields)).returning(TicketType.id)
    if fields["kind"] in ("investor", "startup"):
        await issue_role_tickets(event_id, send=send)
    return await ticket_type(event_id, rows[0]["id"])


async def update_ticket_type(event_id: int, type_id: int, fields: dict) -> dict:
    """A raised capacity's new places go to the waiting list at once, in the same transaction."""
    async with transaction():
        current = await _type(event_id, type_id)
        await lock_row(TicketType, type_id)
        merged = {**current, **fields}
        if (
            merged["sales_from"]
            and merged["sales_until"]
            and merged["sales_from"] >= merged["sales_until"]
        ):
            raise InvalidInput("sales_from must be before sales_until.", reason="invalid")
        if fields:
            await TicketType.update(fields).where(TicketType.id == type_id)
        if "capacity" in fields:
            await _promote_waitlist(event_id, merged)
    return await ticket_type(event_id, type_id)


# --------------------------------------------------------------------------------------------------
# Issuing tickets


class SoldOut(Conflict):
    default_reason = "sold_out"


async def _held(type_id: int) -> int:
    return await Ticket.count().where(
        (Ticket.ticket_type == type_id) & Ticket.status.is_in(list(COUNTED))
    )


async def _event(event_id: int) -> dict:
    return (
        await Event.select(Event.id, Event.name, Event.timezone).where(Event.id == event_id).first()
    )


async def _mail_ticket(event: dict, ticket: dict, type_name: str, png: bytes | None = None) -> None:
    await mail.enqueue(
        to=ticket["email"],
        template="ticket",
        context={
            "event": event,
            "name": ticket["name"],
            "organisation": ticket["organisation"],
            "type_name": type_name,
        },
        event_id=event["id"],
        attachments=(mail.Attachment("ticket.png", "image/png", png or qr_png(ticket["secret"])),),
    )


async def _insert_tickets(
    event_id: int, type_row: dict, people: list[dict], source: str, send: bool
) -> list[dict]:
    """Inside a transaction holding the type's lock, with room checked: insert, sign, mail. Each
    person's wait for the type ends with the ticket, however it was given."""
    if not people:
        return []
    rows: list[dict] = []
    # In slices: PostgreSQL takes at most 32,767 parameters a statement.
    for start in range(0, len(people), INSERT_SLICE):
        rows += await Ticket.insert(
            *(
                Ticket(
                    event=event_id,
                    ticket_type=type_row["id"],
                    user=person.get("user_id"),
                    name=person["name"],
                    email=person["email"],
                    organisation=person.get("organisation", ""),
                    source=source,
                )
                for person in people[start : start + INSERT_SLICE]
            )
        ).returning(Ticket.id)
    for start in range(0, len(people), INSERT_SLICE):
        await _close_waits(
            type_row["id"], [p["email"] for p in people[start : start + INSERT_SLICE]]
        )
    signer = await _signer(event_id)
    tickets = []
    for person, row in zip(people, rows, strict=True):
        secret = signer.sign(row["id"], type_row["id"] & 0xFFFF)
        await Ticket.update({Ticket.secret: secret}).where(Ticket.id == row["id"])
        tickets.append(
            {
                "id": row["id"],
                "name": person["name"],
                "email": person["email"],
                "organisation": person.get("organisation", ""),
                "secret": secret,
            }
        )
    if send:
        event = await _event(event_id)
        # QR codes rendered off the loop, a few milliseconds each.
        pngs = await asyncio.to_thread(lambda: [qr_png(t["secret"]) for t in tickets])
        for ticket, png in zip(tickets, pngs, strict=True):
            await _mail_ticket(event, ticket, type_row["name"], png)
    return tickets


async def issue_ticket(
    event_id: int,
    type_id: int,
    *,
    name: str,
    email: str,
    organisation: str = "",
    source: str = "organiser",
    send: bool = True,
) -> dict:
    """One ticket, if the type has room (else `SoldOut`); mailed to its holder."""
    async with transaction():
        type_row = await _type(event_id, type_id)
        await lock_row(TicketType, type_id)
        if await _held(type_id) >= type_row["capacity"]:
            raise SoldOut(f"{type_row['name']} is sold out.")
        person = {"name": name, "email": normalise_email(email), "organisation": organisation}
        [ticket] = await _insert_tickets(event_id, type_row, [person], source, send)
    return await ticket_by_id(event_id, ticket["id"])


async def register(
    event_id: int, type_id: int, *, name: str, email: str, organisation: str = ""
) -> dict:
    """Public registration: a ticket while the type has room, else a place on its waiting list."""
    type_row = await _type(event_id, type_id)
    if not type_row["public"]:
        raise Conflict("This ticket type is given by invitation only.", reason="not_public")
    if not _on_sale(type_row, now()):
        raise Conflict("This ticket type is not on sale now.", reason="not_on_sale")
    email = normalise_email(email)
    async with transaction():
        await lock_row(TicketType, type_id)
        if await Ticket.exists().where(
            (Ticket.ticket_type == type_id)
            & (Ticket.email == email)
            & (Ticket.status != "canceled")
        ):
            raise Conflict("You already have this ticket.", reason="already_registered")
        # Free places go to those already waiting first, so no newcomer jumps the queue (room
        # while people wait is what raising a capacity left before raises promoted them).
        promoted, room = await _promote_waitlist(event_id, type_row)
        mine = next((t for t in promoted if t["email"] == email), None)
        if mine is not None:  # they were waiting themselves
            return {"status": "registered", "ticket_id": mine["id"]}
        if room > 0:
            person = {"name": name, "email": email, "organisation": organisation}
            [ticket] = await _insert_tickets(event_id, type_row, [person], "public", True)
            return {"status": "registered", "ticket_id": ticket["id"]}
        # Asked, not left to the unique index: its error would undo the promotions above.
        waiting_already = await WaitlistEntry.exists().where(
            (WaitlistEntry.ticket_type == type_id)
            & (WaitlistEntry.email == email)
            & WaitlistEntry.ticket.is_null()
        )
        if not waiting_already:
            rows = await WaitlistEntry.insert(
                WaitlistEntry(
                    event=event_id,
                    ticket_type=type_id,
                    name=name,
                    email=email,
                    organisation=organisation,
                )
            ).returning(WaitlistEntry.id)
            position = await WaitlistEntry.count().where(
                (WaitlistEntry.ticket_type == type_id)
                & WaitlistEntry.ticket.is_null()
                & (WaitlistEntry.id <= rows[0]["id"])
            )
    if waiting_already:
        raise Conflict("You are already on this waiting list.", reason="already_waiting")
    return {"status": "waitlisted", "waitlist_position": position}


async def _promote_waitlist(event_id: int, type_row: dict) -> tuple[list[dict], int]:
    """Inside a transaction holding the type's lock: give its free places to the waiting list,
    first come first, each ticket mailed. Answers the tickets given and the places still free.

    Whoever already holds a live ticket of the type (given another way) is passed over and their
    wait closed: one ticket a person and type is the rule (`tickets_type_email_uq`), and a
    ticket of another type of the event is no reason to lose a place in this queue.
    """
    room = type_row["capacity"] - await _held(type_row["id"])
    if room <= 0:
        return [], 0
    await _close_waits(type_row["id"])
    waiting = (
        await WaitlistEntry.select()
        .where((WaitlistEntry.ticket_type == type_row["id"]) & WaitlistEntry.ticket.is_null())
        .order_by(WaitlistEntry.id)
        .limit(room)
    )
    tickets = await _insert_tickets(event_id, type_row, waiting, "waitlist", True)
    return tickets, room - len(tickets)


_HOLDER = (
    "FROM tickets WHERE tickets.ticket_type = ticket_waitlist.ticket_type"
    " AND lower(tickets.email) = lower(ticket_waitlist.email) AND tickets.status <> 'canceled'"
)
_CLOSE_WAITS = (
    f"UPDATE ticket_waitlist SET ticket = (SELECT tickets.id {_HOLDER})"
    f" WHERE ticket_type = {{}} AND ticket IS NULL AND EXISTS (SELECT 1 {_HOLDER})"
)


async def _close_waits(type_id: int, emails: list[str] | None = None) -> None:
    """End the waits for the type (of these people, else of anyone) of those who hold a live
    ticket of it: the entry's `ticket` becomes that ticket."""
    if emails is None:
        await WaitlistEntry.raw(_CLOSE_WAITS, type_id)
    else:
        placeholders = ", ".join(["{}"] * len(emails))
        await WaitlistEntry.raw(
            f"{_CLOSE_WAITS} AND lower(email) IN ({placeholders})", type_id, *emails
        )


def _parse_csv(text: str, types: list[dict]) -> tuple[list[dict], list[dict]]:
    """Rows to import and the errors, each error naming its line (the header is line 1)."""
    by_name = {row["name"].casefold(): row for row in types}
    by_id = {str(row["id"]): row for row in types}
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = {(name or "").strip().lower() for name in reader.fieldnames or []}
    missing = {"name", "email", "ticket_type"} - header
    if missing:
        return [], [{"key": "line 1", "message": f"missing columns: {', '.join(sorted(missing))}"}]
    email_check = TypeAdapter(EmailStr)
    rows, errors, seen = [], [], set()
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        problems = []
        name, organisation = row.get("name", ""), row.get("organisation", "")
        if not name or len(name) > 200:
            problems.append("name must be 1 to 200 characters")
        if len(organisation) > 200:
            problems.append("organisation must be at most 200 characters")
        email = normalise_email(row.get("email", ""))
        try:
            email_check.validate_python(email)
        except ValidationError:
            problems.append(f"email {email!r} is not an email address")
        wanted = row.get("ticket_type", "")
        type_row = by_name.get(wanted.casefold()) or by_id.get(wanted)
        if type_row is None:
            problems.append(f"no ticket type {wanted!r}")
        elif (type_row["id"], email) in seen:
            problems.append("the same person and type appear earlier in the file")
        if problems:
            errors.append({"key": f"line {line}", "message": "; ".join(problems)})
            continue
        seen.add((type_row["id"], email))
        rows.append(
            {
                "line": line,
                "name": name,
                "email": email,
                "organisation": organisation,
                "type": type_row,
            }
        )
        if len(rows) > IMPORT_MAX_ROWS:
            errors.append({"key": f"line {line}", "message": f"at most {IMPORT_MAX_ROWS} rows"})
            break
    return rows, errors


async def import_csv(event_id: int, text: str, send: bool = True) -> int:
    """Every row becomes a ticket, or none does: per-line errors in one refusal."""
    types = await TicketType.select(*_TYPE_COLUMNS).where(TicketType.event == event_id)
    try:
        rows, errors = _parse_csv(text, types)
    except csv.Error as error:  # a NUL byte, a field beyond the csv module's limit
        raise InvalidInput(
            f"Nothing was imported: the file is not readable CSV ({error}).",
            reason="import_invalid",
            errors=[{"key": "file", "message": str(error)}],
        ) from None
    if not errors and not rows:
        errors = [{"key": "line 2", "message": "the file has no rows"}]
    async with transaction():
        by_type: dict[int, list[dict]] = {}
        for row in rows:
            by_type.setdefault(row["type"]["id"], []).append(row)
        for type_id, group in by_type.items():
            await lock_row(TicketType, type_id)
            existing = {
                r["email"]
                for r in await Ticket.select(Ticket.email).where(
                    (Ticket.ticket_type == type_id)
                    & Ticket.email.is_in([row["email"] for row in group])
                    & (Ticket.status != "canceled")
                )
            }
            for row in group:
                if row["email"] in existing:
                    errors.append(
                        {"key": f"line {row['line']}", "message": "already has this ticket"}
                    )
            type_row = group[0]["type"]
            room = type_row["capacity"] - await _held(type_id)
            if len(group) > room:
                errors.append(
                    {
                        "key": f"ticket_type {type_row['name']}",
                        "message": f"{room} places left, the file has {len(group)}",
                    }
                )
        if errors:
            errors.sort(key=lambda e: (not e["key"].startswith("line"), len(e["key"]), e["key"]))
            raise InvalidInput(
                f"Nothing was imported: {len(errors)} problems.",
                reason="import_invalid",
                errors=errors,
            )
        for group in by_type.values():
            await _insert_tickets(event_id, group[0]["type"], group, "import", send)
    return len(rows)


async def issue_role_tickets(event_id: int, send: bool = True) -> dict:
    """Tickets for the event's investors and start-up teams who have none yet (idempotent).

    Each gets the event's first ticket type of their kind, while it has room.
    """
    issued, short, missing = 0, 0, []
    for role, kind in (("investor", "investor"), ("startup", "startup")):
        people = await people_with_role(event_id, role)
        if not people:
            continue
        type_row = (
            await TicketType.select(*_TYPE_COLUMNS)
            .where((TicketType.event == event_id) & (TicketType.kind == kind))
            .order_by(TicketType.id)
            .first()
        )
        if type_row is None:
            missing.append(kind)
            continue
        async with transaction():
            await lock_row(TicketType, type_row["id"])
            holders = {
                row["user"]
                for row in await Ticket.select(Ticket.user).where(
                    (Ticket.ticket_type == type_row["id"]) & Ticket.user.is_not_null()
                )
            }
            emails = {
                row["email"]
                for row in await Ticket.select(Ticket.email).where(
                    (Ticket.ticket_type == type_row["id"]) & (Ticket.status != "canceled")
                )
            }
            wanting = [
                p
                for p in people
                if p["user_id"] not in holders and normalise_email(p["email"]) not in emails
            ]
            room = max(0, type_row["capacity"] - await _held(type_row["id"]))
            given = [
                {
                    **p,
                    "email": normalise_email(p["email"]),
                    "name": p["name"] or p["email"],
                    "organisation": p["organisation"] or "",
                }
                for p in wanting[:room]
            ]
            await _insert_tickets(event_id, type_row, given, "auto", send)
            issued += len(given)
            short += len(wanting) - len(given)
    return {"issued": issued, "short": short, "missing_types": missing}


# --------------------------------------------------------------------------------------------------
# Tickets: reading, cancel, block, re-issue


_TICKET_COLUMNS = (
    Ticket.id,
    Ticket.ticket_type,
    Ticket.ticket_type.name.as_alias("type_name"),
    Ticket.ticket_type.kind.as_alias("kind"),
    Ticket.name,
    Ticket.email,
    Ticket.organisation,
    Ticket.status,
    Ticket.source,
    Ticket.secret,
    Ticket.created_at,
)


async def tickets_of(
    event_id: int, page: PageRequest, status: str | None = None, type_id: int | None = None
) -> tuple[list[dict], int]:
    """By name; `q` searches names, emails and organisations (door staff find people by it)."""
    condition = Ticket.event == event_id
    if status:
        condition &= Ticket.status == status
    if type_id:
        condition &= Ticket.ticket_type == type_id
    if page.q:
        condition &= page.matches(Ticket.name, Ticket.email, Ticket.organisation)
    rows = await page.apply(
        Ticket.select(*_TICKET_COLUMNS).where(condition).order_by(Ticket.name).order_by(Ticket.id)
    )
    return rows, await Ticket.count().where(condition)


async def ticket_by_id(event_id: int, ticket_id: int) -> dict:
    row = (
        await Ticket.select(*_TICKET_COLUMNS)
        .where((Ticket.id == ticket_id) & (Ticket.event == event_id))
        .first()
    )
    if row is None:
        raise NotFound("This event has no such ticket.", reason="not_found")
    return row


async def _revoke(event_id: int, ticket_id: int, secret: str | None) -> None:
    if secret:
        await RevokedSecret.raw(
            "INSERT INTO revoked_secrets (event, ticket, digest) VALUES ({}, {}, {})"
            " ON CONFLICT DO NOTHING",
            event_id,
            ticket_id,
            revocation_digest(secret),
        )


async def set_status(event_id: int, ticket_id: int, status: str) -> dict:
    """Cancel (frees the place for the waiting list), block, or unblock (back to valid)."""
    async with transaction():
        ticket = await ticket_by_id(event_id, ticket_id)
        if ticket["status"] == "canceled":
            raise Conflict("This ticket is canceled.", reason="ticket_canceled")
        if status == "valid" and ticket["status"] != "blocked":
            raise Conflict("Only a blocked ticket can be unblocked.", reason="not_blocked")
        await lock_row(TicketType, ticket["ticket_type"])
        await Ticket.update({Ticket.status: status}).where(Ticket.id == ticket_id)
        if status == "valid":
            await RevokedSecret.delete().where(
                (RevokedSecret.event == event_id)
                & (RevokedSecret.digest == revocation_digest(ticket["secret"]))
            )
        else:
            await _revoke(event_id, ticket_id, ticket["secret"])
        if status == "canceled":
            await _promote_waitlist(event_id, await _type(event_id, ticket["ticket_type"]))
    return await ticket_by_id(event_id, ticket_id)


async def reissue(event_id: int, ticket_id: int) -> dict:
    """A new secret for the ticket, mailed again; the old one goes on the revocation list."""
    async with transaction():
        ticket = await ticket_by_id(event_id, ticket_id)
        if ticket["status"] == "canceled":
            raise Conflict("This ticket is canceled.", reason="ticket_canceled")
        await _revoke(event_id, ticket_id, ticket["secret"])
        secret = (await _signer(event_id)).sign(ticket_id, ticket["ticket_type"] & 0xFFFF)
        await Ticket.update({Ticket.secret: secret}).where(Ticket.id == ticket_id)
        if ticket["status"] == "blocked":  # offline scanners must refuse the new one too
            await _revoke(event_id, ticket_id, secret)
        await _mail_ticket(
            await _event(event_id), {**ticket, "secret": secret}, ticket["type_name"]
        )
    return await ticket_by_id(event_id, ticket_id)


async def resend(event_id: int, ticket_id: int) -> dict:
    ticket = await ticket_by_id(event_id, ticket_id)
    if ticket["status"] == "canceled":
        raise Conflict("This ticket is canceled.", reason="ticket_canceled")
    async with transaction():
        await _mail_ticket(await _event(event_id), ticket, ticket["type_name"])
    return ticket


async def revocations(event_id: int, page: PageRequest) -> tuple[list[dict], int]:
    """Digests of secrets that admit no one (re-issued, canceled, blocked), for offline scanners."""
    condition = RevokedSecret.event == event_id
    rows = await page.apply(
        RevokedSecret.select(RevokedSecret.digest).where(condition).order_by(RevokedSecret.id)
    )
    return rows, await RevokedSecret.count().where(condition)


# --------------------------------------------------------------------------------------------------
# Check-in lists


def _list_out(row: dict) -> dict:
    ids = row.pop("type_ids", "")
    row["ticket_types"] = [int(part) for part in ids.split(",") if part]
    return row


async def _check_types(event_id: int, type_ids: list[int]) -> str:
    if type_ids:
        found = await TicketType.count().where(
            (TicketType.event == event_id) & TicketType.id.is_in(type_ids)
        )
        if found != len(set(type_ids)):
            raise NotFound("This event has no such ticket type.", reason="ticket_type_unknown")
    return ",".join(str(i) for i in sorted(set(type_ids)))


async def create_list(event_id: int, fields: dict) -> dict:
    fields = dict(fields)
    fields["type_ids"] = await _check_types(event_id, fields.pop("ticket_types"))
    if (
        fields["valid_from"]
        and fields["valid_until"]
        and fields["valid_from"] >= fields["valid_until"]
    ):
        raise InvalidInput("valid_from must be before valid_until.", reason="invalid")
    rows = await CheckinList.insert(CheckinList(event=event_id, **fields)).returning(
        *CheckinList.all_columns()
    )
    row = rows[0]
    row.pop("event", None)
    return _list_out(row)


async def lists_of(event_id: int, page: PageRequest) -> tuple[list[dict], int]:
    condition = CheckinList.event == event_id
    if page.q:
        condition &= page.matches(CheckinList.name)
    rows = await page.apply(
        CheckinList.select(*CheckinList.all_columns(exclude=[CheckinList.event]))
        .where(condition)
        .order_by(CheckinList.id)
    )
    return [_list_out(row) for row in rows], await CheckinList.count().where(condition)


# --------------------------------------------------------------------------------------------------
# Check-in: the hot path (see docs/architecture.md, "Check-in")

_SCAN_COLUMNS = lambda: (  # noqa: E731 - shared by the locked and the plain query
    Ticket.id,
    Ticket.status,
    Ticket.ticket_type,
    Ticket.name,
    Ticket.organisation,
    Ticket.ticket_type.name.as_alias("type_name"),
    Ticket.ticket_type.kind.as_alias("kind"),
)
# What a scan writes, in this order (`_row`); undone_at starts empty.
_CHECKIN_COLUMNS = (
    "event",
    "checkin_list",
    "ticket",
    "kind",
    "nonce",
    "successful",
    "reason",
    "scanned_at",
    "created_at",
    "gate",
    "staff",
    "offline",
    "conflict",
    "answer",
)
_TICKET_BY_SECRET_LOCKED = HotQuery(
    lambda: (
        Ticket.select(*_SCAN_COLUMNS())
        .where((Ticket.event == Param("event_id")) & (Ticket.secret == Param("secret")))
        .limit(1)
        .lock_rows(of=(Ticket,))
    )
)
_TICKET_BY_ID = HotQuery(
    lambda: Ticket.select(*_SCAN_COLUMNS()).where(Ticket.id == Param("ticket_id")).limit(1)
)
_REVOKED = HotQuery(
    lambda: (
        RevokedSecret.select(RevokedSecret.ticket)
        .where(
            (RevokedSecret.event == Param("event_id")) & (RevokedSecret.digest == Param("digest"))
        )
        .limit(1)
    )
)
_LIST = HotQuery(
    lambda: (
        CheckinList.select(
            CheckinList.id,
            CheckinList.name,
            CheckinList.type_ids,
            CheckinList.valid_from,
            CheckinList.valid_until,
            CheckinList.multi_entry,
            CheckinList.allow_exit,
        )
        .where((CheckinList.id == Param("list_id")) & (CheckinList.event == Param("event_id")))
        .limit(1)
    )
)
_LAST = HotQuery(
    lambda: (
        Checkin.select(
            Checkin.kind,
            Checkin.scanned_at,
            Checkin.gate,
            Checkin.staff.name.as_alias("staff_name"),
            Checkin.staff.email.as_alias("staff_email"),
        )
        .where(
            (Checkin.checkin_list == Param("list_id"))
            & (Checkin.ticket == Param("ticket_id"))
            & (Checkin.successful == Param("yes"))
            & Checkin.undone_at.is_null()
        )
        .order_by(Checkin.scanned_at, Checkin.id, ascending=False)
        .limit(1)
    )
)
_INSERT = HotQuery(
    lambda: Checkin.insert(
        Checkin(**{column: Param(column) for column in _CHECKIN_COLUMNS})
    ).returning(Checkin.id)
)
_BY_NONCE = HotQuery(
    lambda: (
        Checkin.select(Checkin.id, Checkin.answer)
        .where((Checkin.event == Param("event_id")) & (Checkin.nonce == Param("nonce")))
        .limit(1)
    )
)

# SQLite, inside a grouped write (`db.group_commit`), which holds the database's write lock: the
# ticket and its last admission on the list in one statement, then the scan's row. Written as
# SQL: piccolo renders no correlated subquery.
_SQLITE_SCAN = """
SELECT t.id AS id, t.status AS status, t.ticket_type AS ticket_type, t.name AS name,
       t.organisation AS organisation, tt.name AS type_name, tt.kind AS kind,
       c.kind AS last_kind, c.scanned_at AS last_scanned_at, c.gate AS last_gate,
       u.name AS last_staff_name, u.email AS last_staff_email
FROM tickets t
JOIN ticket_types tt ON tt.id = t.ticket_type
LEFT JOIN checkins c ON c.id = (
    SELECT c.id FROM checkins c WHERE c.checkin_list = ?1 AND c.ticket = t.id
    AND c.successful AND c.undone_at IS NULL ORDER BY c.scanned_at DESC, c.id DESC LIMIT 1
)
LEFT JOIN users u ON u.id = c.staff
WHERE t.event = ?2 AND t.secret = ?3
LIMIT 1
"""
# Written as SQL without piccolo's RETURNING: the new row's id is the cursor's `lastrowid`.
_SQLITE_INSERT = (
    f"INSERT INTO checkins ({', '.join(_CHECKIN_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_CHECKIN_COLUMNS))})"
)


# Lists change only by being created: a scan may use what was read up to a second ago.
_LIST_LIFETIME_S = 1.0
_lists: dict[tuple[int, int], tuple[Any, float, dict]] = {}


async def _checkin_list(event_id: int, list_id: int) -> dict | None:
    engine, moment = active_engine(), time.monotonic()
    cached = _lists.get((event_id, list_id))
    if cached is not None and cached[0] is engine and moment < cached[1]:
        return cached[2]
    row = await _LIST.first(list_id=list_id, event_id=event_id)
    if row is not None:
        if len(_lists) > 1000:
            _lists.clear()
        _lists[(event_id, list_id)] = (engine, moment + _LIST_LIFETIME_S, row)
    return row


DETAILS = {
    "already_redeemed": "This ticket has already been used here.",
    "revoked": "This ticket was replaced by a newer one.",
    "blocked": "This ticket is blocked.",
    "canceled": "This ticket was canceled.",
    "invalid_time": "This list does not admit anyone at this time.",
    "product": "This ticket type is not valid on this list.",
    "rules": "This list does not allow this scan (exit not scanned here, or not inside).",
    "invalid": "This is not a ticket of this event.",
}
INVALID = {"status": "error", "reason": "invalid", "detail": DETAILS["invalid"]}


def _attendee(ticket: dict) -> dict:
    return {
        "ticket_id": ticket["id"],
        "name": ticket["name"],
        "organisation": ticket["organisation"],
        "ticket_type": ticket["type_name"],
        "kind": ticket["kind"],
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


_NEEDS_LAST = "needs_last"


def _first_refusal(ticket: dict, checkin_list: dict, kind: str, moment: datetime) -> str | None:
    """Why this scan may not pass, from the ticket and the list alone; `_NEEDS_LAST` when the
    answer turns on the ticket's last admission on the list (single entry, exits): the last by scan
    time, so an offline scan uploaded late does not become the ticket's state."""
    if ticket["status"] == "canceled":
        return "canceled"
    if ticket["status"] == "blocked":
        return "blocked"
    types = checkin_list["type_ids"]
    if types and str(ticket["ticket_type"]) not in types.split(","):
        return "product"
    start, end = checkin_list["valid_from"], checkin_list["valid_until"]
    if (start is not None and moment < start) or (end is not None and moment > end):
        return "invalid_time"
    if kind == "exit" and not checkin_list["allow_exit"]:
        return "rules"
    if kind == "entry" and checkin_list["multi_entry"]:
        return None
    return _NEEDS_LAST


def _last_refusal(kind: str, last: dict | None) -> tuple[str | None, dict | None]:
    """Given the last admission (kind, scanned_at, gate, staff_name, staff_email) or None: the
    reason, and the earlier check-in for already_redeemed."""
    inside = last is not None and last["kind"] == "entry"
    if kind == "exit":
        return (None, None) if inside else ("rules", None)
    if inside:
        assert last is not None
        earlier = {
            "scanned_at": _iso(last["scanned_at"]),
            "gate": last["gate"],
            "staff": last["staff_name"] or last["staff_email"],
        }
        return "already_redeemed", earlier
    return None, None


def _sqlite_last(row: sqlite3.Row) -> dict | None:
    """The last admission from `_SQLITE_SCAN`'s plain row (its time as SQLite stores it)."""
    if row["last_kind"] is None:
        return None
    return {
        "kind": row["last_kind"],
        "scanned_at": datetime.fromisoformat(row["last_scanned_at"]),
        "gate": row["last_gate"],
        "staff_name": row["last_staff_name"],
        "staff_email": row["last_staff_email"],
    }


def _ok(scan: _Scan, ticket: dict, reason: str | None) -> dict:
    return {
        "status": "ok",
        "attendee": _attendee(ticket),
        "type": scan.kind,
        "scanned_at": _iso(scan.moment),
        "list": scan.checkin_list["name"],
        "conflict": reason is not None,
        "conflict_reason": reason,
    }


@dataclass(frozen=True, slots=True)
class _Scan:
    """One scan as the door sent it, with the list it was made on and when it happened."""

    event_id: int
    checkin_list: dict
    secret: str
    kind: str
    nonce: str
    staff_id: int | None
    moment: datetime
    offline: bool
    gate: str

    @property
    def list_id(self) -> int:
        return self.checkin_list["id"]


async def check_in(
    event_id: int,
    *,
    secret: str,
    list_id: int,
    kind: str,
    nonce: str,
    staff_id: int | None,
    scanned_at: datetime | None = None,
    offline: bool = False,
    gate: str = "",
) -> tuple[int, dict]:
    """One scan: (HTTP status, answer). 201 ok, 400 a refusal with its reason, 404 invalid.

    Offline uploads are recorded as admitted whatever they meet, flagged `conflict` with the
    reason the server would have given. A nonce seen before returns the first answer unchanged.
    """
    checkin_list = await _checkin_list(event_id, list_id)
    if checkin_list is None:
        raise NotFound("This event has no such check-in list.", reason="list_unknown")
    if claimed_ticket_id(secret) is None:  # not even shaped like a ticket's secret
        return 404, INVALID
    scan = _Scan(
        event_id, checkin_list, secret, kind, nonce, staff_id, scanned_at or now(), offline, gate
    )
    if _is_sqlite():
        # Scans arriving together share one COMMIT, each acknowledged once it is committed.
        return await group_commit(partial(_check_in_sqlite, scan=scan))
    # Scans arriving together share their round trips and their COMMIT.
    return await _postgres_scans.submit(scan)


def _check_in_sqlite(connection: InlineConnection, scan: _Scan) -> tuple[int, dict]:
    """The scan on SQLite, inside a write transaction (so holding the write lock): the ticket
    and its last admission on the list in one statement, then the scan's row. Rows are plain
    (`group_commit`): values as SQLite stores them."""
    rows = connection.run(_SQLITE_SCAN, (scan.list_id, scan.event_id, scan.secret)).fetchall()
    if rows:
        ticket = rows[0]
        reason = _first_refusal(ticket, scan.checkin_list, scan.kind, scan.moment)
        earlier = None
        if reason == _NEEDS_LAST:
            reason, earlier = _last_refusal(scan.kind, _sqlite_last(ticket))
    else:
        revoked = _REVOKED.first_on(
            connection, event_id=scan.event_id, digest=revocation_digest(scan.secret)
        )
        if revoked is None:
            return 404, INVALID
        ticket = _TICKET_BY_ID.first_on(connection, ticket_id=revoked["ticket"])
        reason, earlier = "revoked", None
    admitted, answer = _answer(scan, ticket, reason, earlier)
    row = _row(scan, ticket, admitted, reason, answer)
    try:
        written = connection.run(_SQLITE_INSERT, tuple(row.values()))
    except sqlite3.IntegrityError as error:
        conflict = integrity_conflict(error)
        if conflict.reason != "nonce_used":
            raise conflict from error
        return _replay(_BY_NONCE.first_on(connection, event_id=scan.event_id, nonce=scan.nonce))
    if admitted:
        answer["checkin_id"] = written.lastrowid
        return 201, answer
    return 400, answer


async def _check_in_postgres_one(scan: _Scan) -> tuple[int, dict]:
    """One scan on PostgreSQL, on its own (a batch that failed runs its scans this way)."""
    try:
        return await _check_in_postgres(scan)
    except IntegrityConflict as error:
        if error.reason != "nonce_used":
            raise
        return _replay(await _BY_NONCE.first(event_id=scan.event_id, nonce=scan.nonce))


async def _check_in_postgres(scan: _Scan) -> tuple[int, dict]:
    """The scan on PostgreSQL, alone: the ticket's row locked first, so that concurrent scans of
    one ticket queue, then its last admission (a statement after the lock sees every scan
    committed before it), then the scan's row."""
    async with transaction():
        ticket = await _TICKET_BY_SECRET_LOCKED.first(event_id=scan.event_id, secret=scan.secret)
        earlier = None
        if ticket is None:
            revoked = await _REVOKED.first(
                event_id=scan.event_id, digest=revocation_digest(scan.secret)
            )
            if revoked is None:
                return 404, INVALID
            ticket = await _TICKET_BY_ID.first(ticket_id=revoked["ticket"])
            reason = "revoked"
        else:
            reason = _first_refusal(ticket, scan.checkin_list, scan.kind, scan.moment)
        if reason == _NEEDS_LAST:
            last = await _LAST.first(list_id=scan.list_id, ticket_id=ticket["id"], yes=True)
            reason, earlier = _last_refusal(scan.kind, last)
        admitted, answer = _answer(scan, ticket, reason, earlier)
        checkin_id = await _INSERT.first(**_row(scan, ticket, admitted, reason, answer))
    if admitted:
        answer["checkin_id"] = checkin_id["id"]  # type: ignore[index]
        return 201, answer
    return 400, answer


# PostgreSQL, a batch of scans: five round trips whatever its size (BEGIN, the tickets locked in
# id order, their last admissions when a rule needs them, one insert of every row, COMMIT; one
# more for the revoked secrets when a code is no ticket, one for the staff's names when a ticket
# comes twice), against five for each scan alone. Tickets are locked NOWAIT: a ticket locked
# elsewhere (another process's batch, a re-issue) fails the batch at once instead of holding up
# every scan behind it, and two batches never wait for each other's tickets (no deadlock).
_PG_TICKETS_LOCKED = """
SELECT t.event, t.id, t.secret, t.status, t.ticket_type, t.name, t.organisation,
       tt.name AS type_name, tt.kind
FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type
JOIN unnest($1::integer[], $2::text[]) AS wanted(event, secret)
  ON t.event = wanted.event AND t.secret = wanted.secret
ORDER BY t.id
FOR UPDATE OF t NOWAIT
"""
_PG_REVOKED_TICKETS = """
SELECT r.digest, t.id, t.status, t.ticket_type, t.name, t.organisation,
       tt.name AS type_name, tt.kind
FROM revoked_secrets r
JOIN tickets t ON t.id = r.ticket JOIN ticket_types tt ON tt.id = t.ticket_type
WHERE r.event = $1 AND r.digest = ANY($2::text[])
FOR UPDATE OF t NOWAIT
"""
# Only after a retry failed the batch's insert; planned afresh each time (`fresh_plan`): a kept
# plan, made while `checkins` was small, read the whole table.
_PG_USED_NONCES = """
SELECT c.event, c.nonce, c.id, c.answer FROM checkins c
WHERE (c.event, c.nonce) IN (SELECT * FROM unnest($1::integer[], $2::text[]))
"""
# After the locks (so that it sees every scan committed before them): the last admission of
# each (list, ticket). One index lookup per pair, whatever the table's statistics: the plan a
# pooled connection caches is made while `checkins` is still small and never analysed (the
# doors have just opened), and a join there seq-scanned the whole table for every batch.
_PG_LAST = """
SELECT wanted.list_id AS checkin_list, wanted.ticket_id AS ticket, last.kind, last.scanned_at,
       last.gate, u.name AS staff_name, u.email AS staff_email
FROM unnest($1::integer[], $2::integer[]) AS wanted(list_id, ticket_id)
CROSS JOIN LATERAL (
    SELECT c.kind, c.scanned_at, c.gate, c.staff FROM checkins c
    WHERE c.checkin_list = wanted.list_id AND c.ticket = wanted.ticket_id
      AND c.successful AND c.undone_at IS NULL
    ORDER BY c.scanned_at DESC, c.id DESC LIMIT 1
) AS last
LEFT JOIN users u ON u.id = last.staff
"""
_PG_STAFF = "SELECT id, name, email FROM users WHERE id = ANY($1::integer[])"
_PG_COLUMN_TYPES = (
    "integer",
    "integer",
    "integer",
    "text",
    "text",
    "boolean",
    "text",
    "timestamptz",
    "timestamptz",
    "text",
    "integer",
    "boolean",
    "boolean",
    "text",
)
_PG_INSERT_ALL = (
    f"INSERT INTO checkins ({', '.join(_CHECKIN_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"${n}::{kind}[]" for n, kind in enumerate(_PG_COLUMN_TYPES, start=1))
    + ") RETURNING id, event, nonce"
)


async def _check_in_postgres_batch(scans: list[_Scan]) -> list[tuple[int, dict] | Exception]:
    """Scans that arrived together, decided in order as if one after the other, in one
    transaction. A retried nonce fails the insert: the batch is decided again, knowing the
    nonces used before. A batch that one scan failed otherwise (its ticket locked elsewhere)
    leaves no trace, and its scans are run one by one (`_check_in_postgres_one`, by the
    batcher, each keeping its ticket's and nonce's keys until it is answered). Any other
    failure (the server went away, a timeout) is every scan's answer, not retried scan by scan."""
    for replays in (False, True):
        try:
            async with transaction():
                return await _decide_and_write(scans, replays)
        except IntegrityConflict as error:
            if error.reason != "nonce_used":
                break
        except _ONE_SCANS_FAULT:
            break
    return [ALONE] * len(scans)


# What one scan of a batch can cause, so that its scans are run one by one instead: a ticket
# locked elsewhere (NOWAIT), a deadlock with another process, text the database refused.
_ONE_SCANS_FAULT = (
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.DeadlockDetectedError,
    InvalidInput,
)


def _scan_keys(scan: _Scan) -> tuple[tuple, tuple]:
    """What two batches in flight must not share: the ticket (by the id its secret claims, so
    that its old and new secrets go together; the secret itself when it claims none) and the
    nonce."""
    ticket_id = claimed_ticket_id(scan.secret)
    ticket = (
        ("ticket", scan.event_id, ticket_id)
        if ticket_id is not None
        else ("secret", scan.event_id, scan.secret)
    )
    return ticket, ("nonce", scan.event_id, scan.nonce)


async def _decide_and_write(
    scans: list[_Scan], replays: bool
) -> list[tuple[int, dict] | Exception]:
    """The batch in the open transaction; `replays`: look up the nonces used before (a retry's
    first answer), else leave a retry to the unique index."""
    events: dict[int, list[_Scan]] = {}
    for scan in scans:
        events.setdefault(scan.event_id, []).append(scan)
    wanted = list({(scan.event_id, scan.secret) for scan in scans})
    tickets: dict[tuple[int, str], dict] = {
        (row["event"], row["secret"]): row
        for row in await fetch_in_transaction(
            _PG_TICKETS_LOCKED, [pair[0] for pair in wanted], [pair[1] for pair in wanted]
        )
    }
    revoked: dict[tuple[int, str], dict] = {}
    for event_id, of_event in events.items():
        secrets = list({scan.secret for scan in of_event})
        digests = {
            revocation_digest(secret): secret
            for secret in secrets
            if (event_id, secret) not in tickets
        }
        if digests:
            for row in await fetch_in_transaction(_PG_REVOKED_TICKETS, event_id, list(digests)):
                revoked[(event_id, digests[row["digest"]])] = row
    pairs = list(
        {
            (scan.list_id, row["id"])
            for scan in scans
            if (row := tickets.get((scan.event_id, scan.secret))) is not None
            and _first_refusal(row, scan.checkin_list, scan.kind, scan.moment) == _NEEDS_LAST
        }
    )
    used: dict[tuple[int, str], dict] = {}
    if replays:
        sent = list({(scan.event_id, scan.nonce) for scan in scans})
        for row in await fetch_in_transaction(
            _PG_USED_NONCES, [pair[0] for pair in sent], [pair[1] for pair in sent], fresh_plan=True
        ):
            used[(row["event"], row["nonce"])] = row
    last: dict[tuple[int, int], dict] = {}
    if pairs:
        for row in await fetch_in_transaction(
            _PG_LAST, [pair[0] for pair in pairs], [pair[1] for pair in pairs]
        ):
            last[(row["checkin_list"], row["ticket"])] = row
    staff = await _staff_of(scans, tickets, revoked)
    # Decided in order, each seeing the admissions decided before it in the batch. Each scan gets
    # an answer, or the index of the row whose stored answer it gets once the rows have ids.
    answered: list[tuple[int, dict] | int] = []
    rows: list[dict] = []
    row_of_nonce: dict[tuple[int, str], int] = {}
    for scan in scans:
        ticket, earlier = tickets.get((scan.event_id, scan.secret)), None
        found = ticket if ticket is not None else revoked.get((scan.event_id, scan.secret))
        if found is None:  # no ticket of the event: 404 whatever its nonce, as on its own
            answered.append((404, INVALID))
            continue
        key = (scan.event_id, scan.nonce)
        if key in used:
            answered.append(_replay(used[key]))
            continue
        if key in row_of_nonce:  # a nonce sent twice in the batch: the first answer again
            answered.append(row_of_nonce[key])
            continue
        if ticket is not None:
            reason = _first_refusal(ticket, scan.checkin_list, scan.kind, scan.moment)
            if reason == _NEEDS_LAST:
                reason, earlier = _last_refusal(scan.kind, last.get((scan.list_id, ticket["id"])))
        else:
            ticket, reason = found, "revoked"
        admitted, answer = _answer(scan, ticket, reason, earlier)
        if admitted:
            before = last.get((scan.list_id, ticket["id"]))
            if before is None or scan.moment >= before["scanned_at"]:
                label = staff.get(scan.staff_id) if scan.staff_id is not None else None
                last[(scan.list_id, ticket["id"])] = {
                    "kind": scan.kind,
                    "scanned_at": scan.moment,
                    "gate": scan.gate,
                    "staff_name": label,
                    "staff_email": None,
                }
        row_of_nonce[key] = len(rows)
        answered.append(len(rows))
        rows.append(_row(scan, ticket, admitted, reason, answer))
    ids: dict[tuple[int, str], int] = {}
    if rows:
        columns = [[row[column] for row in rows] for column in _CHECKIN_COLUMNS]
        for row in await fetch_in_transaction(_PG_INSERT_ALL, *columns):
            ids[(row["event"], row["nonce"])] = row["id"]
    # A row's answer as a retry of its nonce would get it: the same as a single scan's.
    return [
        _replay({"answer": rows[at]["answer"], "id": ids[(rows[at]["event"], rows[at]["nonce"])]})
        if isinstance(at, int)
        else at
        for at in answered
    ]


async def _staff_of(
    scans: list[_Scan], tickets: dict[tuple[int, str], dict], revoked: dict[tuple[int, str], dict]
) -> dict[int, str]:
    """Who scanned, by name (else email), when a ticket is scanned twice in one batch (by its
    secret or a revoked one): the second answer names the first's staff."""
    seen: set[tuple[int, int]] = set()
    repeated = False
    for scan in scans:
        key = (scan.event_id, scan.secret)
        ticket = tickets[key] if key in tickets else revoked.get(key)
        if ticket is not None:
            pair = (scan.list_id, ticket["id"])
            repeated = repeated or pair in seen
            seen.add(pair)
    ids = list({scan.staff_id for scan in scans if scan.staff_id is not None})
    if not (repeated and ids):
        return {}
    rows = await fetch_in_transaction(_PG_STAFF, ids)
    return {row["id"]: row["name"] or row["email"] for row in rows}


_postgres_scans: Batcher[_Scan, tuple[int, dict]] = Batcher(
    _check_in_postgres_batch, lanes=2, keys=_scan_keys, alone=_check_in_postgres_one
)


def _answer(
    scan: _Scan, ticket: dict, reason: str | None, earlier: dict | None
) -> tuple[bool, dict]:
    """Admitted or not, and the answer (without the check-in's id, known once written)."""
    if reason is None or scan.offline:
        return True, _ok(scan, ticket, reason)
    return False, {
        "status": "error",
        "reason": reason,
        "detail": DETAILS[reason],
        "attendee": _attendee(ticket),
        "earlier": earlier,
    }


def _row(scan: _Scan, ticket: dict, admitted: bool, reason: str | None, answer: dict) -> dict:
    """The scan's row in `checkins` (`_CHECKIN_COLUMNS`, in order), with its answer kept for a
    retried nonce."""
    return {
        "event": scan.event_id,
        "checkin_list": scan.list_id,
        "ticket": ticket["id"],
        "kind": scan.kind,
        "nonce": scan.nonce,
        "successful": admitted,
        "reason": reason or "",
        "scanned_at": scan.moment,
        "created_at": now(),
        "gate": scan.gate,
        "staff": scan.staff_id,
        "offline": scan.offline,
        "conflict": admitted and reason is not None,
        "answer": _as_json(answer),
    }


def _as_json(answer: dict) -> str:
    """The answer as stored for a retried nonce (msgspec: a tenth of the json module's time)."""
    return msgspec.json.encode(answer).decode()


def _replay(row: dict | None) -> tuple[int, dict]:
    assert row is not None  # the unique index refused because it exists
    answer = msgspec.json.decode(row["answer"])
    if answer["status"] == "ok":
        return 201, {**answer, "checkin_id": row["id"]}
    return 400, answer


async def undo_checkin(event_id: int, checkin_id: int) -> dict:
    """An organiser takes back an admission (a wrong scan): the ticket may enter again."""
    async with transaction():
        row = (
            await Checkin.select(Checkin.id, Checkin.successful, Checkin.undone_at)
            .where((Checkin.id == checkin_id) & (Checkin.event == event_id))
            .first()
        )
        if row is None:
            raise NotFound("This event has no such check-in.", reason="not_found")
        if not row["successful"] or row["undone_at"] is not None:
            raise Conflict("Only an admission not yet undone can be undone.", reason="not_undoable")
        await Checkin.update({Checkin.undone_at: now()}).where(Checkin.id == checkin_id)
    return (await checkins_of(event_id, PageRequest(limit=1), checkin_id=checkin_id))[0][0]


async def checkins_of(
    event_id: int,
    page: PageRequest,
    list_id: int | None = None,
    conflicts_only: bool = False,
    checkin_id: int | None = None,
) -> tuple[list[dict], int]:
    """Newest first; `q` searches the ticket holder's name and email."""
    condition = Checkin.event == event_id
    if list_id:
        condition &= Checkin.checkin_list == list_id
    if conflicts_only:
        condition &= Checkin.conflict == True  # noqa: E712 - a SQL comparison
    if checkin_id:
        condition &= Checkin.id == checkin_id
    if page.q:
        condition &= page.matches(Checkin.ticket.name, Checkin.ticket.email)
    rows = await page.apply(
        Checkin.select(
            Checkin.id,
            Checkin.checkin_list.name.as_alias("list"),
            Checkin.kind.as_alias("type"),
            Checkin.successful,
            Checkin.reason,
            Checkin.scanned_at,
            Checkin.gate,
            Checkin.staff.name.as_alias("staff"),
            Checkin.offline,
            Checkin.conflict,
            Checkin.undone_at,
            Checkin.ticket.name.as_alias("name"),
            Checkin.ticket.organisation.as_alias("organisation"),
        )
        .where(condition)
        .order_by(Checkin.id, ascending=False)
    )
    for row in rows:
        row["undone"] = row.pop("undone_at") is not None
    return rows, await Checkin.count().where(condition)


async def checkin_counts(event_id: int) -> dict:
    """Live counts for the organiser's dashboard (and the live hub): per list, entries, exits and
    who is inside; entries per 15 minutes over the last day of scans; valid tickets."""
    lists = (
        await CheckinList.select(CheckinList.id, CheckinList.name)
        .where(CheckinList.event == event_id)
        .order_by(CheckinList.id)
    )
    figures = {
        row["id"]: {"list_id": row["id"], "list": row["name"], "entries": 0, "exits": 0}
        for row in lists
    }
    # Both grow with the scans and the tickets: counted off the loop (a door's burst of scans
    # must not wait on them).
    for row in await fetch_all_off_loop(
        "SELECT checkin_list, kind, COUNT(*) AS n FROM checkins"
        " WHERE event = {} AND successful = {} AND undone_at IS NULL"
        " GROUP BY checkin_list, kind",
        event_id,
        True,
    ):
        entry = figures.get(row["checkin_list"])
        if entry is not None:
            entry["entries" if row["kind"] == "entry" else "exits"] += row["n"]
    for entry in figures.values():
        entry["inside"] = max(0, entry["entries"] - entry["exits"])
    if _is_sqlite():
        bucket = f"CAST(strftime('%s', scanned_at) AS INTEGER) / {ARRIVAL_BUCKET_S}"
    else:
        bucket = f"FLOOR(EXTRACT(EPOCH FROM scanned_at) / {ARRIVAL_BUCKET_S})::BIGINT"
    rows = await fetch_all_off_loop(
        f"SELECT {bucket} AS bucket, COUNT(*) AS n FROM checkins"
        " WHERE event = {} AND successful = {} AND undone_at IS NULL AND kind = 'entry'"
        " GROUP BY bucket ORDER BY bucket DESC LIMIT 96",
        event_id,
        True,
    )
    arrivals = []
    if rows:
        counts = {int(row["bucket"]): row["n"] for row in rows}
        last = max(counts)
        first = min(b for b in counts if b > last - 96)  # the day up to the latest scan
        arrivals = [
            {
                "starts_at": datetime.fromtimestamp(b * ARRIVAL_BUCKET_S, UTC),
                "entries": counts.get(b, 0),
            }
            for b in range(first, last + 1)
        ]
    valid = await fetch_all_off_loop(
        "SELECT COUNT(*) AS n FROM tickets WHERE event = {} AND status = 'valid'", event_id
    )
    tickets = valid[0]["n"]
    return {"lists": list(figures.values()), "arrivals": arrivals, "tickets": tickets}


@on_role_granted
async def _ticket_for_a_new_role(user_id: int, event_id: int, role: Role) -> None:
    """Investors and start-up teams get their ticket as their role is granted (an invitation
    accepted, an organiser's grant), when the event has a ticket type of their kind."""
    if role in (Role.investor, Role.startup):
        await issue_role_tickets(event_id)
