from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-28T09:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "The pitch programme: items, version, releases and stage actions"

# Plain SQL both engines accept (the primary key aside); column types as piccolo declares them.
STATEMENTS = [
    """CREATE TABLE programme_items (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        stage INTEGER NOT NULL REFERENCES stages (id) ON DELETE CASCADE,
        day DATE NOT NULL,
        position INTEGER NOT NULL,
        kind VARCHAR(20) NOT NULL,
        title VARCHAR(200) NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        organisation INTEGER NULL DEFAULT NULL REFERENCES organisations (id) ON DELETE SET NULL,
        planned_start TIMESTAMPTZ NOT NULL,
        planned_minutes INTEGER NOT NULL,
        pitch_minutes INTEGER NOT NULL DEFAULT 0,
        qa_minutes INTEGER NOT NULL DEFAULT 0,
        absorbs_delay BOOLEAN NOT NULL DEFAULT FALSE,
        min_minutes INTEGER NOT NULL DEFAULT 0,
        status VARCHAR(10) NOT NULL DEFAULT 'planned',
        actual_start TIMESTAMPTZ NULL DEFAULT NULL,
        actual_end TIMESTAMPTZ NULL DEFAULT NULL,
        extra_minutes INTEGER NOT NULL DEFAULT 0,
        delay_minutes INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX programme_items_stage_day_ix ON programme_items (event, day, stage, position)",
    "CREATE UNIQUE INDEX programme_items_running_uq ON programme_items (stage, day) "
    "WHERE status = 'running'",
    "CREATE UNIQUE INDEX programme_items_pitch_uq ON programme_items (event, organisation) "
    "WHERE organisation IS NOT NULL AND status <> 'cancelled'",
    """CREATE TABLE programme_state (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        version INTEGER NOT NULL DEFAULT 0,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX programme_state_event_uq ON programme_state (event)",
    """CREATE TABLE programme_releases (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        programme_version INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        items JSON NOT NULL DEFAULT '[]',
        changelog JSON NOT NULL,
        released_by INTEGER NULL DEFAULT NULL REFERENCES users (id) ON DELETE SET NULL,
        released_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
    )""",
    "CREATE UNIQUE INDEX programme_releases_number_uq ON programme_releases (event, number)",
    """CREATE TABLE programme_actions (
        id {primary_key},
        event INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        kind VARCHAR(20) NOT NULL,
        stage INTEGER NOT NULL REFERENCES stages (id) ON DELETE CASCADE,
        day DATE NOT NULL,
        item INTEGER NULL DEFAULT NULL,
        minutes INTEGER NULL DEFAULT NULL,
        actor INTEGER NULL DEFAULT NULL REFERENCES users (id) ON DELETE SET NULL,
        acted_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
        before JSON NOT NULL DEFAULT '[]',
        created JSON NOT NULL DEFAULT '[]',
        undone BOOLEAN NOT NULL DEFAULT FALSE
    )""",
    "CREATE UNIQUE INDEX programme_actions_version_uq ON programme_actions (event, version)",
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
