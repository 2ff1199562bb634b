from __future__ import annotations

from datetime import date, datetime, time
from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from eventapp.params import RequestModel

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"


class Strict(RequestModel):
    """A request body (see RequestModel): unknown fields and loose values are refused, and text
    is taken as sent (no silent trimming), so the OpenAPI document says exactly what passes."""


def _without_offset(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a time of day takes no offset: the event's time zone applies")
    return value


# A wall-clock time in the event's time zone: "09:00" or "09:00:00", never "09:00:00+08:00".
# JSON Schema's `format: time` is RFC 3339's full-time, which requires an offset, so validators
# refuse "09:00:00": ours is an RFC 3339 partial-time, said by the format's name and a pattern.
LocalTime = Annotated[
    time,
    AfterValidator(_without_offset),
    WithJsonSchema(
        {
            "type": "string",
            "format": "partial-time",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$",
            "description": "A time of day in the event's time zone, HH:MM[:SS], no offset",
        }
    ),
]


class DayIn(Strict):
    """A day of the event; it opens before it closes."""

    day: date
    opens_at: LocalTime = time(9, 0)
    closes_at: LocalTime = time(18, 0)

    @model_validator(mode="after")
    def opens_before_closing(self) -> DayIn:
        if self.opens_at >= self.closes_at:
            raise ValueError("opens_at must be before closes_at")
        return self


def _check_days(days: list[DayIn] | None) -> list[DayIn] | None:
    if days is None:
        return None
    dates = [d.day for d in days]
    if len(set(dates)) != len(dates):
        raise ValueError("each day may appear once")
    return sorted(days, key=lambda d: d.day)


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def _time_zone_pattern() -> str:
    """The names the server accepts, as a pattern (an enum of ~600 would bloat every client)."""
    names = "|".join(sorted(name.replace("+", r"\+") for name in _time_zones()))
    return f"^(?:{names})$"


# An IANA time zone name this server knows, e.g. Asia/Singapore.
TimeZoneName = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _time_zone_pattern(),
            "description": "IANA time zone, e.g. Asia/Singapore",
        }
    ),
]


def _check_timezone(name: str | None) -> str | None:
    if name is not None and name not in _time_zones():
        raise ValueError(f"unknown time zone {name!r} (use an IANA name like Asia/Singapore)")
    return name


DAYS = "The event's days, each date at most once"


class EventFields(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    tagline: str | None = Field(default=None, max_length=2000)
    venue: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166 alpha-2, e.g. SG"
    )
    timezone: TimeZoneName | None = None
    published: bool | None = None
    days: list[DayIn] | None = Field(default=None, max_length=31, description=DAYS)

    _days = field_validator("days")(_check_days)
    _tz = field_validator("timezone")(_check_timezone)


class EventCreate(EventFields):
    slug: str = Field(pattern=SLUG_PATTERN, description="Lower-case letters, digits and hyphens")
    name: str = Field(min_length=1, max_length=200)
    timezone: TimeZoneName = "UTC"
    days: list[DayIn] = Field(default_factory=list, max_length=31, description=DAYS)


class EventPatch(EventFields):
    """Only the fields sent change; `days`, when sent, replaces the whole list."""


class DayOut(BaseModel):
    day: date
    opens_at: LocalTime
    closes_at: LocalTime


class EventOut(BaseModel):
    id: int
    slug: str
    name: str
    tagline: str
    venue: str
    city: str
    country: str
    timezone: str
    published: bool
    created_at: datetime
    days: list[DayOut]
    my_roles: list[str] = Field(default_factory=list, description="Your roles in this event")


class StageIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    capacity: int = Field(default=0, ge=0, le=100_000)


class StagePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    capacity: int | None = Field(default=None, ge=0, le=100_000)


class StageOut(BaseModel):
    id: int
    name: str
    capacity: int


class MeetingTableIn(Strict):
    label: str = Field(min_length=1, max_length=40)
    area: str = Field(default="", max_length=100)
    seats: int = Field(default=2, ge=2, le=20)


class MeetingTablePatch(Strict):
    label: str | None = Field(default=None, min_length=1, max_length=40)
    area: str | None = Field(default=None, max_length=100)
    seats: int | None = Field(default=None, ge=2, le=20)


class MeetingTablesBulk(Strict):
    """Add numbered tables at once: prefix 'T' and count 20 give T01 to T20 after existing ones."""

    prefix: str = Field(default="T", max_length=10)
    count: int = Field(ge=1, le=500)
    area: str = Field(default="", max_length=100)
    seats: int = Field(default=2, ge=2, le=20)


class MeetingTableOut(BaseModel):
    id: int
    label: str
    area: str
    seats: int
