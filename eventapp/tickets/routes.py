"""Tickets over HTTP: ticket types, public registration, tickets, badges, check-in lists and the
check-in route door scanners call (`POST /api/events/{slug}/checkins`, pretix's answers)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

import msgspec
from litestar import Controller, MediaType, Request, Response
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from eventapp.accounts.guards import EventAccess, event_role, event_visible, provide_event_access
from eventapp.accounts.routes import client_address
from eventapp.accounts.schemas import Role
from eventapp.accounts.throttle import Limit
from eventapp.openapi import Refusal
from eventapp.pagination import Page, PageRequest, page_of
from eventapp.params import RowId
from eventapp.routing import get, lane, patch, post
from eventapp.tickets import exports, service
from eventapp.tickets.badges import Badge, badge_png, badges_pdf
from eventapp.tickets.live import counts_changed
from eventapp.tickets.qr import qr_png
from eventapp.tickets.schemas import (
    AutoTicketsOut,
    CheckinCounts,
    CheckinIn,
    CheckinListIn,
    CheckinListOut,
    CheckinOk,
    CheckinRow,
    ExportOut,
    ImportOut,
    RegistrationIn,
    RegistrationOut,
    RevocationOut,
    ScannerKey,
    TicketImport,
    TicketIn,
    TicketOut,
    TicketTypeIn,
    TicketTypeOut,
    TicketTypePatch,
)

organiser_only = event_role(Role.organiser)
at_the_door = event_role(Role.organiser, Role.door_staff)
TYPE_UNKNOWN = Refusal(404, "The event has no such ticket type.", ("ticket_type_unknown",))
# Registration mails a ticket: every request counts, per client address and per email, so
# nobody floods a mailbox or the waiting list (a 429 with Retry-After when spent).
REGISTRATION_LIMITS = (
    Limit("register-address", attempts=60, window_s=600),
    Limit("register-email", attempts=3, window_s=900),
)
PNG = "image/png"
PDF = "application/pdf"


class TicketTypesController(Controller):
    path = "/api/events/{slug:str}/ticket-types"
    tags = ["tickets"]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/", guards=[event_visible], opt={"public": True})
    async def list_ticket_types(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[TicketTypeOut]:
        """Ticket types with what is left; anyone sees the public ones, organisers every one."""
        public_only = Role.organiser not in access.roles
        rows, total = await service.ticket_types(access.event_id, page, public_only)
        return page_of([TicketTypeOut(**row) for row in rows], total, page)

    @post("/", guards=[organiser_only], status_code=HTTP_201_CREATED)
    async def create_ticket_type(
        self, access: NamedDependency[EventAccess], data: JSONBody[TicketTypeIn]
    ) -> TicketTypeOut:
        """A new type; an investor or start-up type issues those people their tickets at once."""
        return TicketTypeOut(**await service.create_ticket_type(access.event_id, data.model_dump()))

    @patch("/{type_id:int}", guards=[organiser_only])
    async def update_ticket_type(
        self, access: NamedDependency[EventAccess], type_id: RowId, data: JSONBody[TicketTypePatch]
    ) -> TicketTypeOut:
        fields = data.model_dump(exclude_unset=True)
        return TicketTypeOut(**await service.update_ticket_type(access.event_id, type_id, fields))


class RegistrationController(Controller):
    path = "/api/events/{slug:str}/registrations"
    tags = ["tickets"]
    dependencies = {"access": Provide(provide_event_access)}

    @post(
        "/",
        guards=[event_visible],
        status_code=HTTP_201_CREATED,
        opt={
            "public": True,
            "rate_limited": True,
            "refuses": [
                TYPE_UNKNOWN,
                Refusal(
                    409,
                    "Already registered or waiting, invitation only, or not on sale now.",
                    ("already_registered", "already_waiting", "not_public", "not_on_sale"),
                ),
            ],
        },
    )
    async def register_for_ticket(
        self,
        request: Request,
        access: NamedDependency[EventAccess],
        data: JSONBody[RegistrationIn],
    ) -> RegistrationOut:
        """Register: a ticket mailed with its QR code while places last, else the waiting list."""
        await request.app.state.throttle.spend(
            address=client_address(request), account=str(data.email), limits=REGISTRATION_LIMITS
        )
        answer = await service.register(
            access.event_id,
            data.ticket_type,
            name=data.name,
            email=str(data.email),
            organisation=data.organisation,
        )
        return RegistrationOut(**answer)


class TicketsController(Controller):
    path = "/api/events/{slug:str}/tickets"
    tags = ["tickets"]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/", guards=[at_the_door])
    async def list_tickets(
        self,
        access: NamedDependency[EventAccess],
        page: NamedDependency[PageRequest],
        status: Annotated[
            Literal["valid", "canceled", "blocked"] | None,
            QueryParameter(description="Only tickets in this state"),
        ] = None,
        ticket_type: Annotated[
            int | None, QueryParameter(ge=1, le=2**31 - 1, description="Only this type")
        ] = None,
    ) -> Page[TicketOut]:
        """By name; `q` finds people by name, email or organisation (for those without a QR)."""
        rows, total = await service.tickets_of(access.event_id, page, status, ticket_type)
        return page_of([TicketOut(**row) for row in rows], total, page)

    @post(
        "/", guards=[organiser_only], status_code=HTTP_201_CREATED, opt={"refuses": [TYPE_UNKNOWN]}
    )
    async def issue_ticket(
        self, access: NamedDependency[EventAccess], data: JSONBody[TicketIn]
    ) -> TicketOut:
        """Issue one ticket (within the type's capacity) and mail it."""
        row = await service.issue_ticket(
            access.event_id,
            data.ticket_type,
            name=data.name,
            email=str(data.email),
            organisation=data.organisation,
        )
        return TicketOut(**row)

    @post(
        "/import",
        guards=[organiser_only],
        status_code=HTTP_201_CREATED,
        opt={
            "refuses": [
                Refusal(
                    400, "Nothing imported: `errors` names each line at fault.", ("import_invalid",)
                )
            ]
        },
    )
    async def import_tickets(
        self, access: NamedDependency[EventAccess], data: JSONBody[TicketImport]
    ) -> ImportOut:
        """Import attendees from CSV: every row gets a ticket, or none does."""
        return ImportOut(created=await service.import_csv(access.event_id, data.csv, data.send))

    @post("/for-roles", guards=[organiser_only], status_code=HTTP_200_OK)
    async def issue_role_tickets(self, access: NamedDependency[EventAccess]) -> AutoTicketsOut:
        """Tickets for investors and start-up teams who have none yet (safe to repeat)."""
        return AutoTicketsOut(**await service.issue_role_tickets(access.event_id))

    @get("/{ticket_id:int}", guards=[at_the_door])
    async def get_ticket(self, access: NamedDependency[EventAccess], ticket_id: RowId) -> TicketOut:
        return TicketOut(**await service.ticket_by_id(access.event_id, ticket_id))

    @post("/{ticket_id:int}/cancel", guards=[organiser_only], status_code=HTTP_200_OK)
    async def cancel_ticket(
        self, access: NamedDependency[EventAccess], ticket_id: RowId
    ) -> TicketOut:
        """Cancel: its QR admits no one, and its place goes to the waiting list."""
        return TicketOut(**await service.set_status(access.event_id, ticket_id, "canceled"))

    @post("/{ticket_id:int}/block", guards=[organiser_only], status_code=HTTP_200_OK)
    async def block_ticket(
        self, access: NamedDependency[EventAccess], ticket_id: RowId
    ) -> TicketOut:
        return TicketOut(**await service.set_status(access.event_id, ticket_id, "blocked"))

    @post("/{ticket_id:int}/unblock", guards=[organiser_only], status_code=HTTP_200_OK)
    async def unblock_ticket(
        self, access: NamedDependency[EventAccess], ticket_id: RowId
    ) -> TicketOut:
        return TicketOut(**await service.set_status(access.event_id, ticket_id, "valid"))

    @post("/{ticket_id:int}/reissue", guards=[organiser_only], status_code=HTTP_200_OK)
    async def reissue_ticket(
        self, access: NamedDependency[EventAccess], ticket_id: RowId
    ) -> TicketOut:
        """A new QR code, mailed again; the old one is revoked (scanners refuse it)."""
        return TicketOut(**await service.reissue(access.event_id, ticket_id))

    @post("/{ticket_id:int}/resend", guards=[organiser_only], status_code=HTTP_200_OK)
    async def resend_ticket(
        self, access: NamedDependency[EventAccess], ticket_id: RowId
    ) -> TicketOut:
        return TicketOut(**await service.resend(access.event_id, ticket_id))

    @get("/{ticket_id:int}/qr.png", guards=[at_the_door], media_type=PNG)
    async def ticket_qr_png(
        self, access: NamedDependency[EventAccess], ticket_id: RowId
    ) -> Response[bytes]:
        """The ticket's QR code, which decodes to exactly its secret."""
        ticket = await service.ticket_by_id(access.event_id, ticket_id)
        return Response(qr_png(ticket["secret"]), media_type=PNG)

    @get("/{ticket_id:int}/badge.png", guards=[at_the_door], media_type=PNG)
    async def ticket_badge_png(
        self, access: NamedDependency[EventAccess], ticket_id: RowId
    ) -> Response[bytes]:
        """The badge: name, organisation, the type's colour band, the event, the QR code."""
        ticket = await service.ticket_by_id(access.event_id, ticket_id)
        return Response(badge_png(_badge(access.event, ticket)), media_type=PNG)


def _badge(event: dict, ticket: dict) -> Badge:
    return Badge(
        name=ticket["name"],
        organisation=ticket["organisation"],
        kind=ticket["kind"],
        event_name=event["name"],
        secret=ticket["secret"],
    )


class BadgesController(Controller):
    path = "/api/events/{slug:str}"
    tags = ["tickets"]
    dependencies = {"access": Provide(provide_event_access)}
    guards = [organiser_only]

    @get("/badges.pdf", media_type=PDF)
    async def badge_sheet_pdf(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Response[bytes]:
        """A printable A4 sheet (four badges a page) of one page of valid tickets, by name;
        `q` picks people. For the whole event, start a badge export."""
        rows, _ = await service.tickets_of(access.event_id, page, "valid")
        badges = [_badge(access.event, row) for row in rows]
        return Response(await asyncio.to_thread(badges_pdf, badges), media_type=PDF)

    @post("/badge-exports", status_code=HTTP_202_ACCEPTED)
    async def start_badge_export(self, access: NamedDependency[EventAccess]) -> ExportOut:
        """Every valid ticket's badge in one PDF, made in the background; poll for progress."""
        return ExportOut(**await exports.start_export(access.event_id))

    @get("/badge-exports/{export_id:int}")
    async def get_badge_export(
        self, access: NamedDependency[EventAccess], export_id: RowId
    ) -> ExportOut:
        return ExportOut(**await exports.export_by_id(access.event_id, export_id))

    @get(
        "/badge-exports/{export_id:int}/pdf",
        media_type=PDF,
        opt={"refuses": [Refusal(409, "The export is not done yet.", ("not_ready",))]},
    )
    async def badge_export_pdf(
        self, access: NamedDependency[EventAccess], export_id: RowId
    ) -> Response[bytes]:
        content = await exports.export_file(access.event_id, export_id)
        return Response(content, media_type=PDF)


class CheckinListsController(Controller):
    path = "/api/events/{slug:str}/checkin-lists"
    tags = ["check-in"]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/", guards=[at_the_door])
    async def list_checkin_lists(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[CheckinListOut]:
        rows, total = await service.lists_of(access.event_id, page)
        return page_of([CheckinListOut(**row) for row in rows], total, page)

    @post(
        "/", guards=[organiser_only], status_code=HTTP_201_CREATED, opt={"refuses": [TYPE_UNKNOWN]}
    )
    async def create_checkin_list(
        self, access: NamedDependency[EventAccess], data: JSONBody[CheckinListIn]
    ) -> CheckinListOut:
        """A list: which types it admits, when, single or multiple entry, exits or not."""
        return CheckinListOut(**await service.create_list(access.event_id, data.model_dump()))


async def _scan(access: EventAccess, data: CheckinIn) -> tuple[int, bytes]:
    """A scan's status and answer, encoded: the same from the lane and from the handler."""
    status, answer = await service.check_in(
        access.event_id,
        secret=data.secret,
        list_id=data.list,
        kind=data.type,
        nonce=data.nonce,
        staff_id=access.user.id if access.user else None,
        # An online scan happens now, whatever the device says: its clock (or its user) must
        # not move a scan into a list's time window. Only an offline upload says when.
        scanned_at=data.scanned_at if data.offline else None,
        offline=data.offline,
        gate=data.gate,
    )
    counts_changed(access.event_id)
    return status, msgspec.json.encode(answer)


async def _scan_by_lane(connection: ASGIConnection, data: CheckinIn) -> tuple[int, bytes]:
    """The door scan, the busiest write at an event, by `lane`: the guards have run."""
    return await _scan(await provide_event_access(connection), data)


class CheckinsController(Controller):
    path = "/api/events/{slug:str}"
    tags = ["check-in"]
    dependencies = {"access": Provide(provide_event_access)}

    @post(
        "/checkins",
        guards=[at_the_door],
        status_code=HTTP_201_CREATED,
        middleware=[lane(CheckinIn, _scan_by_lane)],
        opt={
            "checkin_answers": True,
            "refuses": [Refusal(404, "No such check-in list.", ("list_unknown",))],
        },
    )
    async def check_in(
        self, access: NamedDependency[EventAccess], data: JSONBody[CheckinIn]
    ) -> Response[CheckinOk]:
        """Scan a ticket: 201 ok; 400 with `reason` (already_redeemed, with the earlier time,
        gate and staff; revoked, blocked, canceled, invalid_time, product, rules); 404
        `invalid` for what is no ticket of this event. A retried `nonce` answers as the first
        time and counts once; `offline` scans are recorded, never refused, and flagged."""
        status, answer = await _scan(access, data)
        return Response(answer, status_code=status, media_type=MediaType.JSON)

    @get("/checkins", guards=[at_the_door])
    async def list_checkins(
        self,
        access: NamedDependency[EventAccess],
        page: NamedDependency[PageRequest],
        checkin_list: Annotated[
            int | None, QueryParameter(ge=1, le=2**31 - 1, description="Only this list")
        ] = None,
        conflicts: Annotated[
            bool, QueryParameter(description="Only offline scans that conflicted")
        ] = False,
    ) -> Page[CheckinRow]:
        """Scans, newest first; `q` searches the holder's name and email."""
        rows, total = await service.checkins_of(access.event_id, page, checkin_list, conflicts)
        return page_of([CheckinRow(**row) for row in rows], total, page)

    @post("/checkins/{checkin_id:int}/undo", guards=[organiser_only], status_code=HTTP_200_OK)
    async def undo_checkin(
        self, access: NamedDependency[EventAccess], checkin_id: RowId
    ) -> CheckinRow:
        """Take back an admission made by mistake: the ticket may enter again."""
        undone = await service.undo_checkin(access.event_id, checkin_id)
        counts_changed(access.event_id)
        return CheckinRow(**undone)

    @get("/checkin-counts", guards=[organiser_only])
    async def get_checkin_counts(self, access: NamedDependency[EventAccess]) -> CheckinCounts:
        """Who is in, per list, and arrivals per 15 minutes."""
        return CheckinCounts(**await service.checkin_counts(access.event_id))

    @get("/scanner-key", guards=[at_the_door])
    async def scanner_key(self, access: NamedDependency[EventAccess]) -> ScannerKey:
        """The event's public key: scanners verify ticket signatures offline with it."""
        return ScannerKey(
            event=access.event["slug"], public_key=await service.public_key(access.event_id)
        )

    @get("/revocations", guards=[at_the_door])
    async def list_revocations(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[RevocationOut]:
        """Digests (signer.revocation_digest) of secrets that admit no one, for offline scanners."""
        rows, total = await service.revocations(access.event_id, page)
        return page_of([RevocationOut(**row) for row in rows], total, page)


def document_checkin_answers(app) -> None:
    """The check-in route answers its refusals as pretix does (`{"status": "error", ...}` as
    JSON), beside the problem details every route may give: both go into the document."""
    from litestar.openapi.spec import OpenAPIMediaType, Reference
    from pydantic.json_schema import models_json_schema

    from eventapp.openapi import PydanticSchema
    from eventapp.tickets.schemas import CheckinRefused

    openapi = app.openapi_schema
    _, top = models_json_schema(
        [(CheckinRefused, "validation")], ref_template="#/components/schemas/{model}"
    )
    schemas = openapi.components.schemas
    for name, definition in top.get("$defs", {}).items():
        definition.setdefault("additionalProperties", True)
        schemas.setdefault(name, PydanticSchema(json_schema=definition))
    ref = Reference(ref="#/components/schemas/CheckinRefused")
    for path_item in (openapi.paths or {}).values():
        operation = path_item.post
        if operation is None or operation.operation_id != "check_in":
            continue
        for status in ("400", "404"):
            operation.responses[status].content["application/json"] = OpenAPIMediaType(schema=ref)


ROUTES = [
    TicketTypesController,
    RegistrationController,
    TicketsController,
    BadgesController,
    CheckinListsController,
    CheckinsController,
]
