from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from eventapp.accounts.tables import Organisation, User
from eventapp.db import unique_index
from eventapp.events.tables import Event, Stage


class ProgrammeItem(Table, tablename="programme_items"):
    """One item on a stage on one day, in `position` order: its plan and what happened to it.

    `planned_minutes` is the whole slot (for a pitch, `pitch_minutes` + `qa_minutes`). The live
    fields (`status`, `actual_start`, `actual_end`, `extra_minutes`, `delay_minutes`) are what
    the stage actions record; projected times are derived from them (`schedule.project`).
    """

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    stage = ForeignKey(references=Stage, on_delete=OnDelete.cascade, required=True)
    day = Date(required=True)
    position = Integer(required=True)
    kind = Varchar(length=20, required=True)
    title = Varchar(length=200, required=True)
    description = Text(default="")
    organisation = ForeignKey(references=Organisation, on_delete=OnDelete.set_null, null=True)
    planned_start = Timestamptz(required=True)
    planned_minutes = Integer(required=True)
    pitch_minutes = Integer(default=0)
    qa_minutes = Integer(default=0)
    absorbs_delay = Boolean(default=False)
    min_minutes = Integer(default=0)
    status = Varchar(length=10, default="planned")
    actual_start = Timestamptz(null=True, default=None)
    actual_end = Timestamptz(null=True, default=None)
    extra_minutes = Integer(default=0)
    delay_minutes = Integer(default=0)


class ProgrammeState(Table, tablename="programme_state"):
    """The event's programme version: every change raises it by one, so clients see gaps."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    version = Integer(default=0)
    updated_at = Timestamptz(default=TimestamptzNow())


class ProgrammeRelease(Table, tablename="programme_releases"):
    """A released version: the items as announced, and what changed since the last release."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    number = Integer(required=True)
    programme_version = Integer(required=True)
    note = Text(default="")
    items = JSON(default=[])
    changelog = JSON(default={})
    released_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    released_at = Timestamptz(default=TimestamptzNow())


class ProgrammeAction(Table, tablename="programme_actions"):
    """A stage action: who did what when, the version it made, and the items as they were
    before (`before`, `created`), so the last action can be undone."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    version = Integer(required=True)
    kind = Varchar(length=20, required=True)
    stage = ForeignKey(references=Stage, on_delete=OnDelete.cascade, required=True)
    day = Date(required=True)
    item = Integer(null=True, default=None)
    minutes = Integer(null=True, default=None)
    actor = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    acted_at = Timestamptz(default=TimestamptzNow())
    before = JSON(default=[])
    created = JSON(default=[])
    undone = Boolean(default=False)


# The sentences are what an organiser reads on the stage console if a write ever trips an index
# (the version every change raises makes these races lose as `stale_version` first).
unique_index("programme_state_event_uq", ProgrammeState, ["event"], reason="programme_exists")
unique_index(
    "programme_releases_number_uq",
    ProgrammeRelease,
    ["event", "number"],
    reason="release_exists",
    detail="Someone released the programme at the same moment; reload to see their release.",
)
unique_index(
    "programme_actions_version_uq",
    ProgrammeAction,
    ["event", "version"],
    reason="stale_version",
    detail="The programme changed since you loaded it; reload and try again.",
)
# One item runs on a stage at a time.
unique_index(
    "programme_items_running_uq",
    ProgrammeItem,
    ["stage", "day"],
    reason="already_running",
    where="status = 'running'",
    detail="Something is already on stage; end it before another item starts.",
)
# A start-up pitches once per event.
unique_index(
    "programme_items_pitch_uq",
    ProgrammeItem,
    ["event", "organisation"],
    reason="already_pitching",
    where="organisation IS NOT NULL AND status <> 'cancelled'",
    detail="This start-up already has a pitch in the programme.",
)
