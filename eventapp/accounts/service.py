"""Accounts: users, sign-in, sessions and API tokens, per-event roles, invitations.

Plain async functions on explicit arguments; the routes only parse, authorise and shape.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eventapp.accounts import cache
from eventapp.accounts.schemas import Role
from eventapp.accounts.security import hash_password, new_token, token_digest, verify_password
from eventapp.accounts.tables import AuthToken, Invitation, User, UserEventRole
from eventapp.db import lock_row, transaction
from eventapp.errors import Conflict, Forbidden, Gone, NotAuthenticated, NotFound
from eventapp.events.tables import Event
from eventapp.hotpath import HotQuery, Param

SESSION_LIFETIME = timedelta(days=14)
API_TOKEN_LIFETIME = timedelta(days=90)
INVITATION_LIFETIME = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """Who is making a request, as the auth middleware found them."""

    id: int
    email: str
    name: str
    is_admin: bool


def now() -> datetime:
    return datetime.now(UTC)


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --------------------------------------------------------------------------------------------------
# Users and sign-in


async def create_user(
    email: str,
    *,
    name: str = "",
    password: str | None = None,
    is_admin: bool = False,
    organisation_id: int | None = None,
) -> int:
    """Create an account; a user without a password cannot sign in until invited."""
    password_hash = await asyncio.to_thread(hash_password, password) if password else None
    rows = await User.insert(
        User(
            email=normalise_email(email),
            name=name,
            password_hash=password_hash,
            is_admin=is_admin,
            organisation=organisation_id,
        )
    ).run()
    return rows[0]["id"]


async def set_password(user_id: int, password: str) -> None:
    password_hash = await asyncio.to_thread(hash_password, password)
    await User.update({User.password_hash: password_hash}).where(User.id == user_id).run()


async def user_by_email(email: str) -> dict | None:
    return await User.select().where(User.email == normalise_email(email)).first().run()


async def authenticate(email: str, password: str) -> CurrentUser:
    """The user these credentials belong to; one answer for every failure, in constant-ish time."""
    user = await user_by_email(email)
    password_hash = user["password_hash"] if user else None
    valid = await asyncio.to_thread(verify_password, password_hash, password)
    if not (user and valid and user["is_active"]):
        raise NotAuthenticated("Email or password is wrong.", reason="invalid_credentials")
    return CurrentUser(user["id"], user["email"], user["name"], user["is_admin"])


async def issue_token(
    user_id: int, *, kind: str, secret: bytes, label: str = ""
) -> tuple[str, datetime]:
    """A session (kind 'session', for the cookie) or an API token (kind 'api', for scanners)."""
    lifetime = SESSION_LIFETIME if kind == "session" else API_TOKEN_LIFETIME
    token, expires_at = new_token(), now() + lifetime
    await AuthToken.insert(
        AuthToken(
            token_hash=token_digest(token, secret),
            user=user_id,
            kind=kind,
            label=label,
            expires_at=expires_at,
        )
    ).run()
    return token, expires_at


_CALLER = HotQuery(
    lambda: (
        AuthToken.select(
            AuthToken.user.id.as_alias("id"),
            AuthToken.user.email.as_alias("email"),
            AuthToken.user.name.as_alias("name"),
            AuthToken.user.is_admin.as_alias("is_admin"),
            AuthToken.expires_at,
        )
        .where(
            (AuthToken.token_hash == Param("token_hash"))
            & (AuthToken.expires_at > Param("now"))
            & (AuthToken.user.is_active.eq(True))
        )
        .limit(1)
    )
)


async def resolve_token(token: str, secret: bytes) -> CurrentUser | None:
    """Who a token belongs to; answers are cached for at most a second (see accounts.cache)."""
    token_hash = token_digest(token, secret)

    async def load() -> cache.CachedCaller | None:
        row = await _CALLER.first(token_hash=token_hash, now=now())
        if row is None:
            return None
        user = CurrentUser(row["id"], row["email"], row["name"], bool(row["is_admin"]))
        return cache.CachedCaller(user, user.id, row["expires_at"].timestamp())

    found = await cache.caller(token_hash, load)
    return found.user if found is not None else None


async def revoke_token(token: str, secret: bytes) -> None:
    token_hash = token_digest(token, secret)
    await AuthToken.delete().where(AuthToken.token_hash == token_hash).run()
    await cache.forget_token(token_hash)


# --------------------------------------------------------------------------------------------------
# Roles

_ROLES = HotQuery(
    lambda: UserEventRole.select(UserEventRole.role).where(
        (UserEventRole.user == Param("user_id")) & (UserEventRole.event == Param("event_id"))
    )
)


async def roles_in_event(user_id: int, event_id: int) -> set[Role]:
    rows = await _ROLES.rows(user_id=user_id, event_id=event_id)
    return {Role(row["role"]) for row in rows}


async def grant_role(user_id: int, event_id: int, role: Role) -> None:
    """Give a role; granting one the user already has changes nothing."""
    if role in await roles_in_event(user_id, event_id):
        return
    await UserEventRole.insert(UserEventRole(user=user_id, event=event_id, role=role.value)).run()
    await cache.forget_roles(user_id, event_id)


async def revoke_role(user_id: int, event_id: int, role: Role) -> None:
    async with transaction():
        await _revoke_role(user_id, event_id, role)
    await cache.forget_roles(user_id, event_id)


async def _revoke_role(user_id: int, event_id: int, role: Role) -> None:
    if role is Role.organiser:
        await lock_row(Event, event_id)
        organisers = await UserEventRole.count().where(
            (UserEventRole.event == event_id) & (UserEventRole.role == Role.organiser.value)
        )
        if organisers <= 1:
            raise Conflict("An event keeps at least one organiser.", reason="last_organiser")
    await (
        UserEventRole.delete()
        .where(
            (UserEventRole.user == user_id)
            & (UserEventRole.event == event_id)
            & (UserEventRole.role == role.value)
        )
        .run()
    )


_MY_EVENTS = HotQuery(
    lambda: (
        UserEventRole.select(
            UserEventRole.event.slug.as_alias("slug"),
            UserEventRole.event.name.as_alias("name"),
            UserEventRole.role,
        )
        .where(UserEventRole.user == Param("user_id"))
        .order_by(UserEventRole.event.slug)
    )
)


async def my_events(user_id: int) -> list[dict]:
    """Every event the user has a role in, with those roles."""
    rows = await _MY_EVENTS.rows(user_id=user_id)
    events: dict[str, dict] = {}
    for row in rows:
        entry = events.setdefault(
            row["slug"], {"slug": row["slug"], "name": row["name"], "roles": []}
        )
        entry["roles"].append(row["role"])
    return list(events.values())


async def people_in_event(event_id: int) -> list[dict]:
    return (
        await UserEventRole.select(
            UserEventRole.user.id.as_alias("user_id"),
            UserEventRole.user.email.as_alias("email"),
            UserEventRole.user.name.as_alias("name"),
            UserEventRole.role,
        )
        .where(UserEventRole.event == event_id)
        .order_by(UserEventRole.role)
        .order_by(UserEventRole.user.email)
        .run()
    )


# --------------------------------------------------------------------------------------------------
# Invitations: one-time, expiring links that create the account and grant the role.


def invitation_status(row: dict, at: datetime) -> str:
    if row["accepted_at"] is not None:
        return "accepted"
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] <= at:
        return "expired"
    return "pending"


async def create_invitation(
    event_id: int, *, email: str, role: Role, name: str, invited_by: int, secret: bytes
) -> tuple[dict, str]:
    """Store a pending invitation and return it with its token, which is never stored in clear."""
    token = new_token()
    async with transaction():
        # An expired, unused invitation for the same person and role makes way for the new one.
        await (
            Invitation.update({Invitation.revoked_at: now()})
            .where(
                (Invitation.event == event_id)
                & (Invitation.email == normalise_email(email))
                & (Invitation.role == role.value)
                & Invitation.accepted_at.is_null()
                & Invitation.revoked_at.is_null()
                & (Invitation.expires_at <= now())
            )
            .run()
        )
        rows = (
            await Invitation.insert(
                Invitation(
                    event=event_id,
                    email=normalise_email(email),
                    name=name,
                    role=role.value,
                    token_hash=token_digest(token, secret),
                    invited_by=invited_by,
                    expires_at=now() + INVITATION_LIFETIME,
                )
            )
            .returning(*Invitation.all_columns())
            .run()
        )
    return rows[0], token


async def list_invitations(event_id: int) -> list[dict]:
    return (
        await Invitation.select()
        .where(Invitation.event == event_id)
        .order_by(Invitation.created_at, ascending=False)
        .run()
    )


async def revoke_invitation(event_id: int, invitation_id: int) -> None:
    rows = (
        await Invitation.update({Invitation.revoked_at: now()})
        .where(
            (Invitation.id == invitation_id)
            & (Invitation.event == event_id)
            & Invitation.accepted_at.is_null()
            & Invitation.revoked_at.is_null()
        )
        .returning(Invitation.id)
        .run()
    )
    if not rows:
        raise NotFound("No pending invitation with that id in this event.")


async def _usable_invitation(token: str, secret: bytes) -> dict:
    row = (
        await Invitation.select(
            *Invitation.all_columns(),
            Invitation.event.slug.as_alias("event_slug"),
            Invitation.event.name.as_alias("event_name"),
        )
        .where(Invitation.token_hash == token_digest(token, secret))
        .first()
        .run()
    )
    if row is None:
        raise NotFound("This invitation link is not valid.", reason="invitation_unknown")
    status = invitation_status(row, now())
    if status != "pending":
        raise Gone(f"This invitation is {status}.", reason=f"invitation_{status}")
    return row


async def preview_invitation(token: str, secret: bytes) -> dict:
    row = await _usable_invitation(token, secret)
    user = await user_by_email(row["email"])
    row["has_password"] = bool(user and user["password_hash"])
    return row


async def _has_roles_elsewhere(user_id: int, event_id: int) -> bool:
    return await UserEventRole.exists().where(
        (UserEventRole.user == user_id) & (UserEventRole.event != event_id)
    )


async def accept_invitation(token: str, *, name: str, password: str, secret: bytes) -> CurrentUser:
    """Use the link once: create (or confirm) the account and grant the role, atomically."""
    invitation = await _usable_invitation(token, secret)
    existing = await user_by_email(invitation["email"])
    if existing and not existing["is_active"]:
        raise Forbidden("This account is disabled.", reason="account_disabled")
    if existing and existing["password_hash"]:
        # The account is someone's already: an invitation adds a role, it never resets a password.
        await authenticate(invitation["email"], password)
    elif existing and await _has_roles_elsewhere(existing["id"], invitation["event"]):
        # Whoever holds the link (the inviting organiser sees it) must not gain, by choosing the
        # first password, an account that acts in other events.
        raise Conflict(
            "This email belongs to an account used in other events; it cannot be claimed "
            "through an invitation.",
            reason="account_claim_refused",
        )
    sets_password = existing is None or not existing["password_hash"]
    password_hash = await asyncio.to_thread(hash_password, password) if sets_password else None
    async with transaction():
        claimed = (
            await Invitation.update({Invitation.accepted_at: now()})
            .where(
                (Invitation.id == invitation["id"])
                & Invitation.accepted_at.is_null()
                & Invitation.revoked_at.is_null()
                & (Invitation.expires_at > now())
            )
            .returning(Invitation.id)
            .run()
        )
        if not claimed:
            raise Gone("This invitation has just been used.", reason="invitation_accepted")
        if existing is None:
            rows = await User.insert(
                User(
                    email=invitation["email"],
                    name=name or invitation["name"],
                    password_hash=password_hash,
                )
            ).run()
            user_id = rows[0]["id"]
        else:
            user_id = existing["id"]
            if not existing["password_hash"]:
                await (
                    User.update(
                        {User.password_hash: password_hash, User.name: name or existing["name"]}
                    )
                    .where(User.id == user_id)
                    .run()
                )
        await grant_role(user_id, invitation["event"], Role(invitation["role"]))
    user = await User.select().where(User.id == user_id).first().run()
    return CurrentUser(user["id"], user["email"], user["name"], user["is_admin"])
