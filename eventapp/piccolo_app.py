"""The one piccolo app: every domain's tables, and the migrations folder at the project's top."""

from piccolo.conf.apps import AppConfig

from eventapp.accounts.tables import (
    AuthToken,
    Invitation,
    LoginLink,
    Organisation,
    User,
    UserEventRole,
)
from eventapp.events.tables import Event, EventDay, MeetingTable, Stage
from eventapp.mail.tables import OutboxMessage
from eventapp.settings import PROJECT_ROOT
from eventapp.tickets.tables import (
    BadgeExport,
    Checkin,
    CheckinList,
    RevokedSecret,
    Ticket,
    TicketKey,
    TicketType,
    WaitlistEntry,
)

APP_CONFIG = AppConfig(
    app_name="eventapp",
    migrations_folder_path=str(PROJECT_ROOT / "migrations"),
    table_classes=[
        Event,
        EventDay,
        Stage,
        MeetingTable,
        Organisation,
        User,
        UserEventRole,
        AuthToken,
        Invitation,
        LoginLink,
        OutboxMessage,
        TicketKey,
        TicketType,
        Ticket,
        RevokedSecret,
        WaitlistEntry,
        CheckinList,
        Checkin,
        BadgeExport,
    ],
    migration_dependencies=[],
    commands=[],
)
