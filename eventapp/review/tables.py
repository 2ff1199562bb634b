"""Review and selection: per-event settings, assignments, declared conflicts, reviews, locks.

One review per reviewer per application and one assignment per pair are unique indexes, so two
tabs saving at once, or two organisers assigning at once, never make a second row.
"""

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from eventapp.accounts.tables import User
from eventapp.applications.tables import Application
from eventapp.db import unique_index
from eventapp.events.tables import Event


class ReviewSettings(Table, tablename="review_settings"):
    """How an event reviews: the weighted criteria, k reviewers per application, anonymity,
    and whether reviewers may see each other's scores. Absent: the defaults (service.DEFAULTS)."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    criteria = JSON(default=[])
    reviewers_per_application = Integer(default=3)
    anonymised = Boolean(default=False)
    reviewers_see_scores = Boolean(default=False)
    updated_at = Timestamptz(default=TimestamptzNow())


class ReviewAssignment(Table, tablename="review_assignments"):
    """A reviewer asked to review an application."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    application = ForeignKey(references=Application, on_delete=OnDelete.cascade, required=True)
    reviewer = ForeignKey(references=User, on_delete=OnDelete.cascade, required=True)
    created_at = Timestamptz(default=TimestamptzNow())


class ReviewConflict(Table, tablename="review_conflicts"):
    """A reviewer's declared conflict of interest with an application: never assigned to it."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    application = ForeignKey(references=Application, on_delete=OnDelete.cascade, required=True)
    reviewer = ForeignKey(references=User, on_delete=OnDelete.cascade, required=True)
    note = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Review(Table, tablename="reviews"):
    """A reviewer's scores (criterion key -> 1..5) for an application, or an abstention."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    application = ForeignKey(references=Application, on_delete=OnDelete.cascade, required=True)
    reviewer = ForeignKey(references=User, on_delete=OnDelete.cascade, required=True)
    scores = JSON(default={})
    abstained = Boolean(default=False)
    comment = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class SelectionBoard(Table, tablename="selection_boards"):
    """An event's selection rules and the optimiser's last proposal (kept for the board)."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    rules = JSON(default={})
    proposal = JSON(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())


class SelectionLock(Table, tablename="selection_locks"):
    """An organiser's lock on an application: always `include` it, or always `exclude` it."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    application = ForeignKey(references=Application, on_delete=OnDelete.cascade, required=True)
    lock_kind = Varchar(length=8, required=True)
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


unique_index("review_settings_event_uq", ReviewSettings, ["event"], reason="settings_exist")
unique_index(
    "review_assignments_uq",
    ReviewAssignment,
    ["application", "reviewer"],
    reason="already_assigned",
)
unique_index(
    "review_conflicts_uq", ReviewConflict, ["application", "reviewer"], reason="conflict_declared"
)
unique_index("reviews_one_per_reviewer_uq", Review, ["application", "reviewer"], reason="reviewed")
unique_index("selection_boards_event_uq", SelectionBoard, ["event"], reason="board_exists")
unique_index("selection_locks_uq", SelectionLock, ["application"], reason="already_locked")
