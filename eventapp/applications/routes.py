"""Applications over HTTP: the call, nominations, the start-up's form, logos and decisions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from eventapp.accounts.guards import (
    EventAccess,
    event_role,
    event_visible,
    provide_event_access,
)
from eventapp.accounts.routes import MAILED_LINK, MAILS_LINKS, client_address, mailing, sign_in
from eventapp.accounts.schemas import MeOut, Role
from eventapp.accounts.service import CurrentUser, redeem_login_link
from eventapp.accounts.throttle import MAIL_LINK_LIMITS, Limit, Throttle
from eventapp.applications import logos, service
from eventapp.applications.schemas import (
    Accepted,
    ApplicationCreate,
    ApplicationFields,
    ApplicationOut,
    ApplicationStart,
    CallIn,
    CallOut,
    DecisionIn,
    ImportReport,
    IncubatorIn,
    IncubatorOut,
    NominationCheck,
    NominationCheckOut,
    NominationCodeCreated,
    NominationCodeIn,
    NominationCodeOut,
    NominationsImport,
    Released,
    ResumeLinkRequest,
    ResumeToken,
    StateChangeOut,
)
from eventapp.applications.states import State
from eventapp.errors import NotFound
from eventapp.openapi import Refusal
from eventapp.pagination import Page, PageRequest, page_of
from eventapp.params import RowId

organiser_only = event_role(Role.organiser)
OCTET_STREAM = "application/octet-stream"
# Checking a code mails nothing: generous per code (an applicant reloading the page), but few
# guesses per address.
NOMINATION_CHECK_LIMITS = (
    Limit("nomination-check-address", attempts=60, window_s=600),
    Limit("nomination-check-code", attempts=120, window_s=600),
)
ON_THEIR_WAY = "If this email has an application here, a link to it is on its way."

FORM_REFUSALS = Refusal(
    409, "A sector this call does not offer; `errors` names each field.", ("sector_not_offered",)
)
NOMINATION_REFUSALS = [
    Refusal(403, "The call is by nomination and no code was given.", ("nomination_required",)),
    Refusal(404, "The nomination code is not valid here.", ("code_unknown",)),
    Refusal(410, "The nomination code was withdrawn.", ("code_revoked",)),
    Refusal(409, "The code's cap is reached.", ("nomination_cap_reached", "already_applied")),
]
TRANSITION_REFUSAL = Refusal(
    409,
    "The application's state does not allow this move (both states named).",
    ("invalid_transition", "conflict"),
)
APPLICATION_UNKNOWN = Refusal(404, "No such application (of yours).", ("application_unknown",))
LOGO_REFUSALS = [
    Refusal(413, "The logo is over 5 MB.", ("logo_too_large",)),
    Refusal(
        415,
        "Not a PNG, JPEG or WebP, or its name or type says another format.",
        ("not_an_image", "logo_format", "logo_extension_mismatch"),
    ),
    Refusal(
        400,
        "Empty, damaged or cut short, or over 40 megapixels.",
        ("logo_empty", "logo_corrupt", "logo_too_many_pixels"),
    ),
    Refusal(409, "The application can no longer change.", ("application_locked",)),
    APPLICATION_UNKNOWN,
]


@dataclass
class ImageUpload(Operation):
    """The logo route's body is the image's bytes, which Litestar cannot describe from a type."""

    def __post_init__(self) -> None:
        binary = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format="binary"))
        self.request_body = RequestBody(
            required=True,
            description="The image file itself (PNG, JPEG or WebP, at most 5 MB)",
            content={
                media_type: binary
                for media_type in ("image/png", "image/jpeg", "image/webp", OCTET_STREAM)
            },
        )


def out(row: dict, *, organiser: bool) -> ApplicationOut:
    """An application; the pending decision only for organisers (nobody is told before release)."""
    return ApplicationOut(
        **{**row, "pending_decision": row["pending_decision"] if organiser else None}
    )


class CallController(Controller):
    """The call for applications: its window, who may apply, the sectors offered."""

    path = "/api/events/{slug:str}/call"
    tags = ["applications"]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/", guards=[event_visible], opt={"public": True})
    async def get_call(self, access: NamedDependency[EventAccess]) -> CallOut:
        """What the application form offers (countries with the ten ASEAN members first)."""
        return CallOut(**service.call_out(await service.get_call(access.event_id)))

    @put("/", guards=[organiser_only])
    async def set_call(
        self, access: NamedDependency[EventAccess], data: JSONBody[CallIn]
    ) -> CallOut:
        """Open (or close) the call: the window, open to all or by nomination, the sectors."""
        return CallOut(**service.call_out(await service.set_call(access.event_id, data)))


class IncubatorsController(Controller):
    """Incubators that nominate start-ups, and their capped nomination codes."""

    path = "/api/events/{slug:str}"
    tags = ["applications"]
    dependencies = {"access": Provide(provide_event_access)}
    guards = [organiser_only]

    @get("/incubators")
    async def list_incubators(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[IncubatorOut]:
        """By name; `q` searches names, countries and contacts."""
        rows, total = await service.list_incubators(access.event_id, page)
        return page_of([IncubatorOut(**row) for row in rows], total, page)

    @post("/incubators", status_code=HTTP_201_CREATED)
    async def register_incubator(
        self, access: NamedDependency[EventAccess], data: JSONBody[IncubatorIn]
    ) -> IncubatorOut:
        return IncubatorOut(**await service.register_incubator(access.event_id, data))

    @get("/nomination-codes")
    async def list_nomination_codes(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[NominationCodeOut]:
        """Each code with its cap and uses (never the code: only its hash is kept)."""
        rows, total = await service.list_nomination_codes(access.event_id, page)
        return page_of([NominationCodeOut(**row) for row in rows], total, page)

    @post(
        "/nomination-codes",
        status_code=HTTP_201_CREATED,
        opt={"refuses": [Refusal(404, "No such incubator here.", ("incubator_unknown",))]},
    )
    async def create_nomination_code(
        self,
        request: Request,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        data: JSONBody[NominationCodeIn],
    ) -> NominationCodeCreated:
        """A code for an incubator to hand its start-ups; shown once, with its link."""
        row, code = await service.create_nomination_code(
            access.event_id, data, user.id, request.app.state.secret
        )
        base_url = request.app.state.settings.base_url
        link = f"{base_url}/apply.html?event={access.event['slug']}#code={code}"
        return NominationCodeCreated(**row, code=code, link=link)

    @post(
        "/nomination-codes/{code_id:int}/revoke",
        status_code=HTTP_200_OK,
        opt={"refuses": [Refusal(404, "No such code here.", ("code_unknown",))]},
    )
    async def revoke_nomination_code(
        self, access: NamedDependency[EventAccess], code_id: RowId
    ) -> NominationCodeOut:
        """No new application can use it; those made through it stay nominated."""
        return NominationCodeOut(**await service.revoke_nomination_code(access.event_id, code_id))

    @post(
        "/nominations/import",
        status_code=HTTP_201_CREATED,
        opt={
            "refuses": [
                Refusal(
                    409, "Rows refused (`rows` lists each with its reasons).", ("import_refused",)
                ),
                Refusal(404, "No such code here.", ("code_unknown",)),
                Refusal(410, "The code was withdrawn.", ("code_revoked",)),
                Refusal(409, "The code's cap is reached.", ("nomination_cap_reached",)),
            ]
        },
    )
    async def import_nominations(
        self,
        request: Request,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        data: JSONBody[NominationsImport],
    ) -> ImportReport:
        """Import an incubator's spreadsheet (CSV) as drafts nominated through its code: every
        row, or none. Each start-up's contact is mailed a link to complete its application."""
        ids = await service.import_nominations(
            access.event,
            data.code_id,
            data.csv,
            secret=request.app.state.secret,
            mailing=mailing(request),
            actor_id=user.id,
        )
        request.app.state.mail.wake()
        return ImportReport(imported=len(ids), application_ids=ids)


class ApplicationsController(Controller):
    """The start-up's side (its draft, submission, withdrawal, confirmation, logo, mailed link),
    then the organisers' (every application, its history, decisions and their release)."""

    path = "/api/events/{slug:str}"
    tags = ["applications"]
    dependencies = {"access": Provide(provide_event_access)}
    guards = [event_visible]

    @post(
        "/nomination-codes/check",
        status_code=HTTP_200_OK,
        opt={
            "public": True,
            "rate_limited": True,
            "refuses": NOMINATION_REFUSALS[1:3],
        },
    )
    async def check_nomination_code(
        self,
        request: Request,
        access: NamedDependency[EventAccess],
        data: JSONBody[NominationCheck],
    ) -> NominationCheckOut:
        """Which incubator a code is from and how many nominations it has left."""
        throttle: Throttle = request.app.state.throttle
        await throttle.spend(
            address=client_address(request), account=data.code, limits=NOMINATION_CHECK_LIMITS
        )
        return NominationCheckOut(
            **await service.check_nomination_code(
                access.event_id, data.code, request.app.state.secret
            )
        )

    @post(
        "/applications",
        status_code=HTTP_201_CREATED,
        opt={"refuses": [FORM_REFUSALS, *NOMINATION_REFUSALS]},
    )
    async def create_application(
        self,
        request: Request,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        data: JSONBody[ApplicationCreate],
    ) -> ApplicationOut:
        """Start your application (a draft, saved as you go); through a nomination code unless
        the call is open to all."""
        row = await service.create_application(
            access.event_id,
            user.id,
            data,
            nomination_code=data.nomination_code,
            secret=request.app.state.secret,
        )
        return out(row, organiser=False)

    @post(
        "/applications/start",
        status_code=HTTP_202_ACCEPTED,
        opt={**MAILS_LINKS, "refuses": [FORM_REFUSALS, *NOMINATION_REFUSALS[:3]]},
    )
    async def start_application(
        self,
        request: Request,
        access: NamedDependency[EventAccess],
        data: JSONBody[ApplicationStart],
    ) -> Accepted:
        """Start without an account: a link to the new draft is mailed to `contact_email`."""
        throttle: Throttle = request.app.state.throttle
        await throttle.spend(
            address=client_address(request), account=data.contact_email, limits=MAIL_LINK_LIMITS
        )
        await service.start_without_account(
            access.event,
            data.contact_email,
            data.company_name,
            data.nomination_code,
            secret=request.app.state.secret,
            mailing=mailing(request),
        )
        request.app.state.mail.wake()
        return Accepted(detail="Your draft is saved: open the link we mailed you to continue.")

    @post("/applications/resume-link", status_code=HTTP_202_ACCEPTED, opt=MAILS_LINKS)
    async def request_resume_link(
        self,
        request: Request,
        access: NamedDependency[EventAccess],
        data: JSONBody[ResumeLinkRequest],
    ) -> Response[Accepted]:
        """Mail a link back to your application (the same answer whether or not it exists)."""
        throttle: Throttle = request.app.state.throttle
        await throttle.spend(
            address=client_address(request), account=data.email, limits=MAIL_LINK_LIMITS
        )

        async def mail_it() -> None:
            await service.mail_resume_link(
                access.event, data.email, secret=request.app.state.secret, mailing=mailing(request)
            )
            request.app.state.mail.wake()

        return Response(
            Accepted(detail=ON_THEIR_WAY),
            status_code=HTTP_202_ACCEPTED,
            background=BackgroundTask(mail_it),
        )

    @post("/applications/resume", status_code=HTTP_200_OK, opt=MAILED_LINK)
    async def resume_application(
        self, request: Request, access: NamedDependency[EventAccess], data: JSONBody[ResumeToken]
    ) -> Response[MeOut]:
        """Open the mailed link (once): it signs you in to your application."""
        user = await redeem_login_link(
            data.token, purpose=service.RESUME_PURPOSE, secret=request.app.state.secret
        )
        return await sign_in(request, user)

    @get(
        "/applications/mine",
        opt={"refuses": [Refusal(404, "You have no application here.", ("no_application",))]},
    )
    async def my_application(
        self, access: NamedDependency[EventAccess], user: NamedDependency[CurrentUser]
    ) -> ApplicationOut:
        """Your application in this event (the live one, else your latest)."""
        return out(await service.my_application(access.event_id, user.id), organiser=False)

    @patch(
        "/applications/{application_id:int}",
        opt={
            "refuses": [
                FORM_REFUSALS,
                Refusal(409, "A submitted application must stay complete.", ("incomplete",)),
                Refusal(409, "The application can no longer change.", ("application_locked",)),
                APPLICATION_UNKNOWN,
            ]
        },
    )
    async def update_application(
        self,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        application_id: RowId,
        data: JSONBody[ApplicationFields],
    ) -> ApplicationOut:
        """Save fields of your draft (only those sent change; null clears one)."""
        await service.owned_application(access.event_id, application_id, user.id)
        row = await service.update_application(access.event_id, application_id, data)
        return out(row, organiser=False)

    async def _move(self, access: EventAccess, user: CurrentUser, application_id: int, to: State):
        row = await service.applicant_move(access.event_id, application_id, user.id, to)
        return out(row, organiser=False)

    @post(
        "/applications/{application_id:int}/submit",
        status_code=HTTP_200_OK,
        opt={
            "refuses": [
                Refusal(409, "Required fields are missing; `errors` names each.", ("incomplete",)),
                Refusal(
                    409,
                    "Outside the application window, or not a draft.",
                    ("window_not_open", "window_closed", "invalid_transition", "conflict"),
                ),
                APPLICATION_UNKNOWN,
            ]
        },
    )
    async def submit_application(
        self,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        application_id: RowId,
    ) -> ApplicationOut:
        """Submit your complete draft, inside the call's window."""
        return await self._move(access, user, application_id, State.submitted)

    @post(
        "/applications/{application_id:int}/withdraw",
        status_code=HTTP_200_OK,
        opt={"refuses": [TRANSITION_REFUSAL, APPLICATION_UNKNOWN]},
    )
    async def withdraw_application(
        self,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        application_id: RowId,
    ) -> ApplicationOut:
        """Withdraw while no decision is made (a nomination goes back to its incubator)."""
        return await self._move(access, user, application_id, State.withdrawn)

    @post(
        "/applications/{application_id:int}/confirm",
        status_code=HTTP_200_OK,
        opt={"refuses": [TRANSITION_REFUSAL, APPLICATION_UNKNOWN]},
    )
    async def confirm_participation(
        self,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        application_id: RowId,
    ) -> ApplicationOut:
        """Accepted: confirm you will pitch."""
        return await self._move(access, user, application_id, State.confirmed)

    @post(
        "/applications/{application_id:int}/decline",
        status_code=HTTP_200_OK,
        opt={"refuses": [TRANSITION_REFUSAL, APPLICATION_UNKNOWN]},
    )
    async def decline_participation(
        self,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        application_id: RowId,
    ) -> ApplicationOut:
        """Accepted (or confirmed): say you will not pitch, so another start-up can."""
        return await self._move(access, user, application_id, State.declined)

    @put(
        "/applications/{application_id:int}/logo",
        status_code=HTTP_200_OK,
        request_max_body_size=logos.MAX_BYTES + 1,
        operation_class=ImageUpload,
        opt={"refuses": LOGO_REFUSALS},
    )
    async def upload_logo(
        self,
        request: Request,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        application_id: RowId,
        filename: Annotated[
            str,
            QueryParameter(
                max_length=200, description="The file's name: its extension must match its bytes"
            ),
        ] = "",
    ) -> ApplicationOut:
        """Upload your logo as the request body (PNG, JPEG or WebP, at most 5 MB and 40
        megapixels); the Content-Type sent, if an image type, must match the bytes. It is stored
        as a 512 px square PNG, with EXIF and anything else but the pixels left out."""
        await service.owned_application(access.event_id, application_id, user.id)
        data = await request.body()
        declared = request.headers.get("content-type", "")
        logo = await asyncio.to_thread(logos.process_logo, data, filename, declared)
        row = await service.store_logo(access.event_id, application_id, logo.png, logo.sha256)
        return out(row, organiser=False)

    @get(
        "/applications/{application_id:int}/logo",
        opt={"public": True, "refuses": [Refusal(404, "No logo to show.", ("logo_unknown",))]},
        media_type="image/png",
    )
    async def get_logo(
        self, access: NamedDependency[EventAccess], application_id: RowId
    ) -> Response[bytes]:
        """The stored logo: anyone's once selected; before that, its start-up's and organisers'."""
        logo = await service.logo_of(access.event_id, application_id)
        user = access.user
        may_see = (
            logo["state"] in (State.accepted, State.confirmed)
            or Role.organiser in access.roles
            or (user is not None and logo["owner"] == user.id)
        )
        if not may_see:
            raise NotFound("This application has no logo.", reason="logo_unknown")
        cache = (
            "public, max-age=86400"
            if logo["state"] in (State.accepted, State.confirmed)
            else "private, no-cache"
        )
        return Response(
            bytes(logo["image"]),
            media_type=logo["content_type"],
            headers={"Cache-Control": cache, "ETag": f'"{logo["sha256"]}"'},
        )

    # The organisers' side: every application, its history, decisions and their release.

    @get("/applications", guards=[organiser_only])
    async def list_applications(
        self,
        access: NamedDependency[EventAccess],
        page: NamedDependency[PageRequest],
        in_state: Annotated[
            State | None, QueryParameter(name="state", description="Only in this state")
        ] = None,
        country: Annotated[
            str | None, QueryParameter(pattern=r"^[A-Z]{2}$", description="Only from this country")
        ] = None,
    ) -> Page[ApplicationOut]:
        """By id; `q` searches company names, one-liners and contact emails."""
        rows, total = await service.list_applications(
            access.event_id, page, in_state.value if in_state else None, country=country
        )
        return page_of([out(row, organiser=True) for row in rows], total, page)

    @get(
        "/applications/{application_id:int}",
        guards=[organiser_only],
        opt={"refuses": [APPLICATION_UNKNOWN]},
    )
    async def get_application(
        self, access: NamedDependency[EventAccess], application_id: RowId
    ) -> ApplicationOut:
        return out(await service.get_application(access.event_id, application_id), organiser=True)

    @get("/applications/{application_id:int}/history", guards=[organiser_only])
    async def application_history(
        self,
        access: NamedDependency[EventAccess],
        page: NamedDependency[PageRequest],
        application_id: RowId,
    ) -> Page[StateChangeOut]:
        """Every change of state, oldest first: who, when, from, to."""
        rows, total = await service.state_history(access.event_id, application_id, page)
        return page_of([StateChangeOut(**row) for row in rows], total, page)

    @put(
        "/applications/{application_id:int}/decision",
        guards=[organiser_only],
        opt={
            "refuses": [
                TRANSITION_REFUSAL,
                APPLICATION_UNKNOWN,
                Refusal(400, "Not a decision.", ("invalid_decision",)),
            ]
        },
    )
    async def set_decision(
        self,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        application_id: RowId,
        data: JSONBody[DecisionIn],
    ) -> ApplicationOut:
        """Note a decision, pending: nobody is told until the decisions are released."""
        row = await service.set_pending_decision(
            access.event_id, application_id, data.decision, user.id
        )
        return out(row, organiser=True)

    @post("/applications/release", guards=[organiser_only], status_code=HTTP_200_OK)
    async def release_decisions(
        self,
        request: Request,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
    ) -> Released:
        """Apply every pending decision at once and mail each start-up its decision."""
        count = await service.release_decisions(
            access.event_id, user.id, base_url=request.app.state.settings.base_url
        )
        request.app.state.mail.wake()
        return Released(released=count)


ROUTES = [
    CallController,
    IncubatorsController,
    ApplicationsController,
]
