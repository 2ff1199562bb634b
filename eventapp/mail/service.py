"""The outbox: messages rendered from templates and stored in the caller's transaction.

Nothing sends mail inline. `enqueue` writes the message with the change that causes it, so a
change that rolls back sends nothing and one that commits loses nothing; `mail.sender` delivers
what is due. The sender's steps (`claim_next`, `mark_sent`, `mark_retry`, `mark_failed`) live
here too, because they are the outbox's state machine:

    queued --claim--> (queued, leased) --250--> sent
                              \\--4xx, no answer--> queued again later (back-off)
                              \\--5xx, or out of attempts--> failed
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from piccolo.engine.sqlite import SQLiteEngine

from eventapp.db import active_engine, transaction
from eventapp.errors import Conflict, NotFound
from eventapp.mail.tables import OutboxMessage
from eventapp.pagination import PageRequest

SENDER_NAME = "eventapp"
STATUSES = ("queued", "sent", "failed")


def now() -> datetime:
    return datetime.now(UTC)


def _local(moment: datetime, timezone: str = "UTC") -> str:
    """A time as the event's people read it: '18 Mar 2027, 09:00 (Asia/Singapore)'."""
    local = moment.astimezone(ZoneInfo(timezone or "UTC"))
    return f"{local:%-d %b %Y, %H:%M} ({timezone or 'UTC'})"


_templates = Environment(
    loader=PackageLoader("eventapp.mail", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
_templates.filters["local"] = _local


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


def render(template: str, context: dict) -> tuple[str, str, str]:
    """Subject, plain text and HTML of a message from `templates/{template}.*`."""
    context = {"sender_name": SENDER_NAME, **context}
    subject = _templates.get_template(f"{template}.subject.txt").render(context).strip()
    text = _templates.get_template(f"{template}.txt").render(context)
    html = _templates.get_template(f"{template}.html").render({**context, "subject": subject})
    return subject, text, html


async def enqueue(
    *,
    to: str,
    template: str,
    context: dict,
    event_id: int | None = None,
    secret: bool = False,
    attachments: tuple[Attachment, ...] = (),
) -> int:
    """Store a message; call it inside the transaction of the change that causes it.

    `secret`: the message holds a sign-in link, so organisers never see its body.
    """
    subject, text, html = render(template, context)
    rows = await OutboxMessage.insert(
        OutboxMessage(
            event=event_id,
            kind=template,
            to_address=to,
            subject=subject,
            text_body=text,
            html_body=html,
            secret=secret,
            attachments=[
                {
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "content": base64.b64encode(a.content).decode(),
                }
                for a in attachments
            ],
        )
    ).run()
    return rows[0]["id"]


def attachments_of(message: dict) -> list[Attachment]:
    stored = message["attachments"]
    if isinstance(stored, str):
        stored = json.loads(stored)
    return [
        Attachment(a["filename"], a["content_type"], base64.b64decode(a["content"])) for a in stored
    ]


# --------------------------------------------------------------------------------------------------
# The organiser's view


_LIST_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.kind,
    OutboxMessage.to_address,
    OutboxMessage.subject,
    OutboxMessage.status,
    OutboxMessage.attempts,
    OutboxMessage.last_error,
    OutboxMessage.created_at,
    OutboxMessage.sent_at,
    OutboxMessage.next_attempt_at,
)


async def list_outbox(
    event_id: int, page: PageRequest, status: str | None = None
) -> tuple[list[dict], int]:
    """The event's messages, newest first; `q` searches recipients and subjects."""
    condition = OutboxMessage.event == event_id
    if status:
        condition &= OutboxMessage.status == status
    if page.q:
        condition &= page.matches(OutboxMessage.to_address, OutboxMessage.subject)
    rows = await page.apply(
        OutboxMessage.select(*_LIST_COLUMNS)
        .where(condition)
        .order_by(OutboxMessage.id, ascending=False)
    )
    return rows, await OutboxMessage.count().where(condition)


async def resend(event_id: int, message_id: int) -> dict:
    """Queue a message of this event again, now, with a fresh count of attempts."""
    rows = (
        await OutboxMessage.update(
            {
                OutboxMessage.status: "queued",
                OutboxMessage.attempts: 0,
                OutboxMessage.next_attempt_at: now(),
                OutboxMessage.claimed_until: None,
                OutboxMessage.last_error: "",
            }
        )
        .where(
            (OutboxMessage.id == message_id)
            & (OutboxMessage.event == event_id)
            # Not while a sender holds it: that would send it twice at once.
            & (
                (OutboxMessage.status != "queued")
                | OutboxMessage.claimed_until.is_null()
                | (OutboxMessage.claimed_until < now())
            )
        )
        .returning(*_LIST_COLUMNS)
        .run()
    )
    if not rows:
        found = OutboxMessage.exists().where(
            (OutboxMessage.id == message_id) & (OutboxMessage.event == event_id)
        )
        if await found:
            raise Conflict("The message is being sent right now.", reason="message_sending")
        raise NotFound("No message with that id in this event.")
    return rows[0]


# --------------------------------------------------------------------------------------------------
# The sender's steps


_DUE = (
    "SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= {} "
    "AND (claimed_until IS NULL OR claimed_until < {}) ORDER BY id LIMIT 1"
)


async def claim_next(lease: timedelta) -> dict | None:
    """Take the oldest due message for `lease`, or None; no other sender can take it meanwhile.

    PostgreSQL skips rows another sender is claiming (FOR UPDATE SKIP LOCKED); SQLite's write
    transaction already serialises the claim.
    """
    at = now()
    # A plain read first: an idle outbox costs every sender's poll no write lock.
    if not await OutboxMessage.raw(_DUE, at, at):
        return None
    skip_locked = "" if isinstance(active_engine(), SQLiteEngine) else " FOR UPDATE SKIP LOCKED"
    async with transaction():
        due = await OutboxMessage.raw(_DUE + skip_locked, at, at)
        if not due:
            return None
        rows = (
            await OutboxMessage.update(
                {
                    OutboxMessage.claimed_until: at + lease,
                    OutboxMessage.attempts: OutboxMessage.attempts + 1,
                }
            )
            .where(
                (OutboxMessage.id == due[0]["id"])
                & (OutboxMessage.status == "queued")
                & (OutboxMessage.claimed_until.is_null() | (OutboxMessage.claimed_until < at))
            )
            .returning(*OutboxMessage.all_columns())
            .run()
        )
    return rows[0] if rows else None


async def mark_sent(message_id: int) -> None:
    await (
        OutboxMessage.update(
            {
                OutboxMessage.status: "sent",
                OutboxMessage.sent_at: now(),
                OutboxMessage.claimed_until: None,
                OutboxMessage.last_error: "",
            }
        )
        .where(OutboxMessage.id == message_id)
        .run()
    )


async def mark_retry(message: dict, error: str, *, first_delay_s: float, max_attempts: int) -> None:
    """A temporary failure: try again after a doubling delay, or give up after `max_attempts`."""
    if message["attempts"] >= max_attempts:
        await mark_failed(message["id"], f"gave up after {message['attempts']} attempts: {error}")
        return
    delay = min(first_delay_s * 2 ** (message["attempts"] - 1), 3600)
    await (
        OutboxMessage.update(
            {
                OutboxMessage.next_attempt_at: now() + timedelta(seconds=delay),
                OutboxMessage.claimed_until: None,
                OutboxMessage.last_error: error[:2000],
            }
        )
        .where(OutboxMessage.id == message["id"])
        .run()
    )


async def mark_failed(message_id: int, error: str) -> None:
    await (
        OutboxMessage.update(
            {
                OutboxMessage.status: "failed",
                OutboxMessage.claimed_until: None,
                OutboxMessage.last_error: error[:2000],
            }
        )
        .where(OutboxMessage.id == message_id)
        .run()
    )


async def unlogged(limit: int = 50) -> list[dict]:
    """Messages not yet written to the log (when no SMTP server is configured)."""
    return await (
        OutboxMessage.select()
        .where(OutboxMessage.logged_at.is_null() & (OutboxMessage.status == "queued"))
        .order_by(OutboxMessage.id)
        .limit(limit)
        .run()
    )


async def mark_logged(message_ids: list[int]) -> None:
    if message_ids:
        await (
            OutboxMessage.update({OutboxMessage.logged_at: now()})
            .where(OutboxMessage.id.is_in(message_ids))
            .run()
        )
