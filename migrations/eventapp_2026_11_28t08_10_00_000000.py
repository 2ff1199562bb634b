from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-28T08:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Verified emails; device tokens scoped to one event"

# Plain SQL both engines accept; the column types match what piccolo declares for the tables.
STATEMENTS = [
    "ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMPTZ NULL DEFAULT NULL",
    "ALTER TABLE auth_tokens ADD COLUMN event INTEGER NULL DEFAULT NULL"
    " REFERENCES events (id) ON DELETE CASCADE",
    "CREATE INDEX auth_tokens_event_ix ON auth_tokens (event) WHERE event IS NOT NULL",
    # Administrators were made by an operator at the command line; anyone else proves a mailbox.
    "UPDATE users SET email_verified_at = created_at WHERE is_admin = TRUE",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="eventapp", description=DESCRIPTION)

    async def apply():
        for statement in STATEMENTS:
            await Table.raw(statement)

    manager.add_raw(apply)
    return manager
