"""Matchmaking tables: the meeting grid, investor profiles, fit, marks, meetings and feedback.

The rules a meeting must keep are unique indexes (created in the migration on both engines), so
no race between two requests can break them: one active meeting per person and slot, per start-up
and slot, per table and slot, per pair and per firm and start-up. Caps are counter rows
(`MeetingCount`) raised by a conditional UPDATE in the booking's own transaction.
"""

from piccolo.columns import (
    JSON,
    Boolean,
    Float,
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
from eventapp.events.tables import Event, MeetingTable

ACTIVE = "status IN ('pending', 'accepted')"


class MeetingSettings(Table, tablename="meeting_settings"):
    """One row per event: the grid (blocks of slots per day), caps, expiry and fit weights.

    `blocks` is a list of {"day": "2027-03-18", "start": "10:00", "end": "12:00"} in the event's
    time zone; the gaps between blocks are the breaks.
    """

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    slot_minutes = Integer(default=20)
    blocks = JSON(default=[])
    max_investor = Integer(default=8)
    max_startup = Integer(default=12)
    min_startup = Integer(default=0)
    fixed_tables = Boolean(default=False)
    request_hours = Integer(default=24)
    weights = JSON(default={})


class MeetingSlot(Table, tablename="meeting_slots"):
    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    starts_at = Timestamptz(required=True)
    ends_at = Timestamptz(required=True)
    day_index = Integer(default=0)


class InvestorProfile(Table, tablename="investor_profiles"):
    """An investment firm's profile in one event; every person of the firm shares it."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    firm = ForeignKey(references=Organisation, on_delete=OnDelete.cascade, required=True)
    investor_type = Varchar(length=20, default="vc")
    country = Varchar(length=2, default="")
    sectors = JSON(default=[])
    stages = JSON(default=[])
    ticket_min_usd = Integer(null=True, default=None)
    ticket_max_usd = Integer(null=True, default=None)
    countries_of_interest = JSON(default=[])
    thesis = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class MeetingFit(Table, tablename="meeting_fits"):
    """The fit of a firm and a start-up, with its breakdown ("why this match") as stored."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    firm = ForeignKey(references=Organisation, on_delete=OnDelete.cascade, required=True)
    startup = ForeignKey(references=Organisation, on_delete=OnDelete.cascade, required=True)
    score = Float(default=0.0)
    gate = Varchar(length=40, null=True, default=None)
    breakdown = JSON(default={})


class MeetingMark(Table, tablename="meeting_marks"):
    """One side's mark on a pair: side 'investor' (a person marks a start-up) or 'startup'."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    side = Varchar(length=10, required=True)
    investor = ForeignKey(references=User, on_delete=OnDelete.cascade, required=True)
    startup = ForeignKey(references=Organisation, on_delete=OnDelete.cascade, required=True)
    mark = Integer(required=True)


class MeetingUnavailable(Table, tablename="meeting_unavailable"):
    """A slot a party (an investor person or a start-up) cannot meet in."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    party_kind = Varchar(length=10, required=True)
    party_id = Integer(required=True)
    slot = ForeignKey(references=MeetingSlot, on_delete=OnDelete.cascade, required=True)


class MeetingCount(Table, tablename="meeting_counts"):
    """Active (pending or accepted) meetings of a party: the counter the caps are checked on."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    party_kind = Varchar(length=10, required=True)
    party_id = Integer(required=True)
    active = Integer(default=0)


class ScheduleVersion(Table, tablename="schedule_versions"):
    """A run of the scheduler: provisional until the organiser publishes it."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    number = Integer(required=True)
    status = Varchar(length=12, default="provisional")
    meetings = Integer(default=0)
    value = Float(default=0.0)
    bound = Float(default=0.0)
    created_at = Timestamptz(default=TimestamptzNow())
    published_at = Timestamptz(null=True, default=None)


class Meeting(Table, tablename="meetings"):
    """A 1:1 meeting of an investor person and a start-up, in a slot at a table.

    status: pending (a request, holds the slot on both sides until `expires_at`), accepted;
    declined, cancelled, expired (inactive, kept for calendars and history).
    source: request (self-service), scheduler, organiser. `sequence` rises on every change,
    so calendars replace the event they hold.
    """

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    # Not cascading: a table or slot with meetings cannot be removed under them (409).
    slot = ForeignKey(references=MeetingSlot, on_delete=OnDelete.restrict, required=True)
    meeting_table = ForeignKey(references=MeetingTable, on_delete=OnDelete.restrict, required=True)
    investor = ForeignKey(references=User, on_delete=OnDelete.cascade, required=True)
    firm = ForeignKey(references=Organisation, on_delete=OnDelete.cascade, required=True)
    startup = ForeignKey(references=Organisation, on_delete=OnDelete.cascade, required=True)
    status = Varchar(length=10, required=True)
    source = Varchar(length=10, required=True)
    version = ForeignKey(references=ScheduleVersion, on_delete=OnDelete.set_null, null=True)
    requested_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    requester_side = Varchar(length=10, default="")
    message = Text(default="")
    expires_at = Timestamptz(null=True, default=None)
    sequence = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class MeetingChangeRequest(Table, tablename="meeting_change_requests"):
    """A participant asks the organiser to swap (move) or drop a scheduled meeting."""

    meeting = ForeignKey(references=Meeting, on_delete=OnDelete.cascade, required=True)
    person = ForeignKey(references=User, on_delete=OnDelete.cascade, required=True)
    kind = Varchar(length=10, required=True)
    note = Text(default="")
    status = Varchar(length=10, default="open")
    created_at = Timestamptz(default=TimestamptzNow())


class MeetingFeedback(Table, tablename="meeting_feedback"):
    """After a meeting, each side says whether it happened and how interested they are."""

    meeting = ForeignKey(references=Meeting, on_delete=OnDelete.cascade, required=True)
    side = Varchar(length=10, required=True)
    person = ForeignKey(references=User, on_delete=OnDelete.cascade, required=True)
    happened = Boolean(required=True)
    interest = Varchar(length=20, default="none")
    created_at = Timestamptz(default=TimestamptzNow())


class MeetingFeedToken(Table, tablename="meeting_feed_tokens"):
    """A person's private calendar feed link; only a keyed hash of its token is stored."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    person = ForeignKey(references=User, on_delete=OnDelete.cascade, required=True)
    token_hash = Varchar(length=64, required=True)
    created_at = Timestamptz(default=TimestamptzNow())


unique_index("meeting_settings_event_uq", MeetingSettings, ["event"], reason="settings_exist")
unique_index("meeting_slots_uq", MeetingSlot, ["event", "starts_at"], reason="slot_exists")
unique_index("investor_profiles_uq", InvestorProfile, ["event", "firm"], reason="profile_exists")
unique_index("meeting_fits_uq", MeetingFit, ["event", "firm", "startup"], reason="fit_exists")
unique_index(
    "meeting_marks_uq", MeetingMark, ["event", "side", "investor", "startup"], reason="mark_exists"
)
unique_index(
    "meeting_unavailable_uq",
    MeetingUnavailable,
    ["event", "party_kind", "party_id", "slot"],
    reason="already_unavailable",
)
unique_index(
    "meeting_counts_uq", MeetingCount, ["event", "party_kind", "party_id"], reason="count_exists"
)
unique_index("schedule_versions_uq", ScheduleVersion, ["event", "number"], reason="version_exists")
unique_index(
    "meetings_investor_slot_uq", Meeting, ["investor", "slot"], reason="investor_busy", where=ACTIVE
)
unique_index(
    "meetings_startup_slot_uq", Meeting, ["startup", "slot"], reason="startup_busy", where=ACTIVE
)
unique_index(
    "meetings_table_slot_uq", Meeting, ["meeting_table", "slot"], reason="table_full", where=ACTIVE
)
unique_index(
    "meetings_pair_uq",
    Meeting,
    ["event", "investor", "startup"],
    reason="already_meeting",
    where=ACTIVE,
)
unique_index(
    "meetings_firm_uq",
    Meeting,
    ["event", "firm", "startup"],
    reason="already_meeting",
    where=ACTIVE,
)
unique_index("meeting_feedback_uq", MeetingFeedback, ["meeting", "side"], reason="feedback_given")
unique_index("meeting_feed_tokens_hash_uq", MeetingFeedToken, ["token_hash"], reason="token_exists")
unique_index("meeting_feed_tokens_uq", MeetingFeedToken, ["event", "person"], reason="feed_exists")

TABLES = [
    MeetingSettings,
    MeetingSlot,
    InvestorProfile,
    MeetingFit,
    MeetingMark,
    MeetingUnavailable,
    MeetingCount,
    ScheduleVersion,
    Meeting,
    MeetingChangeRequest,
    MeetingFeedback,
    MeetingFeedToken,
]
