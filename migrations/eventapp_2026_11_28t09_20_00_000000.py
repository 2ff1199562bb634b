from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-28T09:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Tickets: keys, types, tickets, waiting list, revocations, check-in lists, check-ins"

# Plain SQL both engines accept (the primary key aside); column types as piccolo declares them.
STATEMENTS = [
    """CREATE TABLE ticket_keys (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        private_key VARCHAR(64) NOT NULL,
        public_key VARCHAR(64) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX ticket_keys_event_uq ON ticket_keys (event)",
    """CREATE TABLE ticket_types (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        kind VARCHAR(20) NOT NULL,
        name VARCHAR(100) NOT NULL,
        capacity INTEGER NOT NULL DEFAULT 0,
        sales_from TIMESTAMPTZ NULL DEFAULT NULL,
        sales_until TIMESTAMPTZ NULL DEFAULT NULL,
        public BOOLEAN NOT NULL DEFAULT TRUE,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX ticket_types_name_uq ON ticket_types (event, name)",
    """CREATE TABLE tickets (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        ticket_type INTEGER NOT NULL REFERENCES ticket_types (id) ON DELETE CASCADE,
        "user" INTEGER NULL DEFAULT NULL REFERENCES users (id) ON DELETE SET NULL,
        name VARCHAR(200) NOT NULL,
        email VARCHAR(320) NOT NULL,
        organisation VARCHAR(200) NOT NULL DEFAULT '',
        status VARCHAR(10) NOT NULL DEFAULT 'valid',
        secret VARCHAR(160) NULL DEFAULT NULL,
        source VARCHAR(10) NOT NULL DEFAULT 'public',
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX tickets_secret_uq ON tickets (secret)",
    "CREATE UNIQUE INDEX tickets_type_email_uq ON tickets (ticket_type, lower(email))"
    " WHERE status <> 'canceled'",
    'CREATE UNIQUE INDEX tickets_user_type_uq ON tickets ("user", ticket_type)'
    ' WHERE "user" IS NOT NULL',
    "CREATE INDEX tickets_event_ix ON tickets (event, id)",
    "CREATE INDEX tickets_type_status_ix ON tickets (ticket_type, status)",
    """CREATE TABLE revoked_secrets (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        ticket INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
        digest VARCHAR(24) NOT NULL,
        revoked_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX revoked_secrets_uq ON revoked_secrets (event, digest)",
    """CREATE TABLE ticket_waitlist (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        ticket_type INTEGER NOT NULL REFERENCES ticket_types (id) ON DELETE CASCADE,
        name VARCHAR(200) NOT NULL,
        email VARCHAR(320) NOT NULL,
        organisation VARCHAR(200) NOT NULL DEFAULT '',
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        ticket INTEGER NULL DEFAULT NULL REFERENCES tickets (id) ON DELETE SET NULL
    )""",
    "CREATE UNIQUE INDEX ticket_waitlist_uq ON ticket_waitlist (ticket_type, lower(email))"
    " WHERE ticket IS NULL",
    """CREATE TABLE checkin_lists (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        name VARCHAR(100) NOT NULL,
        type_ids TEXT NOT NULL DEFAULT '',
        valid_from TIMESTAMPTZ NULL DEFAULT NULL,
        valid_until TIMESTAMPTZ NULL DEFAULT NULL,
        multi_entry BOOLEAN NOT NULL DEFAULT FALSE,
        allow_exit BOOLEAN NOT NULL DEFAULT FALSE
    )""",
    "CREATE UNIQUE INDEX checkin_lists_name_uq ON checkin_lists (event, name)",
    """CREATE TABLE checkins (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        checkin_list INTEGER NOT NULL REFERENCES checkin_lists (id) ON DELETE CASCADE,
        ticket INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
        kind VARCHAR(5) NOT NULL,
        nonce VARCHAR(64) NOT NULL,
        successful BOOLEAN NOT NULL DEFAULT FALSE,
        reason VARCHAR(20) NOT NULL DEFAULT '',
        scanned_at TIMESTAMPTZ NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        gate VARCHAR(60) NOT NULL DEFAULT '',
        staff INTEGER NULL DEFAULT NULL REFERENCES users (id) ON DELETE SET NULL,
        offline BOOLEAN NOT NULL DEFAULT FALSE,
        conflict BOOLEAN NOT NULL DEFAULT FALSE,
        undone_at TIMESTAMPTZ NULL DEFAULT NULL,
        answer TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE UNIQUE INDEX checkins_nonce_uq ON checkins (event, nonce)",
    "CREATE INDEX checkins_ticket_ix ON checkins (checkin_list, ticket, scanned_at, id)",
    "CREATE INDEX checkins_event_ix ON checkins (event, scanned_at)",
    """CREATE TABLE badge_exports (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        status VARCHAR(10) NOT NULL DEFAULT 'queued',
        total INTEGER NOT NULL DEFAULT 0,
        done INTEGER NOT NULL DEFAULT 0,
        path VARCHAR(500) NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '',
        claimed_until TIMESTAMPTZ NULL DEFAULT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        finished_at TIMESTAMPTZ NULL DEFAULT NULL
    )""",
    "CREATE INDEX badge_exports_status_ix ON badge_exports (status, created_at)",
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
