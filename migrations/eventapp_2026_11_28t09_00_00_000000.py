from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-28T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Start-up applications: the call, incubators, nomination codes, logos, the state log"

# Plain SQL both engines accept (the primary key and bytes aside); column types as piccolo
# declares them.
STATEMENTS = [
    """CREATE TABLE application_calls (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        opens_at TIMESTAMPTZ NULL DEFAULT NULL,
        closes_at TIMESTAMPTZ NULL DEFAULT NULL,
        open_to_all BOOLEAN NOT NULL DEFAULT FALSE,
        sectors JSON NOT NULL DEFAULT '[]',
        women_led_definition TEXT NOT NULL DEFAULT '',
        updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX application_calls_event_uq ON application_calls (event)",
    """CREATE TABLE event_incubators (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        organisation INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
        contact_name VARCHAR(200) NOT NULL DEFAULT '',
        contact_email VARCHAR(320) NOT NULL DEFAULT '',
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX event_incubators_uq ON event_incubators (event, organisation)",
    """CREATE TABLE nomination_codes (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        incubator INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
        code_hash VARCHAR(64) NOT NULL,
        hint VARCHAR(8) NOT NULL DEFAULT '',
        label VARCHAR(100) NOT NULL DEFAULT '',
        cap INTEGER NOT NULL DEFAULT 5,
        used INTEGER NOT NULL DEFAULT 0,
        created_by INTEGER NULL DEFAULT NULL REFERENCES users (id) ON DELETE SET NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        revoked_at TIMESTAMPTZ NULL DEFAULT NULL,
        CHECK (used >= 0 AND used <= cap)
    )""",
    "CREATE UNIQUE INDEX nomination_codes_hash_uq ON nomination_codes (code_hash)",
    "CREATE INDEX nomination_codes_event_ix ON nomination_codes (event, incubator)",
    """CREATE TABLE applications (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        organisation INTEGER NULL DEFAULT NULL REFERENCES organisations (id) ON DELETE SET NULL,
        owner INTEGER NULL DEFAULT NULL REFERENCES users (id) ON DELETE SET NULL,
        incubator INTEGER NULL DEFAULT NULL REFERENCES organisations (id) ON DELETE SET NULL,
        nominated_by INTEGER NULL DEFAULT NULL
            REFERENCES nomination_codes (id) ON DELETE SET NULL,
        state VARCHAR(12) NOT NULL DEFAULT 'draft',
        pending_decision VARCHAR(12) NULL DEFAULT NULL,
        company_name VARCHAR(200) NOT NULL DEFAULT '',
        country VARCHAR(2) NOT NULL DEFAULT '',
        sectors JSON NOT NULL DEFAULT '[]',
        stage VARCHAR(20) NOT NULL DEFAULT '',
        year_founded INTEGER NULL DEFAULT NULL,
        team_size INTEGER NULL DEFAULT NULL,
        women_led BOOLEAN NOT NULL DEFAULT FALSE,
        founders JSON NOT NULL DEFAULT '[]',
        one_liner VARCHAR(140) NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        traction TEXT NOT NULL DEFAULT '',
        funding_sought_usd BIGINT NULL DEFAULT NULL,
        website VARCHAR(300) NOT NULL DEFAULT '',
        deck_url VARCHAR(500) NOT NULL DEFAULT '',
        contact_email VARCHAR(320) NOT NULL DEFAULT '',
        has_logo BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        submitted_at TIMESTAMPTZ NULL DEFAULT NULL,
        decided_at TIMESTAMPTZ NULL DEFAULT NULL
    )""",
    "CREATE INDEX applications_event_state_ix ON applications (event, state)",
    "CREATE INDEX applications_contact_ix ON applications (event, contact_email)",
    """CREATE UNIQUE INDEX applications_owner_uq ON applications (event, owner)
        WHERE owner IS NOT NULL AND state NOT IN ('withdrawn', 'declined')""",
    """CREATE TABLE application_logos (
        id {primary_key},
        application INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
        image {bytes} NOT NULL,
        content_type VARCHAR(40) NOT NULL DEFAULT 'image/png',
        sha256 VARCHAR(64) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX application_logos_uq ON application_logos (application)",
    """CREATE TABLE application_state_log (
        id {primary_key},
        application INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        from_state VARCHAR(12) NULL DEFAULT NULL,
        to_state VARCHAR(12) NOT NULL,
        actor INTEGER NULL DEFAULT NULL REFERENCES users (id) ON DELETE SET NULL,
        at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE INDEX application_state_log_ix ON application_state_log (application, id)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="eventapp", description=DESCRIPTION)

    async def apply():
        from piccolo.engine.sqlite import SQLiteEngine

        from eventapp.db import active_engine

        sqlite = isinstance(active_engine(), SQLiteEngine)
        primary_key = "INTEGER PRIMARY KEY NOT NULL" if sqlite else "SERIAL PRIMARY KEY"
        byte_type = "BLOB" if sqlite else "BYTEA"
        for statement in STATEMENTS:
            await Table.raw(
                statement.replace("{primary_key}", primary_key).replace("{bytes}", byte_type)
            )

    manager.add_raw(apply)
    return manager
