from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Request
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_200_OK

from eventapp.accounts.guards import EventAccess, event_role, provide_event_access
from eventapp.accounts.schemas import Role
from eventapp.mail import service
from eventapp.mail.schemas import OutboxItem
from eventapp.openapi import Refusal
from eventapp.pagination import Page, PageRequest, page_of
from eventapp.params import RowId
from eventapp.routing import get, post

Status = Literal["queued", "sent", "failed"]


class OutboxController(Controller):
    """The event's mail: what went out, what waits, what failed and why; resend."""

    path = "/api/events/{slug:str}/outbox"
    tags = ["mail"]
    guards = [event_role(Role.organiser)]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/")
    async def list_outbox(
        self,
        access: NamedDependency[EventAccess],
        page: NamedDependency[PageRequest],
        status: Annotated[
            Status | None, QueryParameter(description="Only messages in this state")
        ] = None,
    ) -> Page[OutboxItem]:
        """Newest first; `q` searches recipients and subjects."""
        rows, total = await service.list_outbox(access.event_id, page, status)
        return page_of([OutboxItem(**row) for row in rows], total, page)

    @post(
        "/{message_id:int}/resend",
        status_code=HTTP_200_OK,
        opt={"refuses": [Refusal(409, "A sender is sending it now.", ("message_sending",))]},
    )
    async def resend_message(
        self, request: Request, access: NamedDependency[EventAccess], message_id: RowId
    ) -> OutboxItem:
        """Queue the message again now (after a failure, or for someone who lost it)."""
        item = OutboxItem(**await service.resend(access.event_id, message_id))
        request.app.state.mail.wake()
        return item


ROUTES = [OutboxController]
