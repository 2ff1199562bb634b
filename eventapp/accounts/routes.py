from __future__ import annotations

from datetime import datetime

from litestar import Controller, Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from eventapp.accounts import service
from eventapp.accounts.guards import (
    SESSION_COOKIE,
    EventAccess,
    event_role,
    presented_token,
    provide_event_access,
)
from eventapp.accounts.schemas import (
    Credentials,
    DeviceOut,
    EventRoles,
    InvitationAccept,
    InvitationCreate,
    InvitationLink,
    InvitationOut,
    InvitationPreview,
    InvitationToken,
    LinkRequest,
    LinkRequested,
    LinkToken,
    MeOut,
    PasswordChange,
    PasswordReset,
    PersonOut,
    Role,
    TokenInfo,
    TokenOut,
    TokenRequest,
)
from eventapp.accounts.service import CurrentUser
from eventapp.accounts.throttle import MAIL_LINK_LIMITS, Throttle
from eventapp.errors import Forbidden, NotFound
from eventapp.events.service import event_by_slug
from eventapp.openapi import Refusal
from eventapp.pagination import Page, PageRequest, page_of
from eventapp.params import RowId
from eventapp.routing import delete, get, post

PUBLIC = {"public": True}
# What the password routes refuse besides the kinds every route gets (eventapp/openapi.py).
# Their attempts count against `accounts.throttle` ("rate_limited": a 429 when spent).
WRONG_PASSWORD = Refusal(401, "Email or password is wrong.", ("invalid_credentials",))
CHECKS_PASSWORD = {"rate_limited": True, "refuses": [WRONG_PASSWORD]}
PASSWORD_ROUTE = {**PUBLIC, **CHECKS_PASSWORD}
INVITATION_LINK = [
    Refusal(404, "The invitation link is not valid.", ("invitation_unknown",)),
    Refusal(
        410,
        "The invitation was used, revoked or has expired.",
        ("invitation_accepted", "invitation_revoked", "invitation_expired"),
    ),
]
# Routes that mail a link: every request counts against `MAIL_LINK_LIMITS` (429 when spent).
MAILS_LINKS = {**PUBLIC, "rate_limited": True}
# A mailed link used once already, or too late.
MAILED_LINK = {
    **PUBLIC,
    "refuses": [
        Refusal(404, "The link is not valid.", ("link_unknown",)),
        Refusal(410, "The link has expired or was used already.", ("link_invalid",)),
        Refusal(403, "The account is disabled.", ("account_disabled",)),
    ],
}
# Routes a device token for one event may still call outside that event.
ANY_TOKEN = {"any_token": True}


def client_address(connection: ASGIConnection) -> str:
    """The caller's address (uvicorn applies X-Forwarded-For from trusted proxies only)."""
    return connection.client.host if connection.client else "unknown"


def password_attempt(connection: ASGIConnection, account: str):
    """Count a password check from this client for `account` (see `accounts.throttle`)."""
    throttle: Throttle = connection.app.state.throttle
    return throttle.attempt(address=client_address(connection), account=account)


LINK_ON_ITS_WAY = "If an account has this email, a link is on its way to it."


async def mail_link_later(request: Request, email: str, purpose: str) -> Response[LinkRequested]:
    """Answer at once, the same for known and unknown emails; look the account up afterwards.

    The lookup and the mail run as a background task after the answer is sent, so neither the
    answer nor its timing tells whether the email has an account.
    """
    throttle: Throttle = request.app.state.throttle
    await throttle.spend(address=client_address(request), account=email, limits=MAIL_LINK_LIMITS)

    async def mail_it() -> None:
        await service.mail_login_link(
            email, purpose=purpose, secret=request.app.state.secret, mailing=mailing(request)
        )
        request.app.state.mail.wake()

    return Response(
        LinkRequested(detail=LINK_ON_ITS_WAY),
        status_code=HTTP_202_ACCEPTED,
        background=BackgroundTask(mail_it),
    )


async def me_out(user: CurrentUser) -> MeOut:
    events = [EventRoles(**entry) for entry in await service.my_events(user.id)]
    return MeOut(
        id=user.id,
        email=user.email,
        name=user.name,
        is_admin=user.is_admin,
        email_verified=user.email_verified,
        events=events,
    )


def session_cookie(request: Request, token: str | None, expires_at: datetime | None) -> Cookie:
    """The session cookie: HttpOnly, SameSite=Lax, Secure behind HTTPS; empty to sign out."""
    settings = request.app.state.settings
    return Cookie(
        key=SESSION_COOKIE,
        value=token or "",
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=int((expires_at - service.now()).total_seconds()) if expires_at else 0,
    )


async def sign_in(request: Request, user: CurrentUser) -> Response[MeOut]:
    token, expires_at = await service.issue_token(
        user.id, kind="session", secret=request.app.state.secret
    )
    return Response(await me_out(user), cookies=[session_cookie(request, token, expires_at)])


class AuthController(Controller):
    path = "/api/auth"
    tags = ["accounts"]

    @post("/login", opt=PASSWORD_ROUTE, status_code=200)
    async def login(self, request: Request, data: JSONBody[Credentials]) -> Response[MeOut]:
        """Sign in with email and password; sets the session cookie pages use."""
        async with password_attempt(request, data.email):
            user = await service.authenticate(data.email, data.password)
        return await sign_in(request, user)

    @post("/logout", status_code=HTTP_204_NO_CONTENT, opt=ANY_TOKEN)
    async def logout(self, request: Request) -> Response[None]:
        """End this session (or revoke the bearer token used for the call)."""
        token = presented_token(request)
        if token:
            await service.revoke_token(token, request.app.state.secret)
        return Response(
            None, status_code=HTTP_204_NO_CONTENT, cookies=[session_cookie(request, None, None)]
        )

    @post("/tokens", opt=PASSWORD_ROUTE, status_code=HTTP_201_CREATED)
    async def create_token(self, request: Request, data: JSONBody[TokenRequest]) -> TokenOut:
        """A bearer token for an API client, or with `event` for one event's device (a scanner)."""
        async with password_attempt(request, data.email):
            user = await service.authenticate(data.email, data.password)
        event_id = None
        if data.event is not None:
            event = await event_by_slug(data.event)
            if not await service.roles_in_event(user.id, event["id"]):
                if not event["published"]:
                    raise NotFound(f"There is no event {data.event!r}.", reason="event_unknown")
                raise Forbidden("You need a role in this event.", reason="role_required")
            event_id = event["id"]
        token, expires_at = await service.issue_token(
            user.id,
            kind="api",
            label=data.label,
            event_id=event_id,
            secret=request.app.state.secret,
        )
        return TokenOut(token=token, expires_at=expires_at, event=data.event)

    @get("/me", opt=ANY_TOKEN)
    async def me(self, user: NamedDependency[CurrentUser]) -> MeOut:
        """Who you are, and your roles in each event."""
        return await me_out(user)

    @post("/password", status_code=HTTP_204_NO_CONTENT, opt=CHECKS_PASSWORD)
    async def change_password(
        self, request: Request, user: NamedDependency[CurrentUser], data: JSONBody[PasswordChange]
    ) -> None:
        """Change your password; every other session and API token of yours ends now."""
        async with password_attempt(request, user.email):
            await service.change_password(
                user,
                current_password=data.current_password,
                new_password=data.new_password,
                token=presented_token(request) or "",
                secret=request.app.state.secret,
            )

    @post("/sign-in-link", opt=MAILS_LINKS, status_code=HTTP_202_ACCEPTED)
    async def request_sign_in_link(
        self, request: Request, data: JSONBody[LinkRequest]
    ) -> Response[LinkRequested]:
        """Mail a one-time sign-in link (valid 15 minutes) to an account's address."""
        return await mail_link_later(request, data.email, "sign_in")

    @post("/sign-in-link/redeem", opt=MAILED_LINK, status_code=200)
    async def redeem_sign_in_link(
        self, request: Request, data: JSONBody[LinkToken]
    ) -> Response[MeOut]:
        """Sign in with the mailed link (once); it also proves the email is yours."""
        user = await service.redeem_login_link(
            data.token, purpose="sign_in", secret=request.app.state.secret
        )
        return await sign_in(request, user)

    @post("/password-reset", opt=MAILS_LINKS, status_code=HTTP_202_ACCEPTED)
    async def request_password_reset(
        self, request: Request, data: JSONBody[LinkRequest]
    ) -> Response[LinkRequested]:
        """Mail a one-time link (valid one hour) to choose a new password."""
        return await mail_link_later(request, data.email, "reset")

    @post("/password-reset/complete", opt=MAILED_LINK, status_code=200)
    async def complete_password_reset(
        self, request: Request, data: JSONBody[PasswordReset]
    ) -> Response[MeOut]:
        """Set the new password with the mailed link: every other session and token ends."""
        user = await service.redeem_login_link(
            data.token,
            purpose="reset",
            secret=request.app.state.secret,
            new_password=data.new_password,
        )
        return await sign_in(request, user)

    @get("/sessions")
    async def list_sessions(
        self,
        request: Request,
        user: NamedDependency[CurrentUser],
        page: NamedDependency[PageRequest],
    ) -> Page[TokenInfo]:
        """Your signed-in browsers and API tokens, so that you can end one you do not recognise."""
        rows, total = await service.list_own_tokens(
            user.id,
            current_token=presented_token(request),
            secret=request.app.state.secret,
            page=page,
        )
        return page_of([TokenInfo(**row) for row in rows], total, page)

    @delete("/sessions/{token_id:int}")
    async def end_session(self, user: NamedDependency[CurrentUser], token_id: RowId) -> None:
        """End one of your sessions or revoke one of your API tokens."""
        await service.revoke_own_token(user.id, token_id)


def invitation_out(row: dict) -> dict:
    return {**row, "status": service.invitation_status(row, service.now())}


def mailing(connection: ASGIConnection) -> service.Mailing:
    settings = connection.app.state.settings
    return service.Mailing(base_url=settings.base_url, delivers=settings.smtp_url is not None)


def invitation_link(request: Request, row: dict, token: str) -> InvitationLink:
    """The new invitation; its link only when no mail leaves, so that the organiser passes it on."""
    request.app.state.mail.wake()
    url = (
        None if row["mailed_only"] else f"{request.app.state.settings.base_url}/invite.html#{token}"
    )
    return InvitationLink(**invitation_out(row), url=url)


class EventInvitationsController(Controller):
    path = "/api/events/{slug:str}/invitations"
    tags = ["accounts"]
    guards = [event_role(Role.organiser)]
    dependencies = {"access": Provide(provide_event_access)}

    @post("/", status_code=HTTP_201_CREATED)
    async def invite(
        self,
        request: Request,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        data: JSONBody[InvitationCreate],
    ) -> InvitationLink:
        """Invite someone by a one-time link (valid 7 days), mailed to them."""
        row, token = await service.create_invitation(
            access.event_id,
            email=data.email,
            role=data.role,
            name=data.name,
            organisation=data.organisation,
            inviter=user,
            secret=request.app.state.secret,
            mailing=mailing(request),
        )
        return invitation_link(request, row, token)

    @post("/{invitation_id:int}/resend", status_code=HTTP_201_CREATED)
    async def resend_invitation(
        self,
        request: Request,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        invitation_id: RowId,
    ) -> InvitationLink:
        """Send a pending invitation again with a new link; the previous link stops working."""
        row, token = await service.resend_invitation(
            access.event_id,
            invitation_id,
            inviter=user,
            secret=request.app.state.secret,
            mailing=mailing(request),
        )
        return invitation_link(request, row, token)

    @get("/")
    async def list_invitations(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[InvitationOut]:
        """The event's invitations, newest first; `q` searches emails and names."""
        rows, total = await service.list_invitations(access.event_id, page)
        return page_of([InvitationOut(**invitation_out(row)) for row in rows], total, page)

    @delete("/{invitation_id:int}")
    async def revoke(self, access: NamedDependency[EventAccess], invitation_id: RowId) -> None:
        await service.revoke_invitation(access.event_id, invitation_id)


class InvitationController(Controller):
    """The invitee's side: open the link, then accept it with a name and password."""

    path = "/api/invitations"
    tags = ["accounts"]
    opt = PUBLIC

    @post("/preview", status_code=200, opt={"refuses": INVITATION_LINK})
    async def preview(self, request: Request, data: JSONBody[InvitationToken]) -> InvitationPreview:
        """What the invitation offers, before accepting it."""
        return InvitationPreview(
            **await service.preview_invitation(data.token, request.app.state.secret)
        )

    @post(
        "/accept",
        status_code=200,
        opt={
            "rate_limited": True,
            "refuses": [
                *INVITATION_LINK,
                WRONG_PASSWORD,
                Refusal(403, "The account is disabled.", ("account_disabled",)),
                Refusal(
                    409,
                    "The email has an account without a password that this link cannot claim "
                    "(the organiser saw the link, or the account is used in other events or "
                    "administers eventapp): its owner sets a password first and accepts with "
                    "it; or the account changed while the invitation was being accepted.",
                    ("account_claim_refused", "account_changed", "email_taken"),
                ),
            ],
        },
    )
    async def accept(self, request: Request, data: JSONBody[InvitationAccept]) -> Response[MeOut]:
        """Use the invitation once: creates the account or adds the role, and signs in."""
        # The invited account's own budget, the one sign-in uses: a new or resent link for the
        # same email gives no fresh guesses at an existing account's password.
        invitation = await service.preview_invitation(data.token, request.app.state.secret)
        async with password_attempt(request, invitation["email"]):
            user = await service.accept_invitation(
                data.token, name=data.name, password=data.password, secret=request.app.state.secret
            )
        return await sign_in(request, user)


class PeopleController(Controller):
    path = "/api/events/{slug:str}/people"
    tags = ["accounts"]
    guards = [event_role(Role.organiser)]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/")
    async def list_people(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[PersonOut]:
        """Everyone with a role in the event, one row per role; `q` searches names and emails."""
        rows, total = await service.people_in_event(access.event_id, page)
        return page_of([PersonOut(**row) for row in rows], total, page)

    @delete(
        "/{user_id:int}/roles/{role:str}",
        opt={"refuses": [Refusal(409, "An event keeps one organiser.", ("last_organiser",))]},
    )
    async def revoke_role(
        self, access: NamedDependency[EventAccess], user_id: RowId, role: FromPath[Role]
    ) -> None:
        await service.revoke_role(user_id, access.event_id, role)


class DevicesController(Controller):
    """Device tokens made for this event (door scanners): a lost phone is shut out here."""

    path = "/api/events/{slug:str}/devices"
    tags = ["accounts"]
    guards = [event_role(Role.organiser)]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/")
    async def list_devices(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[DeviceOut]:
        rows, total = await service.list_event_devices(access.event_id, page)
        return page_of([DeviceOut(**row) for row in rows], total, page)

    @delete("/{token_id:int}")
    async def revoke_device(self, access: NamedDependency[EventAccess], token_id: RowId) -> None:
        await service.revoke_event_device(access.event_id, token_id)


ROUTES = [
    AuthController,
    EventInvitationsController,
    InvitationController,
    PeopleController,
    DevicesController,
]
