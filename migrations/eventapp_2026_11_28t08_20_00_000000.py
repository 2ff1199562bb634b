from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-28T08:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "The mail outbox and one-time sign-in and password-reset links"

# Plain SQL both engines accept (the primary key aside); column types as piccolo declares them.
STATEMENTS = [
    """CREATE TABLE outbox (
        id {primary_key},
        event INTEGER NULL DEFAULT NULL REFERENCES events (id) ON DELETE SET NULL,
        kind VARCHAR(40) NOT NULL,
        to_address VARCHAR(320) NOT NULL,
        subject VARCHAR(300) NOT NULL,
        text_body TEXT NOT NULL DEFAULT '',
        html_body TEXT NOT NULL DEFAULT '',
        attachments JSON NOT NULL DEFAULT '[]',
        secret BOOLEAN NOT NULL DEFAULT FALSE,
        status VARCHAR(10) NOT NULL DEFAULT 'queued',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        claimed_until TIMESTAMPTZ NULL DEFAULT NULL,
        last_error TEXT NOT NULL DEFAULT '',
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        sent_at TIMESTAMPTZ NULL DEFAULT NULL,
        logged_at TIMESTAMPTZ NULL DEFAULT NULL
    )""",
    "CREATE INDEX outbox_due_ix ON outbox (status, next_attempt_at)",
    "CREATE INDEX outbox_event_ix ON outbox (event, created_at)",
    """CREATE TABLE login_links (
        id {primary_key},
        token_hash VARCHAR(64) NOT NULL,
        "user" INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        purpose VARCHAR(10) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        expires_at TIMESTAMPTZ NOT NULL,
        used_at TIMESTAMPTZ NULL DEFAULT NULL
    )""",
    "CREATE UNIQUE INDEX login_links_hash_uq ON login_links (token_hash)",
    "ALTER TABLE invitations ADD COLUMN mailed_only BOOLEAN NOT NULL DEFAULT FALSE",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="eventapp", description=DESCRIPTION)

    async def apply():
        from eventapp.db import active_engine
        from piccolo.engine.sqlite import SQLiteEngine

        sqlite = isinstance(active_engine(), SQLiteEngine)
        primary_key = "INTEGER PRIMARY KEY NOT NULL" if sqlite else "SERIAL PRIMARY KEY"
        for statement in STATEMENTS:
            await Table.raw(statement.replace("{primary_key}", primary_key))

    manager.add_raw(apply)
    return manager
