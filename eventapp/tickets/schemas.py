"""Tickets' request and answer models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, EmailStr, Field, model_validator

from eventapp.params import RequestModel

TicketKind = Literal["attendee", "investor", "startup", "media", "staff", "vip"]
TicketStatus = Literal["valid", "canceled", "blocked"]
CheckinReason = Literal[
    "already_redeemed", "revoked", "blocked", "canceled", "invalid_time", "product", "rules"
]
Name = Field(min_length=1, max_length=200)


class TicketTypeIn(RequestModel):
    kind: TicketKind
    name: str = Field(min_length=1, max_length=100)
    capacity: int = Field(ge=0, le=1_000_000)
    sales_from: AwareDatetime | None = None
    sales_until: AwareDatetime | None = None
    public: bool = Field(
        default=True, description="Anyone may register for it (investors' and teams' are not)"
    )

    @model_validator(mode="after")
    def window_in_order(self) -> TicketTypeIn:
        if self.sales_from and self.sales_until and self.sales_from >= self.sales_until:
            raise ValueError("sales_from must be before sales_until")
        return self


class TicketTypePatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    capacity: int | None = Field(default=None, ge=0, le=1_000_000)
    sales_from: AwareDatetime | None = None
    sales_until: AwareDatetime | None = None
    public: bool | None = None


class TicketTypeOut(BaseModel):
    id: int
    kind: TicketKind
    name: str
    capacity: int
    sold: int = Field(description="Valid and blocked tickets of this type")
    available: int
    sales_from: datetime | None
    sales_until: datetime | None
    public: bool
    on_sale: bool = Field(description="Public, within its sales window")
    waiting: int = Field(description="People on its waiting list")


class RegistrationIn(RequestModel):
    """Public registration; when the type is sold out the person joins its waiting list."""

    name: str = Name
    email: EmailStr = Field(description="An address on a public domain (not .test, .local, ...)")
    organisation: str = Field(default="", max_length=200)
    ticket_type: int = Field(ge=1, le=2**31 - 1)


class RegistrationOut(BaseModel):
    status: Literal["registered", "waitlisted"]
    ticket_id: int | None = None
    waitlist_position: int | None = None


class TicketIn(RequestModel):
    """An organiser issues one ticket (mailed to its holder)."""

    name: str = Name
    email: EmailStr
    organisation: str = Field(default="", max_length=200)
    ticket_type: int = Field(ge=1, le=2**31 - 1)


class TicketImport(RequestModel):
    csv: str = Field(
        min_length=1,
        max_length=900_000,
        description="CSV with a header row: name, email, organisation (optional), ticket_type "
        "(the type's name or id). All rows are imported, or none.",
    )
    send: bool = Field(default=True, description="Mail each ticket to its holder")


class ImportOut(BaseModel):
    created: int


class TicketOut(BaseModel):
    id: int
    ticket_type: int
    type_name: str
    kind: TicketKind
    name: str
    email: str
    organisation: str
    status: TicketStatus
    source: str
    secret: str | None = Field(description="The signed text in the ticket's QR code")
    created_at: datetime


class AutoTicketsOut(BaseModel):
    issued: int = Field(description="New tickets for investors and start-up teams")
    missing_types: list[str] = Field(description="Kinds with people but no ticket type")
    short: int = Field(description="People left without a ticket because the type is full")


class RevocationOut(BaseModel):
    digest: str = Field(description="signer.revocation_digest of a secret that admits no one")


class ScannerKey(BaseModel):
    event: str
    public_key: str = Field(description="Ed25519 public key, raw 32 bytes in base64")
    algorithm: Literal["Ed25519"] = "Ed25519"


class CheckinListIn(RequestModel):
    name: str = Field(min_length=1, max_length=100)
    ticket_types: list[int] = Field(
        default_factory=list,
        max_length=100,
        description="Ticket type ids valid on this list; empty means every type",
    )
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    multi_entry: bool = False
    allow_exit: bool = False


class CheckinListOut(BaseModel):
    id: int
    name: str
    ticket_types: list[int]
    valid_from: datetime | None
    valid_until: datetime | None
    multi_entry: bool
    allow_exit: bool


# Text the database stores must hold no NUL (PostgreSQL refuses it): refused here, not by a
# failed batch of scans.
_NO_NUL = r"^[^\x00]*$"


class CheckinIn(RequestModel):
    secret: str = Field(min_length=1, max_length=400)
    list: int = Field(ge=1, le=2**31 - 1, description="The check-in list's id")
    type: Literal["entry", "exit"] = "entry"
    nonce: str = Field(
        min_length=1,
        max_length=64,
        pattern=_NO_NUL,
        description="Unique per scan: a retry with it counts once",
    )
    scanned_at: AwareDatetime | None = Field(
        default=None,
        description="When an offline scan happened; an online scan is dated by the server",
    )
    offline: bool = Field(default=False, description="Scanned offline, uploaded later")
    gate: str = Field(default="", max_length=60, pattern=_NO_NUL)


class Attendee(BaseModel):
    ticket_id: int
    name: str
    organisation: str
    ticket_type: str
    kind: TicketKind


class Earlier(BaseModel):
    scanned_at: datetime
    gate: str
    staff: str | None


class CheckinOk(BaseModel):
    status: Literal["ok"]
    attendee: Attendee
    checkin_id: int
    type: Literal["entry", "exit"]
    scanned_at: datetime
    list: str
    conflict: bool = Field(
        default=False, description="An offline scan the server would have refused"
    )
    conflict_reason: str | None = None


class CheckinRefused(BaseModel):
    """A 400 (a known ticket that may not pass) or a 404 (`invalid`: not a ticket of ours)."""

    status: Literal["error"]
    reason: Literal[
        "already_redeemed",
        "revoked",
        "blocked",
        "canceled",
        "invalid_time",
        "product",
        "rules",
        "invalid",
    ]
    detail: str
    attendee: Attendee | None = None
    earlier: Earlier | None = None


class CheckinRow(BaseModel):
    id: int
    list: str
    type: Literal["entry", "exit"]
    successful: bool
    reason: str
    scanned_at: datetime
    gate: str
    staff: str | None
    offline: bool
    conflict: bool
    undone: bool
    name: str
    organisation: str


class ListCount(BaseModel):
    list_id: int
    list: str
    inside: int = Field(description="Entries minus exits")
    entries: int
    exits: int


class Arrivals(BaseModel):
    starts_at: datetime
    entries: int


class CheckinCounts(BaseModel):
    lists: list[ListCount]
    arrivals: list[Arrivals] = Field(description="Entries per 15 minutes, the last 24 hours")
    tickets: int = Field(description="Valid tickets")


class ExportOut(BaseModel):
    id: int
    status: Literal["queued", "running", "done", "failed"]
    total: int
    done: int
    error: str
    created_at: datetime
    finished_at: datetime | None
