from __future__ import annotations

from litestar import Controller, Request, Response
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from eventapp.accounts.guards import EventAccess, event_role, event_visible, provide_event_access
from eventapp.accounts.schemas import Role
from eventapp.openapi import Refusal
from eventapp.pagination import Page, PageRequest, page_of
from eventapp.params import RowId
from eventapp.programme import service
from eventapp.programme.agenda_qr import agenda_qr_png
from eventapp.programme.schemas import (
    ActionIn,
    ActionOut,
    GenerateIn,
    ItemIn,
    ItemOut,
    ItemPatch,
    ProgrammeOut,
    ReleaseIn,
    ReleaseOut,
    UndoIn,
)
from eventapp.routing import delete, get, patch, post

organiser_only = event_role(Role.organiser)

STALE = Refusal(
    409, "The programme changed since that version; reload.", ("stale_version",), open=True
)
ACTION_REFUSALS = (
    "stale_version",
    "nothing_to_start",
    "no_current_item",
    "nothing_to_delay",
    "item_not_planned",
    "not_a_pitch",
    "bad_position",
    "item_unknown",
)


class ProgrammeController(Controller):
    """The pitch programme: read by anyone who may see the event, edited by its organisers."""

    path = "/api/events/{slug:str}/programme"
    tags = ["programme"]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/", guards=[event_visible], opt={"public": True})
    async def get_programme(self, access: NamedDependency[EventAccess]) -> ProgrammeOut:
        """Every item with planned and projected times, the current items, the version."""
        return ProgrammeOut(**await service.programme(access.event_id))

    @get(
        "/agenda-qr.png",
        guards=[event_visible],
        opt={"public": True},
        media_type="image/png",
    )
    async def get_agenda_qr(
        self, request: Request, access: NamedDependency[EventAccess]
    ) -> Response:
        """A QR code of the agenda page's address, for the venue screen."""
        base = request.app.state.settings.public_url.rstrip("/") or str(request.base_url).rstrip(
            "/"
        )
        png = agenda_qr_png(f"{base}/agenda.html?event={access.event['slug']}")
        return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=300"})

    @post(
        "/items",
        guards=[organiser_only],
        status_code=HTTP_201_CREATED,
        opt={"refuses": [Refusal(400, "Not a start-up of this event.", ("startup_unknown",))]},
    )
    async def add_programme_item(
        self, access: NamedDependency[EventAccess], data: JSONBody[ItemIn]
    ) -> ItemOut:
        return ItemOut(**await service.add_item(access.event_id, data))

    @patch("/items/{item_id:int}", guards=[organiser_only])
    async def update_programme_item(
        self, access: NamedDependency[EventAccess], item_id: RowId, data: JSONBody[ItemPatch]
    ) -> ItemOut:
        return ItemOut(**await service.update_item(access.event_id, item_id, data))

    @delete(
        "/items/{item_id:int}",
        guards=[organiser_only],
        opt={"refuses": [Refusal(409, "The item has started.", ("item_started",))]},
    )
    async def remove_programme_item(
        self, access: NamedDependency[EventAccess], item_id: RowId
    ) -> None:
        await service.remove_item(access.event_id, item_id)

    @post(
        "/generate",
        guards=[organiser_only],
        status_code=HTTP_201_CREATED,
        opt={
            "refuses": [
                Refusal(
                    409,
                    "The stage-day has items, or none can be made.",
                    ("programme_not_empty", "item_started", "no_startups"),
                ),
                Refusal(400, "Not a start-up of this event.", ("startup_unknown",)),
            ]
        },
    )
    async def generate_programme(
        self, access: NamedDependency[EventAccess], data: JSONBody[GenerateIn]
    ) -> list[ItemOut]:
        """Pitches for the participating start-ups on one stage-day, grouped, with breaks."""
        return [ItemOut(**item) for item in await service.generate(access.event_id, data)]

    @post(
        "/actions",
        guards=[organiser_only],
        status_code=HTTP_200_OK,
        opt={
            "refuses": [
                Refusal(409, "Stale version, or the action does not apply.", ACTION_REFUSALS),
                Refusal(400, "The action needs an argument.", ("missing_argument",)),
                Refusal(404, "No programme on that stage and day.", ("no_programme",)),
            ]
        },
    )
    async def act_on_stage(
        self, request: Request, access: NamedDependency[EventAccess], data: JSONBody[ActionIn]
    ) -> ProgrammeOut:
        """A stage action (start next, end, extend, delay, move, swap, no-show, break, cancel)
        against the `version` you saw; answers the programme at the new version."""
        user = access.user
        await service.act(access.event_id, user.id if user else None, data)
        return ProgrammeOut(**await service.programme(access.event_id))

    @post(
        "/undo",
        guards=[organiser_only],
        status_code=HTTP_200_OK,
        opt={
            "refuses": [
                Refusal(
                    409, "Stale version or nothing to undo.", ("stale_version", "nothing_to_undo")
                )
            ]
        },
    )
    async def undo_stage_action(
        self, access: NamedDependency[EventAccess], data: JSONBody[UndoIn]
    ) -> ProgrammeOut:
        """Undo the newest stage action not yet undone, against the `version` you saw; again
        and again, undo walks back through the stage actions down to the last edit or release."""
        user = access.user
        await service.undo(access.event_id, user.id if user else None, data.version)
        return ProgrammeOut(**await service.programme(access.event_id))

    @get("/actions", guards=[organiser_only])
    async def list_stage_actions(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[ActionOut]:
        """Who did what on stage and when, newest first."""
        rows, total = await service.actions(access.event_id, page)
        return page_of([ActionOut(**row) for row in rows], total, page)

    @post("/releases", guards=[organiser_only], status_code=HTTP_201_CREATED)
    async def release_programme(
        self, access: NamedDependency[EventAccess], data: JSONBody[ReleaseIn]
    ) -> ReleaseOut:
        """Release the programme as it is: a numbered version with what changed since the last."""
        user = access.user
        return ReleaseOut(
            **await service.release(access.event_id, user.id if user else None, data.note)
        )

    @get("/releases", guards=[event_visible], opt={"public": True})
    async def list_programme_releases(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[ReleaseOut]:
        """Released versions, newest first, each with its changelog."""
        rows, total = await service.releases(access.event_id, page)
        return page_of([ReleaseOut(**row) for row in rows], total, page)


ROUTES = [ProgrammeController]
