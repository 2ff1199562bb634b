"""Tickets: the event's signing key, ticket types, tickets, the waiting list, revoked secrets,
check-in lists, check-ins and badge exports. Constraints piccolo cannot declare on SQLite are
unique indexes declared here and created by the migration."""

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from eventapp.accounts.tables import User
from eventapp.db import unique_index
from eventapp.events.tables import Event


class TicketKey(Table, tablename="ticket_keys"):
    """The event's Ed25519 key pair: the private half signs secrets and never leaves the server."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    private_key = Varchar(length=64, required=True)
    public_key = Varchar(length=64, required=True)
    created_at = Timestamptz(default=TimestamptzNow())


class TicketType(Table, tablename="ticket_types"):
    """A kind of ticket, its capacity and sales window; anyone may register for `public` ones."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    kind = Varchar(length=20, required=True)
    name = Varchar(length=100, required=True)
    capacity = Integer(default=0)
    sales_from = Timestamptz(null=True, default=None)
    sales_until = Timestamptz(null=True, default=None)
    public = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Ticket(Table, tablename="tickets"):
    """One person's ticket. `secret` is the signed text in its QR code (set right after insert,
    since it signs the row's id); re-issuing replaces it and revokes the old one."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    ticket_type = ForeignKey(references=TicketType, on_delete=OnDelete.cascade, required=True)
    user = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True, default=None)
    name = Varchar(length=200, required=True)
    email = Varchar(length=320, required=True)
    organisation = Varchar(length=200, default="")
    status = Varchar(length=10, default="valid")
    secret = Varchar(length=160, null=True, default=None)
    source = Varchar(length=10, default="public")
    created_at = Timestamptz(default=TimestamptzNow())


class RevokedSecret(Table, tablename="revoked_secrets"):
    """A secret that no longer admits anyone, by its digest (`signer.revocation_digest`)."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade, required=True)
    digest = Varchar(length=24, required=True)
    revoked_at = Timestamptz(default=TimestamptzNow())


class WaitlistEntry(Table, tablename="ticket_waitlist"):
    """Someone who asked for a sold-out ticket type; given a ticket when a place frees up."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    ticket_type = ForeignKey(references=TicketType, on_delete=OnDelete.cascade, required=True)
    name = Varchar(length=200, required=True)
    email = Varchar(length=320, required=True)
    organisation = Varchar(length=200, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.set_null, null=True, default=None)


class CheckinList(Table, tablename="checkin_lists"):
    """Where and when tickets admit: which types (`type_ids`, comma-separated ids), a time
    window, single or multiple entry, and whether exits are scanned."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    name = Varchar(length=100, required=True)
    type_ids = Text(default="")
    valid_from = Timestamptz(null=True, default=None)
    valid_until = Timestamptz(null=True, default=None)
    multi_entry = Boolean(default=False)
    allow_exit = Boolean(default=False)


class Checkin(Table, tablename="checkins"):
    """One scan of a known ticket, and the answer it got (`answer`, JSON), so that a retried
    `nonce` gets the same answer and counts once."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    checkin_list = ForeignKey(references=CheckinList, on_delete=OnDelete.cascade, required=True)
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade, required=True)
    kind = Varchar(length=5, required=True)
    nonce = Varchar(length=64, required=True)
    successful = Boolean(default=False)
    reason = Varchar(length=20, default="")
    scanned_at = Timestamptz(required=True)
    created_at = Timestamptz(default=TimestamptzNow())
    gate = Varchar(length=60, default="")
    staff = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True, default=None)
    offline = Boolean(default=False)
    conflict = Boolean(default=False)
    undone_at = Timestamptz(null=True, default=None)
    answer = Text(default="")


class BadgeExport(Table, tablename="badge_exports"):
    """A PDF of many badges made in the background; `claimed_until` is the worker's lease."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    status = Varchar(length=10, default="queued")
    total = Integer(default=0)
    done = Integer(default=0)
    path = Varchar(length=500, default="")
    error = Text(default="")
    claimed_until = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)


unique_index("ticket_keys_event_uq", TicketKey, ["event"], reason="key_exists")
unique_index("ticket_types_name_uq", TicketType, ["event", "name"], reason="ticket_type_exists")
unique_index("tickets_secret_uq", Ticket, ["secret"], reason="secret_taken")
unique_index(
    "tickets_type_email_uq",
    Ticket,
    ["ticket_type", "lower(email)"],
    reason="already_registered",
    where="status <> 'canceled'",
)
unique_index(
    "tickets_user_type_uq",
    Ticket,
    ["user", "ticket_type"],
    reason="already_registered",
    where='"user" IS NOT NULL',
)
unique_index("revoked_secrets_uq", RevokedSecret, ["event", "digest"], reason="already_revoked")
unique_index(
    "ticket_waitlist_uq",
    WaitlistEntry,
    ["ticket_type", "lower(email)"],
    reason="already_waiting",
    where="ticket IS NULL",
)
unique_index("checkin_lists_name_uq", CheckinList, ["event", "name"], reason="list_exists")
unique_index("checkins_nonce_uq", Checkin, ["event", "nonce"], reason="nonce_used")
