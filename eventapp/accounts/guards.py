"""Who is asking, and may they: the guards every route carries.

Secure by default: the app-wide `require_login` guard refuses anonymous requests unless a route is
marked `opt={"public": True}`. The user is resolved at most once per request, from the session
cookie (pages) or an `Authorization: Bearer` token (API clients, scanner devices).

Writes must come from our own origin: browsers always send `Origin` on cross-site requests, so
`refuse_cross_site_writes` turns a mismatch away on every unsafe method, public routes (sign-in,
invitations) included, with SameSite=Lax cookies as a second wall. Clients that are not browsers
send no `Origin` and authenticate with bearer tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from eventapp.accounts import cache, service
from eventapp.accounts.schemas import Role
from eventapp.accounts.service import CurrentUser
from eventapp.errors import Forbidden, NotAuthenticated, NotFound
from eventapp.events.service import event_by_slug

SESSION_COOKIE = "eventapp_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_UNRESOLVED = object()


def presented_token(connection: ASGIConnection) -> str | None:
    """The token this request carries: a bearer token, else the session cookie.

    The Authorization header is read from the raw ASGI headers: building Litestar's header
    object for it cost about 15 us of every authenticated request.
    """
    for name, value in connection.scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            break
    return connection.cookies.get(SESSION_COOKIE) or None


def _same_origin(connection: ASGIConnection) -> bool:
    # From the raw headers, like `presented_token`: Litestar's header object costs ~10 us a write.
    origin, host = None, ""
    for name, value in connection.scope["headers"]:
        if name == b"origin":
            origin = value.decode("latin-1")
        elif name == b"host":
            host = value.decode("latin-1")
    if origin is None:
        return True
    ours = {host}
    public_url = connection.app.state.settings.public_url
    if public_url:
        ours.add(urlsplit(public_url).netloc)
    return urlsplit(origin).netloc in ours


async def refuse_cross_site_writes(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """App-wide guard: a browser may only write to us from our own pages."""
    if connection.scope.get("method") not in _SAFE_METHODS and not _same_origin(connection):
        raise Forbidden(
            "Requests from other sites may not change anything.", reason="cross_site_request"
        )


async def current_user(connection: ASGIConnection) -> CurrentUser | None:
    """The signed-in user, or None; looked up once and kept on the request's scope.

    A device token for one event is nobody in another event's routes (a scanner phone for event
    A must not read or change what its owner has in event B), and `require_login` says why.
    """
    cached = connection.scope.get("eventapp_user", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        return cached  # type: ignore[return-value]
    user = None
    token = presented_token(connection)
    if token:
        user = await service.resolve_token(token, connection.app.state.secret)
    if user is not None and user.token_event_id is not None:
        slug = connection.scope.get("path_params", {}).get("slug")
        if slug is not None and (await _event_named(slug))["id"] != user.token_event_id:
            user = None
            connection.scope["eventapp_foreign_token"] = True  # type: ignore[typeddict-unknown-key]
    connection.scope["eventapp_user"] = user  # type: ignore[typeddict-unknown-key]
    return user


async def _event_named(slug: str) -> dict[str, Any]:
    return await cache.event(slug, lambda: event_by_slug(slug))


async def require_login(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """App-wide guard: every route needs a signed-in user unless it is marked public.

    A device token for one event acts only on that event's routes (`current_user` makes it nobody
    in another event's) and on the few routes marked `any_token` (who am I, sign out).
    """
    if handler.opt.get("public") or connection.scope.get("method") == "OPTIONS":
        return  # OPTIONS (Litestar's own handler) only says which methods a path allows
    user = await current_user(connection)
    if user is None:
        if connection.scope.get("eventapp_foreign_token"):
            raise Forbidden("This device token acts only in its own event.", reason="token_scope")
        raise NotAuthenticated("Sign in first.", reason="not_authenticated")
    if (
        user.token_event_id is not None
        and "slug" not in connection.path_params
        and not handler.opt.get("any_token")
    ):
        raise Forbidden("This device token acts only in its own event.", reason="token_scope")


async def require_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    user = await current_user(connection)
    if user is None or not user.is_admin:
        raise Forbidden("Only an administrator may do this.", reason="admin_only")


@dataclass(frozen=True, slots=True)
class EventAccess:
    """The event named in the path and the caller's roles in it, found by the guard."""

    event: dict[str, Any]
    user: CurrentUser | None
    roles: frozenset[Role]

    @property
    def event_id(self) -> int:
        return self.event["id"]


async def _event_access(connection: ASGIConnection) -> EventAccess:
    cached = connection.scope.get("eventapp_event_access")
    if cached is not None:
        return cached  # type: ignore[return-value]
    slug = connection.path_params["slug"]
    event = dict(await _event_named(slug))
    user = await current_user(connection)  # None for a device token of another event
    roles: frozenset[Role] = frozenset()
    if user is not None:
        user_id, event_id = user.id, event["id"]

        async def load() -> frozenset[Role]:
            return frozenset(await service.roles_in_event(user_id, event_id))

        roles = await cache.roles(user_id, event_id, load)
    access = EventAccess(event, user, roles)
    connection.scope["eventapp_event_access"] = access  # type: ignore[typeddict-unknown-key]
    return access


def event_role(*allowed: Role):
    """Guard: the caller holds one of `allowed` in the event named by the path's `slug`."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        access = await _event_access(connection)
        if access.roles.isdisjoint(allowed):
            if not access.event["published"] and not access.roles:
                raise NotFound(
                    f"There is no event {access.event['slug']!r}.", reason="event_unknown"
                )
            names = ", ".join(role.value for role in allowed)
            raise Forbidden(f"This needs the role {names} in this event.", reason="role_required")

    guard.__name__ = f"event_role({', '.join(role.value for role in allowed)})"
    return guard


async def event_visible(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: published events are public; a draft is seen only by people with a role in it."""
    access = await _event_access(connection)
    if not access.event["published"] and not access.roles:
        raise NotFound(f"There is no event {access.event['slug']!r}.", reason="event_unknown")


async def provide_user(request: ASGIConnection) -> CurrentUser:
    user = await current_user(request)
    if user is None:
        raise NotAuthenticated("Sign in first.")
    return user


async def provide_event_access(request: ASGIConnection) -> EventAccess:
    return await _event_access(request)
