from piccolo.columns import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Time,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from eventapp.db import unique_index


class Event(Table, tablename="events"):
    """One showcase. Several live in one deployment; everything else hangs off an event."""

    slug = Varchar(length=64, required=True)
    name = Varchar(length=200, required=True)
    tagline = Text(default="")
    venue = Varchar(length=200, default="")
    city = Varchar(length=100, default="")
    country = Varchar(length=2, default="")
    timezone = Varchar(length=64, default="UTC")
    published = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class EventDay(Table, tablename="event_days"):
    """A day of the event with its opening hours, as local times in the event's time zone."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    day = Date(required=True)
    opens_at = Time(required=True)
    closes_at = Time(required=True)


class Stage(Table, tablename="stages"):
    """A stage or room where the programme runs (pitches, panels)."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    name = Varchar(length=100, required=True)
    capacity = Integer(default=0)


class MeetingTable(Table, tablename="meeting_tables"):
    """A numbered table in the meeting area where 1:1 meetings take place."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    label = Varchar(length=40, required=True)
    area = Varchar(length=100, default="")
    seats = Integer(default=2)


unique_index(
    "events_slug_uq",
    Event,
    ["slug"],
    reason="slug_taken",
    detail="Another event already has this address (slug).",
)
unique_index(
    "event_days_event_day_uq",
    EventDay,
    ["event", "day"],
    reason="day_exists",
    detail="The event already has this day.",
)
unique_index(
    "stages_event_name_uq",
    Stage,
    ["event", "name"],
    reason="stage_exists",
    detail="The event already has a stage with this name.",
)
unique_index(
    "meeting_tables_event_label_uq",
    MeetingTable,
    ["event", "label"],
    reason="table_exists",
    detail="The event already has a meeting table with this label.",
)
