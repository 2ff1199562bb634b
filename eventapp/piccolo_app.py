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
from eventapp.applications.tables import (
    Application,
    ApplicationCall,
    ApplicationLogo,
    ApplicationStateChange,
    EventIncubator,
    NominationCode,
)
from eventapp.events.tables import Event, EventDay, MeetingTable, Stage
from eventapp.mail.tables import OutboxMessage
from eventapp.matchmaking.tables import TABLES as MATCHMAKING_TABLES
from eventapp.programme.tables import (
    ProgrammeAction,
    ProgrammeItem,
    ProgrammeRelease,
    ProgrammeState,
)
from eventapp.review.tables import (
    Review,
    ReviewAssignment,
    ReviewConflict,
    ReviewSettings,
    SelectionBoard,
    SelectionLock,
)
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
        ProgrammeItem,
        ProgrammeState,
        ProgrammeRelease,
        ProgrammeAction,
        *MATCHMAKING_TABLES,
        ApplicationCall,
        EventIncubator,
        NominationCode,
        Application,
        ApplicationLogo,
        ApplicationStateChange,
        ReviewSettings,
        ReviewAssignment,
        ReviewConflict,
        Review,
        SelectionBoard,
        SelectionLock,
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
