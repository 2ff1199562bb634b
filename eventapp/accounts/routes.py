from __future__ import annotations

from datetime import datetime

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

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
    EventRoles,
    InvitationAccept,
    InvitationCreate,
    InvitationLink,
    InvitationOut,
    InvitationPreview,
    InvitationToken,
    MeOut,
    PersonOut,
    Role,
    TokenOut,
    TokenRequest,
)
from eventapp.accounts.service import CurrentUser
from eventapp.openapi import Refusal
from eventapp.params import RowId

# Credential guessing is slowed per client address on every route that takes a password.
_password_rate_limit = RateLimitConfig(rate_limit=("minute", 30), set_rate_limit_headers=False)
PUBLIC = {"public": True}
# What the password routes refuse besides the kinds every route gets (eventapp/openapi.py).
WRONG_PASSWORD = Refusal(401, "Email or password is wrong.", ("invalid_credentials",))
PASSWORD_ROUTE = {**PUBLIC, "rate_limited": True, "refuses": [WRONG_PASSWORD]}
INVITATION_LINK = [
    Refusal(404, "The invitation link is not valid.", ("invitation_unknown",)),
    Refusal(
        410,
        "The invitation was used, revoked or has expired.",
        ("invitation_accepted", "invitation_revoked", "invitation_expired"),
    ),
]


async def me_out(user: CurrentUser) -> MeOut:
    events = [EventRoles(**entry) for entry in await service.my_events(user.id)]
    return MeOut(
        id=user.id, email=user.email, name=user.name, is_admin=user.is_admin, events=events
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

    @post(
        "/login", opt=PASSWORD_ROUTE, middleware=[_password_rate_limit.middleware], status_code=200
    )
    async def login(self, request: Request, data: JSONBody[Credentials]) -> Response[MeOut]:
        """Sign in with email and password; sets the session cookie pages use."""
        user = await service.authenticate(data.email, data.password)
        return await sign_in(request, user)

    @post("/logout", status_code=HTTP_204_NO_CONTENT)
    async def logout(self, request: Request) -> Response[None]:
        """End this session (or revoke the bearer token used for the call)."""
        token = presented_token(request)
        if token:
            await service.revoke_token(token, request.app.state.secret)
        return Response(
            None, status_code=HTTP_204_NO_CONTENT, cookies=[session_cookie(request, None, None)]
        )

    @post(
        "/tokens",
        opt=PASSWORD_ROUTE,
        middleware=[_password_rate_limit.middleware],
        status_code=HTTP_201_CREATED,
    )
    async def create_token(self, request: Request, data: JSONBody[TokenRequest]) -> TokenOut:
        """A bearer token for an API client or a scanner device (`Authorization: Bearer ...`)."""
        user = await service.authenticate(data.email, data.password)
        token, expires_at = await service.issue_token(
            user.id, kind="api", label=data.label, secret=request.app.state.secret
        )
        return TokenOut(token=token, expires_at=expires_at)

    @get("/me")
    async def me(self, user: NamedDependency[CurrentUser]) -> MeOut:
        """Who you are, and your roles in each event."""
        return await me_out(user)


def invitation_out(row: dict) -> dict:
    return {**row, "status": service.invitation_status(row, service.now())}


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
        """Invite someone by a one-time link (valid 7 days); the link is shown only now."""
        row, token = await service.create_invitation(
            access.event_id,
            email=data.email,
            role=data.role,
            name=data.name,
            invited_by=user.id,
            secret=request.app.state.secret,
        )
        url = f"{request.app.state.settings.base_url}/invite.html#{token}"
        return InvitationLink(**invitation_out(row), url=url)

    @get("/")
    async def list_invitations(self, access: NamedDependency[EventAccess]) -> list[InvitationOut]:
        return [
            InvitationOut(**invitation_out(row))
            for row in await service.list_invitations(access.event_id)
        ]

    @delete("/{invitation_id:int}")
    async def revoke(self, access: NamedDependency[EventAccess], invitation_id: RowId) -> None:
        await service.revoke_invitation(access.event_id, invitation_id)


class InvitationController(Controller):
    """The invitee's side: open the link, then accept it with a name and password."""

    path = "/api/invitations"
    tags = ["accounts"]
    opt = {**PUBLIC, "rate_limited": True}
    middleware = [_password_rate_limit.middleware]

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
            "refuses": [
                *INVITATION_LINK,
                WRONG_PASSWORD,
                Refusal(403, "The account is disabled.", ("account_disabled",)),
                Refusal(
                    409,
                    "The email's account is used in other events, or was just created.",
                    ("account_claim_refused", "conflict"),
                    open=True,
                ),
            ]
        },
    )
    async def accept(self, request: Request, data: JSONBody[InvitationAccept]) -> Response[MeOut]:
        """Use the invitation once: creates the account or adds the role, and signs in."""
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
    async def list_people(self, access: NamedDependency[EventAccess]) -> list[PersonOut]:
        """Everyone with a role in the event, one row per role."""
        return [PersonOut(**row) for row in await service.people_in_event(access.event_id)]

    @delete(
        "/{user_id:int}/roles/{role:str}",
        opt={"refuses": [Refusal(409, "An event keeps one organiser.", ("last_organiser",))]},
    )
    async def revoke_role(
        self, access: NamedDependency[EventAccess], user_id: RowId, role: FromPath[Role]
    ) -> None:
        await service.revoke_role(user_id, access.event_id, role)


ROUTES = [AuthController, EventInvitationsController, InvitationController, PeopleController]
