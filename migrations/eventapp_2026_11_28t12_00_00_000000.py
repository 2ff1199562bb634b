from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-28T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Invitations name the investor's firm or the start-up the invitee joins"

STATEMENTS = [
    "ALTER TABLE invitations ADD COLUMN organisation_name VARCHAR(200) NOT NULL DEFAULT ''",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="eventapp", description=DESCRIPTION)

    async def apply():
        for statement in STATEMENTS:
            await Table.raw(statement)

    manager.add_raw(apply)
    return manager
