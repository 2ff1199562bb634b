from __future__ import annotations

from litestar import Controller, Request
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from eventapp.accounts.guards import (
    EventAccess,
    current_user,
    event_role,
    event_visible,
    provide_event_access,
    require_admin,
)
from eventapp.accounts.schemas import Role
from eventapp.accounts.service import CurrentUser
from eventapp.events import service
from eventapp.events.schemas import (
    EventCreate,
    EventOut,
    EventPatch,
    MeetingTableIn,
    MeetingTableOut,
    MeetingTablePatch,
    MeetingTablesBulk,
    StageIn,
    StageOut,
    StagePatch,
)
from eventapp.pagination import Page, PageRequest, page_of
from eventapp.params import RowId
from eventapp.routing import delete, get, patch, post

organiser_only = event_role(Role.organiser)


async def event_out(event: dict, roles: frozenset[Role] | set[Role] = frozenset()) -> EventOut:
    days = await service.days_of(event["id"])
    return EventOut(**event, days=days, my_roles=sorted(role.value for role in roles))


class EventsController(Controller):
    path = "/api/events"
    tags = ["events"]

    @get("/", opt={"public": True})
    async def list_events(
        self, request: Request, page: NamedDependency[PageRequest]
    ) -> Page[EventOut]:
        """Published events, and any event you have a role in; `q` searches names and slugs."""
        user = await current_user(request)
        if user is not None and user.token_event_id is not None:
            user = None  # a device token for one event sees what anyone sees, nothing of its owner
        events, total = await service.visible_events(
            user_id=user.id if user else None, is_admin=bool(user and user.is_admin), page=page
        )
        days = await service.days_by_event([event["id"] for event in events])
        items = [EventOut(**event, days=days.get(event["id"], [])) for event in events]
        return page_of(items, total, page)

    @post("/", guards=[require_admin], status_code=HTTP_201_CREATED)
    async def create_event(
        self, user: NamedDependency[CurrentUser], data: JSONBody[EventCreate]
    ) -> EventOut:
        """Create an event (administrators); you become its first organiser."""
        event = await service.create_event(data, organiser_id=user.id)
        return await event_out(event, {Role.organiser})

    @get(
        "/{slug:str}",
        guards=[event_visible],
        opt={"public": True},
        dependencies={"access": Provide(provide_event_access)},
    )
    async def get_event(self, access: NamedDependency[EventAccess]) -> EventOut:
        return await event_out(access.event, access.roles)

    @patch(
        "/{slug:str}",
        guards=[organiser_only],
        dependencies={"access": Provide(provide_event_access)},
    )
    async def update_event(
        self, access: NamedDependency[EventAccess], data: JSONBody[EventPatch]
    ) -> EventOut:
        await service.update_event(access.event_id, data)
        return await event_out(await service.event_by_slug(access.event["slug"]), access.roles)


class StagesController(Controller):
    path = "/api/events/{slug:str}/stages"
    tags = ["events"]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/", guards=[event_visible], opt={"public": True})
    async def list_stages(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[StageOut]:
        rows, total = await service.stages_of(access.event_id, page)
        return page_of([StageOut(**row) for row in rows], total, page)

    @post("/", guards=[organiser_only], status_code=HTTP_201_CREATED)
    async def add_stage(
        self, access: NamedDependency[EventAccess], data: JSONBody[StageIn]
    ) -> StageOut:
        return StageOut(**await service.add_stage(access.event_id, **data.model_dump()))

    @patch("/{stage_id:int}", guards=[organiser_only])
    async def update_stage(
        self,
        access: NamedDependency[EventAccess],
        stage_id: RowId,
        data: JSONBody[StagePatch],
    ) -> StageOut:
        fields = data.model_dump(exclude_unset=True, exclude_none=True)
        return StageOut(**await service.update_stage(access.event_id, stage_id, fields))

    @delete("/{stage_id:int}", guards=[organiser_only])
    async def remove_stage(self, access: NamedDependency[EventAccess], stage_id: RowId) -> None:
        await service.remove_stage(access.event_id, stage_id)


class MeetingTablesController(Controller):
    path = "/api/events/{slug:str}/tables"
    tags = ["events"]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/", guards=[event_visible], opt={"public": True})
    async def list_tables(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[MeetingTableOut]:
        """The meeting tables by label; `q` searches labels and areas."""
        rows, total = await service.tables_of(access.event_id, page)
        return page_of([MeetingTableOut(**row) for row in rows], total, page)

    @post("/", guards=[organiser_only], status_code=HTTP_201_CREATED)
    async def add_table(
        self, access: NamedDependency[EventAccess], data: JSONBody[MeetingTableIn]
    ) -> MeetingTableOut:
        rows = await service.add_tables(access.event_id, [data])
        return MeetingTableOut(**rows[0])

    @post("/bulk", guards=[organiser_only], status_code=HTTP_201_CREATED)
    async def add_numbered_tables(
        self, access: NamedDependency[EventAccess], data: JSONBody[MeetingTablesBulk]
    ) -> list[MeetingTableOut]:
        """Add `count` numbered tables (T01, T02, ...) after the highest number in use."""
        return [
            MeetingTableOut(**row)
            for row in await service.add_numbered_tables(access.event_id, data)
        ]

    @patch("/{table_id:int}", guards=[organiser_only])
    async def update_table(
        self,
        access: NamedDependency[EventAccess],
        table_id: RowId,
        data: JSONBody[MeetingTablePatch],
    ) -> MeetingTableOut:
        fields = data.model_dump(exclude_unset=True, exclude_none=True)
        return MeetingTableOut(**await service.update_table(access.event_id, table_id, fields))

    @delete("/{table_id:int}", guards=[organiser_only])
    async def remove_table(self, access: NamedDependency[EventAccess], table_id: RowId) -> None:
        await service.remove_table(access.event_id, table_id)


ROUTES = [EventsController, StagesController, MeetingTablesController]
