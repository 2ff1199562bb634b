from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, EmailStr, Field

from eventapp.accounts.security import MIN_PASSWORD_LENGTH
from eventapp.params import RequestModel


class Role(StrEnum):
    """What a person may do in one event."""

    organiser = "organiser"
    reviewer = "reviewer"
    investor = "investor"
    startup = "startup"
    door_staff = "door_staff"


class Strict(RequestModel):
    """A request body (see RequestModel): unknown fields and loose values are refused, and text
    is taken as sent (no silent trimming), so the OpenAPI document says exactly what passes."""


class Credentials(Strict):
    # Any text: an address that is no account's is the same 401 as a wrong password.
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class TokenRequest(Credentials):
    label: str = Field(default="", max_length=100, description="Names the device, e.g. 'Door A'.")
    event: str | None = Field(
        default=None,
        max_length=64,
        description="A device's token for this one event (its slug): it acts only there, and "
        "that event's organisers can revoke it. You need a role in the event.",
    )


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: datetime
    event: str | None = None


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)


class TokenInfo(BaseModel):
    """A session or API token as its owner sees it (never the token itself)."""

    id: int
    kind: str = Field(description="'session' (a browser) or 'api' (a client or device)")
    label: str
    created_at: datetime
    expires_at: datetime
    event_slug: str | None = Field(description="The one event a device token acts in")
    current: bool = Field(description="The session or token this request was made with")


class DeviceOut(BaseModel):
    """A device's token for one event, as the event's organisers see it."""

    id: int
    label: str
    email: str
    name: str
    created_at: datetime
    expires_at: datetime


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    is_admin: bool
    email_verified: bool = Field(
        description="The owner proved the mailbox is theirs (a mailed link); accounts made from "
        "an invitation link, which its organiser also saw, stay unverified until then."
    )


class EventRoles(BaseModel):
    slug: str
    name: str
    roles: list[Role]


class MeOut(UserOut):
    events: list[EventRoles]


class InvitationCreate(Strict):
    email: EmailStr = Field(description="An address on a public domain (not .test, .local, ...)")
    role: Role
    name: str = Field(default="", max_length=200)
    organisation: str = Field(
        default="",
        max_length=200,
        description="For an investor, their firm; for a start-up, the company. On accepting, an "
        "account that belongs to none joins it: the one of that name this event already has "
        "(someone here belongs to it, or it applied here), else a new one.",
    )


class InvitationOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    mailed_only: bool
    organisation_name: str = ""
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    status: str


class InvitationLink(InvitationOut):
    """Returned once, at creation. The invitation is mailed to the invitee; only when no mail
    leaves this server (no SMTP) is the link also given here, for the organiser to pass on."""

    url: str | None = Field(description="The link to copy; null when it went by mail only")


class LinkRequest(Strict):
    email: EmailStr


class LinkRequested(BaseModel):
    detail: str


class LinkToken(Strict):
    """The token from a mailed link, sent in a body so that no access log records it."""

    token: str = Field(min_length=1, max_length=100)


class PasswordReset(LinkToken):
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)


class InvitationToken(Strict):
    """The token from the invitation link, sent in a body so that no access log records it."""

    token: str = Field(min_length=1, max_length=100)


class InvitationPreview(BaseModel):
    event_slug: str
    event_name: str
    email: str
    name: str
    role: Role
    expires_at: datetime


class InvitationAccept(InvitationToken):
    name: str = Field(default="", max_length=200)
    password: str = Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=1024,
        description="The account's password if the email has one already; otherwise the new one.",
    )


class PersonOut(BaseModel):
    user_id: int
    email: str
    name: str
    role: Role
    email_verified: bool
