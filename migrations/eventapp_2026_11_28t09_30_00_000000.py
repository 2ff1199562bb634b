from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-28T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Matchmaking: meeting grid, investor profiles, fit, marks, meetings, feedback, feeds"

ACTIVE = "WHERE status IN ('pending', 'accepted')"

# Plain SQL both engines accept (the primary key aside); column types as piccolo declares them.
# Table.raw reads {} as a placeholder: a JSON object default is written {{}}.
STATEMENTS = [
    """CREATE TABLE meeting_settings (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        slot_minutes INTEGER NOT NULL DEFAULT 20,
        blocks JSON NOT NULL DEFAULT '[]',
        max_investor INTEGER NOT NULL DEFAULT 8,
        max_startup INTEGER NOT NULL DEFAULT 12,
        min_startup INTEGER NOT NULL DEFAULT 0,
        fixed_tables BOOLEAN NOT NULL DEFAULT FALSE,
        request_hours INTEGER NOT NULL DEFAULT 24,
        weights JSON NOT NULL DEFAULT '{{}}'
    )""",
    "CREATE UNIQUE INDEX meeting_settings_event_uq ON meeting_settings (event)",
    """CREATE TABLE meeting_slots (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        starts_at TIMESTAMPTZ NOT NULL,
        ends_at TIMESTAMPTZ NOT NULL,
        day_index INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE UNIQUE INDEX meeting_slots_uq ON meeting_slots (event, starts_at)",
    """CREATE TABLE investor_profiles (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        firm INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
        investor_type VARCHAR(20) NOT NULL DEFAULT 'vc',
        country VARCHAR(2) NOT NULL DEFAULT '',
        sectors JSON NOT NULL DEFAULT '[]',
        stages JSON NOT NULL DEFAULT '[]',
        ticket_min_usd INTEGER NULL DEFAULT NULL,
        ticket_max_usd INTEGER NULL DEFAULT NULL,
        countries_of_interest JSON NOT NULL DEFAULT '[]',
        thesis TEXT NOT NULL DEFAULT '',
        updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX investor_profiles_uq ON investor_profiles (event, firm)",
    """CREATE TABLE meeting_fits (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        firm INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
        startup INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
        score DOUBLE PRECISION NOT NULL DEFAULT 0,
        gate VARCHAR(40) NULL DEFAULT NULL,
        breakdown JSON NOT NULL DEFAULT '{{}}'
    )""",
    "CREATE UNIQUE INDEX meeting_fits_uq ON meeting_fits (event, firm, startup)",
    """CREATE TABLE meeting_marks (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        side VARCHAR(10) NOT NULL,
        investor INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        startup INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
        mark INTEGER NOT NULL
    )""",
    "CREATE UNIQUE INDEX meeting_marks_uq ON meeting_marks (event, side, investor, startup)",
    """CREATE TABLE meeting_unavailable (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        party_kind VARCHAR(10) NOT NULL,
        party_id INTEGER NOT NULL,
        slot INTEGER NOT NULL REFERENCES meeting_slots (id) ON DELETE CASCADE
    )""",
    "CREATE UNIQUE INDEX meeting_unavailable_uq "
    "ON meeting_unavailable (event, party_kind, party_id, slot)",
    """CREATE TABLE meeting_counts (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        party_kind VARCHAR(10) NOT NULL,
        party_id INTEGER NOT NULL,
        active INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE UNIQUE INDEX meeting_counts_uq ON meeting_counts (event, party_kind, party_id)",
    """CREATE TABLE schedule_versions (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        status VARCHAR(12) NOT NULL DEFAULT 'provisional',
        meetings INTEGER NOT NULL DEFAULT 0,
        value DOUBLE PRECISION NOT NULL DEFAULT 0,
        bound DOUBLE PRECISION NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        published_at TIMESTAMPTZ NULL DEFAULT NULL
    )""",
    "CREATE UNIQUE INDEX schedule_versions_uq ON schedule_versions (event, number)",
    """CREATE TABLE meetings (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        slot INTEGER NOT NULL REFERENCES meeting_slots (id),
        meeting_table INTEGER NOT NULL REFERENCES meeting_tables (id),
        investor INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        firm INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
        startup INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
        status VARCHAR(10) NOT NULL,
        source VARCHAR(10) NOT NULL,
        version INTEGER NULL DEFAULT NULL REFERENCES schedule_versions (id) ON DELETE SET NULL,
        requested_by INTEGER NULL DEFAULT NULL REFERENCES users (id) ON DELETE SET NULL,
        requester_side VARCHAR(10) NOT NULL DEFAULT '',
        message TEXT NOT NULL DEFAULT '',
        expires_at TIMESTAMPTZ NULL DEFAULT NULL,
        sequence INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    f"CREATE UNIQUE INDEX meetings_investor_slot_uq ON meetings (investor, slot) {ACTIVE}",
    f"CREATE UNIQUE INDEX meetings_startup_slot_uq ON meetings (startup, slot) {ACTIVE}",
    f"CREATE UNIQUE INDEX meetings_table_slot_uq ON meetings (meeting_table, slot) {ACTIVE}",
    f"CREATE UNIQUE INDEX meetings_pair_uq ON meetings (event, investor, startup) {ACTIVE}",
    f"CREATE UNIQUE INDEX meetings_firm_uq ON meetings (event, firm, startup) {ACTIVE}",
    "CREATE INDEX meetings_event_slot_ix ON meetings (event, slot)",
    "CREATE INDEX meetings_due_ix ON meetings (status, expires_at)",
    """CREATE TABLE meeting_change_requests (
        id {primary_key},
        meeting INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
        person INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        kind VARCHAR(10) NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        status VARCHAR(10) NOT NULL DEFAULT 'open',
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    """CREATE TABLE meeting_feedback (
        id {primary_key},
        meeting INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
        side VARCHAR(10) NOT NULL,
        person INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        happened BOOLEAN NOT NULL,
        interest VARCHAR(20) NOT NULL DEFAULT 'none',
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX meeting_feedback_uq ON meeting_feedback (meeting, side)",
    """CREATE TABLE meeting_feed_tokens (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        person INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        token_hash VARCHAR(64) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX meeting_feed_tokens_hash_uq ON meeting_feed_tokens (token_hash)",
    "CREATE UNIQUE INDEX meeting_feed_tokens_uq ON meeting_feed_tokens (event, person)",
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
