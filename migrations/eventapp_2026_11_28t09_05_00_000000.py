from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-28T09:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Review (settings, assignments, conflicts, reviews) and the selection board"

# Plain SQL both engines accept (the primary key aside); column types as piccolo declares them.
# No empty-object default: Table.raw reads a brace pair as a placeholder; piccolo always sends
# the column's value (its default {} in code) on insert.
STATEMENTS = [
    """CREATE TABLE review_settings (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        criteria JSON NOT NULL DEFAULT '[]',
        reviewers_per_application INTEGER NOT NULL DEFAULT 3,
        anonymised BOOLEAN NOT NULL DEFAULT FALSE,
        reviewers_see_scores BOOLEAN NOT NULL DEFAULT FALSE,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX review_settings_event_uq ON review_settings (event)",
    """CREATE TABLE review_assignments (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        application INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
        reviewer INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX review_assignments_uq ON review_assignments (application, reviewer)",
    "CREATE INDEX review_assignments_reviewer_ix ON review_assignments (event, reviewer)",
    """CREATE TABLE review_conflicts (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        application INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
        reviewer INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        note VARCHAR(300) NOT NULL DEFAULT '',
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX review_conflicts_uq ON review_conflicts (application, reviewer)",
    "CREATE INDEX review_conflicts_event_ix ON review_conflicts (event, reviewer)",
    """CREATE TABLE reviews (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        application INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
        reviewer INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        scores JSON NOT NULL,
        abstained BOOLEAN NOT NULL DEFAULT FALSE,
        comment TEXT NOT NULL DEFAULT '',
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX reviews_one_per_reviewer_uq ON reviews (application, reviewer)",
    "CREATE INDEX reviews_event_ix ON reviews (event, application)",
    """CREATE TABLE selection_boards (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        rules JSON NOT NULL,
        proposal JSON NULL DEFAULT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX selection_boards_event_uq ON selection_boards (event)",
    """CREATE TABLE selection_locks (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        application INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
        lock_kind VARCHAR(8) NOT NULL,
        created_by INTEGER NULL DEFAULT NULL REFERENCES users (id) ON DELETE SET NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX selection_locks_uq ON selection_locks (application)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="eventapp", description=DESCRIPTION)

    async def apply():
        from piccolo.engine.sqlite import SQLiteEngine

        from eventapp.db import active_engine

        sqlite = isinstance(active_engine(), SQLiteEngine)
        primary_key = "INTEGER PRIMARY KEY NOT NULL" if sqlite else "SERIAL PRIMARY KEY"
        for statement in STATEMENTS:
            await Table.raw(statement.replace("{primary_key}", primary_key))

    manager.add_raw(apply)
    return manager
