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


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: datetime


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    is_admin: bool


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


class InvitationOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    status: str


class InvitationLink(InvitationOut):
    """Returned once, at creation: the link is the only copy of the token."""

    url: str


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
    has_password: bool = Field(description="The invitee already signs in: ask for that password")


class InvitationAccept(InvitationToken):
    name: str = Field(default="", max_length=200)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)


class PersonOut(BaseModel):
    user_id: int
    email: str
    name: str
    role: Role
