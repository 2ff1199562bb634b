from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-28T04:06:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "Unique and partial unique indexes"

# Unique and partial unique indexes piccolo cannot declare on SQLite. Raw SQL that both engines
# accept; the names match eventapp's UniqueIndex declarations, which map violations to reasons.
INDEXES = [
    "CREATE UNIQUE INDEX events_slug_uq ON events (slug)",
    "CREATE UNIQUE INDEX event_days_event_day_uq ON event_days (event, day)",
    "CREATE UNIQUE INDEX stages_event_name_uq ON stages (event, name)",
    "CREATE UNIQUE INDEX meeting_tables_event_label_uq ON meeting_tables (event, label)",
    "CREATE UNIQUE INDEX users_email_uq ON users (lower(email))",
    'CREATE UNIQUE INDEX user_event_roles_uq ON user_event_roles ("user", event, role)',
    "CREATE UNIQUE INDEX auth_tokens_hash_uq ON auth_tokens (token_hash)",
    "CREATE UNIQUE INDEX invitations_hash_uq ON invitations (token_hash)",
    "CREATE UNIQUE INDEX invitations_open_uq ON invitations (event, email, role)"
    " WHERE accepted_at IS NULL AND revoked_at IS NULL",
    "CREATE INDEX user_event_roles_event_ix ON user_event_roles (event, role)",
    'CREATE INDEX auth_tokens_user_ix ON auth_tokens ("user")',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="eventapp", description=DESCRIPTION)

    async def create_indexes():
        for statement in INDEXES:
            await Table.raw(statement)

    manager.add_raw(create_indexes)
    return manager
