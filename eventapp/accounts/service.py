"""Accounts: users, sign-in, sessions and API tokens, per-event roles, invitations.

Plain async functions on explicit arguments; the routes only parse, authorise and shape.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eventapp.accounts import cache
from eventapp.accounts.schemas import Role
from eventapp.accounts.security import hash_password, new_token, token_digest, verify_password
from eventapp.accounts.tables import (
    AuthToken,
    Invitation,
    LoginLink,
    Organisation,
    User,
    UserEventRole,
)
from eventapp.db import lock_row, transaction
from eventapp.errors import Conflict, Forbidden, Gone, NotAuthenticated, NotFound
from eventapp.events.tables import Event
from eventapp.hotpath import HotQuery, Param
from eventapp.mail import service as mail
from eventapp.pagination import PageRequest

SESSION_LIFETIME = timedelta(days=14)
API_TOKEN_LIFETIME = timedelta(days=90)
INVITATION_LIFETIME = timedelta(days=7)
LOGIN_LINK_LIFETIMES = {"sign_in": timedelta(minutes=15), "reset": timedelta(hours=1)}
ROLE_NAMES = {
    Role.organiser: "an organiser",
    Role.reviewer: "a reviewer",
    Role.investor: "an investor",
    Role.startup: "a start-up",
    Role.door_staff: "door staff",
}


@dataclass(frozen=True, slots=True)
class Mailing:
    """How links reach people: the site's base URL, and whether mail leaves (SMTP is set).

    When it does, a link mailed to someone is never shown to anyone else.
    """

    base_url: str
    delivers: bool


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """Who is making a request, as the auth middleware found them."""

    id: int
    email: str
    name: str
    is_admin: bool
    email_verified: bool = False
    # The one event a device token may act in (None: a session or an account-wide API token).
    token_event_id: int | None = None


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
    email_verified: bool = False,
) -> int:
    """Create an account; a user without a password cannot sign in until invited.

    `email_verified` only where the mailbox's owner is known to be the one asking (an operator at
    the command line, the demo); everyone else proves it through a mailed link.
    """
    password_hash = await asyncio.to_thread(hash_password, password) if password else None
    rows = await User.insert(
        User(
            email=normalise_email(email),
            name=name,
            password_hash=password_hash,
            is_admin=is_admin,
            organisation=organisation_id,
            email_verified_at=now() if email_verified else None,
        )
    ).run()
    return rows[0]["id"]


async def set_password(user_id: int, password: str, *, keep_token_hash: str | None = None) -> None:
    """Set a new password and end every session and token of the account but `keep_token_hash`.

    Whoever knew the old password (or held a session opened with it) is shut out at once.
    """
    password_hash = await asyncio.to_thread(hash_password, password)
    async with transaction():
        await User.update({User.password_hash: password_hash}).where(User.id == user_id).run()
        await end_sessions(user_id, keep_token_hash=keep_token_hash)


async def change_password(
    user: CurrentUser, *, current_password: str, new_password: str, token: str, secret: bytes
) -> None:
    """Your own change: the current password first; then every other session of yours ends."""
    await authenticate(user.email, current_password)
    await set_password(user.id, new_password, keep_token_hash=token_digest(token, secret))


async def verify_email(user_id: int) -> None:
    """The owner of the mailbox proved it (they followed a link mailed to it)."""
    await (
        User.update({User.email_verified_at: now()})
        .where((User.id == user_id) & User.email_verified_at.is_null())
        .run()
    )
    await cache.forget_user(user_id)


async def user_by_email(email: str) -> dict | None:
    return await User.select().where(User.email == normalise_email(email)).first().run()


async def authenticate(email: str, password: str) -> CurrentUser:
    """The user these credentials belong to; one answer for every failure, in constant-ish time."""
    user = await user_by_email(email)
    password_hash = user["password_hash"] if user else None
    valid = await asyncio.to_thread(verify_password, password_hash, password)
    if not (user and valid and user["is_active"]):
        raise NotAuthenticated("Email or password is wrong.", reason="invalid_credentials")
    return _current_user(user)


def _current_user(user: dict) -> CurrentUser:
    return CurrentUser(
        user["id"],
        user["email"],
        user["name"],
        bool(user["is_admin"]),
        email_verified=user["email_verified_at"] is not None,
    )


async def issue_token(
    user_id: int, *, kind: str, secret: bytes, label: str = "", event_id: int | None = None
) -> tuple[str, datetime]:
    """A session (kind 'session', for the cookie) or an API token (kind 'api', for scanners).

    An API token with `event_id` is a device's for that one event (see `AuthToken`).
    """
    lifetime = SESSION_LIFETIME if kind == "session" else API_TOKEN_LIFETIME
    token, expires_at = new_token(), now() + lifetime
    await AuthToken.insert(
        AuthToken(
            token_hash=token_digest(token, secret),
            user=user_id,
            kind=kind,
            label=label[:100],
            event=event_id,
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
            AuthToken.user.email_verified_at.as_alias("email_verified_at"),
            AuthToken.event,
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
        user = CurrentUser(
            row["id"],
            row["email"],
            row["name"],
            bool(row["is_admin"]),
            email_verified=row["email_verified_at"] is not None,
            token_event_id=row["event"],
        )
        return cache.CachedCaller(user, user.id, row["expires_at"].timestamp())

    found = await cache.caller(token_hash, load)
    return found.user if found is not None else None


async def revoke_token(token: str, secret: bytes) -> None:
    token_hash = token_digest(token, secret)
    await AuthToken.delete().where(AuthToken.token_hash == token_hash).run()
    await cache.forget_token(token_hash)


UserHook = Callable[[int], Awaitable[None]]
_SESSIONS_ENDED: list[UserHook] = []


def on_sessions_ended(hook: UserHook) -> UserHook:
    """Register another capability's links that must end with the account's sessions (the
    matchmaking calendar feeds), called as `hook(user_id)` in the same transaction, if any."""
    _SESSIONS_ENDED.append(hook)
    return hook


async def end_sessions(user_id: int, *, keep_token_hash: str | None = None) -> None:
    """End every session and API token of the account, but the one `keep_token_hash` names, and
    every link that works without signing in (a password change or reset: whoever had the old
    password may have made some)."""
    condition = AuthToken.user == user_id
    if keep_token_hash is not None:
        condition &= AuthToken.token_hash != keep_token_hash
    await AuthToken.delete().where(condition).run()
    for hook in _SESSIONS_ENDED:
        await hook(user_id)
    await cache.forget_user(user_id)


_TOKEN_COLUMNS = (
    AuthToken.id,
    AuthToken.kind,
    AuthToken.label,
    AuthToken.created_at,
    AuthToken.expires_at,
    AuthToken.event.slug.as_alias("event_slug"),
)


async def list_own_tokens(
    user_id: int, *, current_token: str | None, secret: bytes, page: PageRequest
) -> tuple[list[dict], int]:
    """The account's live sessions and API tokens, newest first; `current` marks this one."""
    condition = (AuthToken.user == user_id) & (AuthToken.expires_at > now())
    rows = await page.apply(
        AuthToken.select(*_TOKEN_COLUMNS, AuthToken.token_hash)
        .where(condition)
        .order_by(AuthToken.created_at, ascending=False)
        .order_by(AuthToken.id, ascending=False)
    )
    current = token_digest(current_token, secret) if current_token else None
    for row in rows:
        row["current"] = row.pop("token_hash") == current
    return rows, await AuthToken.count().where(condition)


async def revoke_own_token(user_id: int, token_id: int) -> None:
    await _revoke_token_where(
        (AuthToken.id == token_id) & (AuthToken.user == user_id),
        "You have no session or token with that id.",
    )


async def _revoke_token_where(condition, not_found: str) -> None:
    rows = await AuthToken.delete().where(condition).returning(AuthToken.token_hash).run()
    if not rows:
        raise NotFound(not_found)
    await cache.forget_token(rows[0]["token_hash"])


async def list_event_devices(event_id: int, page: PageRequest) -> tuple[list[dict], int]:
    """The API tokens made for this event's devices (door scanners), with whose they are."""
    condition = (AuthToken.event == event_id) & (AuthToken.expires_at > now())
    if page.q:
        condition &= page.matches(AuthToken.label, AuthToken.user.email)
    rows = await page.apply(
        AuthToken.select(
            *_TOKEN_COLUMNS,
            AuthToken.user.email.as_alias("email"),
            AuthToken.user.name.as_alias("name"),
        )
        .where(condition)
        .order_by(AuthToken.created_at, ascending=False)
        .order_by(AuthToken.id, ascending=False)
    )
    return rows, await AuthToken.count().where(condition)


async def revoke_event_device(event_id: int, token_id: int) -> None:
    await _revoke_token_where(
        (AuthToken.id == token_id) & (AuthToken.event == event_id),
        "No device token with that id in this event.",
    )


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


RoleHook = Callable[[int, int, Role], Awaitable[None]]
_ROLE_GRANTED: list[RoleHook] = []


def on_role_granted(hook: RoleHook) -> RoleHook:
    """Register another capability's part in a new role (tickets: an investor's or a start-up's
    ticket), called as `hook(user_id, event_id, role)` in the granting transaction, if any."""
    _ROLE_GRANTED.append(hook)
    return hook


async def grant_role(user_id: int, event_id: int, role: Role) -> None:
    """Give a role; granting one the user already has changes nothing."""
    if role in await roles_in_event(user_id, event_id):
        return
    await UserEventRole.insert(UserEventRole(user=user_id, event=event_id, role=role.value)).run()
    await cache.forget_roles(user_id, event_id)
    for hook in _ROLE_GRANTED:
        await hook(user_id, event_id, role)


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
    """Every event the user has a role in, with those roles (callers must not change them)."""

    async def load() -> list[dict]:
        events: dict[str, dict] = {}
        for row in await _MY_EVENTS.rows(user_id=user_id):
            entry = events.setdefault(
                row["slug"], {"slug": row["slug"], "name": row["name"], "roles": []}
            )
            entry["roles"].append(row["role"])
        return list(events.values())

    return await cache.memberships(user_id, load)


async def people_in_event(event_id: int, page: PageRequest) -> tuple[list[dict], int]:
    """Everyone with a role in the event, a row per role, by role then email; `q` searches."""
    condition = UserEventRole.event == event_id
    if page.q:
        condition &= page.matches(UserEventRole.user.email, UserEventRole.user.name)
    rows = await page.apply(
        UserEventRole.select(
            UserEventRole.user.id.as_alias("user_id"),
            UserEventRole.user.email.as_alias("email"),
            UserEventRole.user.name.as_alias("name"),
            UserEventRole.user.email_verified_at.as_alias("email_verified_at"),
            UserEventRole.role,
        )
        .where(condition)
        .order_by(UserEventRole.role)
        .order_by(UserEventRole.user.email)
    )
    for row in rows:
        row["email_verified"] = row.pop("email_verified_at") is not None
    return rows, await UserEventRole.count().where(condition)


async def people_with_role(event_id: int, role: str) -> list[dict]:
    """Everyone holding `role` in the event, with their organisation's name (tickets issue
    investors and start-up teams theirs from this)."""
    return (
        await UserEventRole.select(
            UserEventRole.user.id.as_alias("user_id"),
            UserEventRole.user.name.as_alias("name"),
            UserEventRole.user.email.as_alias("email"),
            UserEventRole.user.organisation.name.as_alias("organisation"),
        )
        .where((UserEventRole.event == event_id) & (UserEventRole.role == role))
        .order_by(UserEventRole.user.id)
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
    event_id: int,
    *,
    email: str,
    role: Role,
    name: str,
    inviter: CurrentUser,
    secret: bytes,
    mailing: Mailing,
    organisation: str = "",
) -> tuple[dict, str]:
    """Store a pending invitation, queue its mail, and return it with its token.

    The token is never stored in clear. With mail delivered, the invitation is `mailed_only`: the
    link reaches only the invitee, and accepting it proves the mailbox is theirs.
    """
    token = new_token()
    email = normalise_email(email)
    async with transaction():
        # An expired, unused invitation for the same person and role makes way for the new one.
        await (
            Invitation.update({Invitation.revoked_at: now()})
            .where(
                (Invitation.event == event_id)
                & (Invitation.email == email)
                & (Invitation.role == role.value)
                & Invitation.accepted_at.is_null()
                & Invitation.revoked_at.is_null()
                & (Invitation.expires_at <= now())
            )
            .run()
        )
        row = await _insert_invitation(
            event_id, email, role, name, inviter, token, secret, mailing, organisation.strip()
        )
    return row, token


async def resend_invitation(
    event_id: int, invitation_id: int, *, inviter: CurrentUser, secret: bytes, mailing: Mailing
) -> tuple[dict, str]:
    """Revoke a pending invitation's link and send a new one in its place."""
    token = new_token()
    async with transaction():
        old = await revoke_invitation(event_id, invitation_id)
        row = await _insert_invitation(
            event_id,
            old["email"],
            Role(old["role"]),
            old["name"],
            inviter,
            token,
            secret,
            mailing,
            old["organisation_name"],
        )
    return row, token


async def _insert_invitation(
    event_id: int,
    email: str,
    role: Role,
    name: str,
    inviter: CurrentUser,
    token: str,
    secret: bytes,
    mailing: Mailing,
    organisation: str = "",
) -> dict:
    rows = (
        await Invitation.insert(
            Invitation(
                event=event_id,
                email=email,
                name=name,
                organisation_name=organisation,
                role=role.value,
                token_hash=token_digest(token, secret),
                invited_by=inviter.id,
                expires_at=now() + INVITATION_LIFETIME,
                mailed_only=mailing.delivers,
            )
        )
        .returning(*Invitation.all_columns())
        .run()
    )
    event = await Event.select(Event.name, Event.timezone).where(Event.id == event_id).first()
    await mail.enqueue(
        to=email,
        template="invitation",
        event_id=event_id,
        secret=True,
        context={
            "event": event,
            "name": name,
            "inviter": inviter.name or inviter.email,
            "role_name": ROLE_NAMES[role],
            "url": f"{mailing.base_url}/invite.html#{token}",
            "expires_at": rows[0]["expires_at"],
        },
    )
    return rows[0]


async def list_invitations(event_id: int, page: PageRequest) -> tuple[list[dict], int]:
    """The event's invitations, newest first; `q` searches emails and names."""
    condition = Invitation.event == event_id
    if page.q:
        condition &= page.matches(Invitation.email, Invitation.name)
    rows = await page.apply(
        Invitation.select()
        .where(condition)
        .order_by(Invitation.created_at, ascending=False)
        .order_by(Invitation.id, ascending=False)
    )
    return rows, await Invitation.count().where(condition)


async def revoke_invitation(event_id: int, invitation_id: int) -> dict:
    """Revoke a pending (not yet used) invitation; its email, role and name."""
    rows = (
        await Invitation.update({Invitation.revoked_at: now()})
        .where(
            (Invitation.id == invitation_id)
            & (Invitation.event == event_id)
            & Invitation.accepted_at.is_null()
            & Invitation.revoked_at.is_null()
        )
        .returning(Invitation.email, Invitation.role, Invitation.name, Invitation.organisation_name)
        .run()
    )
    if not rows:
        raise NotFound("No pending invitation with that id in this event.")
    return rows[0]


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
    """What the invitation offers. It does not say whether the email has an account already:
    whoever holds the link (the inviting organiser too) must not learn that from it."""
    return await _usable_invitation(token, secret)


_CLAIM_REFUSED = (
    "This email already has an account, and this invitation link cannot open it. If it is yours, "
    "set a password for it first (the home page emails you a link to set one), then accept the "
    "invitation with that password."
)


async def accept_invitation(token: str, *, name: str, password: str, secret: bytes) -> CurrentUser:
    """Use the link once: create (or claim, or add a role to) the account, atomically.

    An account with a password is someone's already: the invitation only adds a role, after its
    password (its owner signing in). An existing account without a password (an applicant who
    started a draft by mail, say) is claimed, taking its first password here, only through a link
    that went to its mailbox alone (`mailed_only`), and only if it holds no role elsewhere and is
    no administrator: a link the inviting organiser saw would otherwise hand them the account and
    whatever it holds in any event. Its owner sets a password through a mailed reset link and
    accepts with it. Hashing is slow, so it runs before the transaction, and the transaction
    re-reads the account under a lock and writes only if nothing it was decided on has changed.
    """
    invitation = await _usable_invitation(token, secret)
    seen = await user_by_email(invitation["email"])
    seen_hash = seen["password_hash"] if seen else None
    if seen_hash:
        await authenticate(invitation["email"], password)
        new_hash = None
    else:
        if seen is not None and not invitation["mailed_only"]:
            raise Conflict(_CLAIM_REFUSED, reason="account_claim_refused")
        new_hash = await asyncio.to_thread(hash_password, password)
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
        user = await _locked_user(invitation["email"])
        if user is None and seen is not None:
            raise Conflict(
                "The account changed while the invitation was being accepted; try again.",
                reason="account_changed",
            )
        if user is None:
            rows = await User.insert(
                User(
                    email=invitation["email"],
                    name=name or invitation["name"],
                    password_hash=new_hash,
                )
            ).run()
            user_id = rows[0]["id"]
        else:
            user_id = user["id"]
            if not user["is_active"]:
                raise Forbidden("This account is disabled.", reason="account_disabled")
            if user["password_hash"] != seen_hash:
                raise Conflict(
                    "The account changed while the invitation was being accepted; try again.",
                    reason="account_changed",
                )
            if new_hash is not None:
                await _claim_passwordless(user, invitation, new_hash, name)
        await _join_named_organisation(user_id, invitation)
        await grant_role(user_id, invitation["event"], Role(invitation["role"]))
        if invitation["mailed_only"]:
            await verify_email(user_id)
    return _current_user(await User.select().where(User.id == user_id).first().run())


_ORGANISATION_KINDS = {Role.investor.value: "investor", Role.startup.value: "startup"}


async def _join_named_organisation(user_id: int, invitation: dict) -> None:
    """An investor joins the firm the invitation names (a start-up person, the company), if the
    event already has that firm: the one of that kind and name, ignoring case, that someone with
    a role in this event belongs to or that applied to it. Otherwise a new one is made: the
    organiser's typing a name never joins anyone to another event's organisation (which its
    people's forms could then rewrite everywhere). Someone who belongs to one stays there."""
    kind = _ORGANISATION_KINDS.get(invitation["role"])
    name = invitation["organisation_name"]
    if kind is None or not name:
        return
    if (await User.select(User.organisation).where(User.id == user_id).first().run())[
        "organisation"
    ] is not None:
        return
    named = await Organisation.raw(
        "SELECT id FROM organisations WHERE kind = {} AND lower(name) = lower({}) ORDER BY id",
        kind,
        name,
    )
    linked = await organisations_of_event(invitation["event"], [row["id"] for row in named])
    if linked:
        organisation_id = min(linked)
        await lock_row(Organisation, organisation_id)
    else:
        rows = await Organisation.insert(Organisation(name=name, kind=kind)).run()
        organisation_id = rows[0]["id"]
    await User.update({User.organisation: organisation_id}).where(User.id == user_id).run()


OrganisationsHook = Callable[[int, list[int]], Awaitable[set[int]]]
_EVENT_ORGANISATIONS: list[OrganisationsHook] = []


def on_event_organisations(hook: OrganisationsHook) -> OrganisationsHook:
    """Register another capability's part in which organisations an event has (applications:
    the start-ups that applied to it), called as `hook(event_id, candidate_ids)` and answering
    the candidates it knows in that event."""
    _EVENT_ORGANISATIONS.append(hook)
    return hook


async def organisations_of_event(event_id: int, candidate_ids: list[int]) -> set[int]:
    """Which of the candidates the event already has, by its own people's doing: someone holding
    a role in it belongs to one, or (through the hooks) one applied to it."""
    if not candidate_ids:
        return set()
    rows = await UserEventRole.select(UserEventRole.user.organisation.as_alias("id")).where(
        (UserEventRole.event == event_id) & UserEventRole.user.organisation.is_in(candidate_ids)
    )
    found = {row["id"] for row in rows}
    for hook in _EVENT_ORGANISATIONS:
        found |= await hook(event_id, candidate_ids)
    return found


async def organisation_relied_on_beyond(
    organisation_id: int, *, person: int, event_id: int
) -> bool:
    """Whether anyone but `person`, or any event but `event_id`, relies on the organisation.

    Organisations are shared by every event, so one is someone else's as soon as another person
    belongs to it, `person` holds a role in another event (whose lists show it), or any row of
    another event refers to it (an application, a meeting, a fit, a firm's profile, a programme
    item, an incubator's registration: every table with an event and an organisation, found from
    the tables themselves so that a new one counts too).
    """
    if await User.exists().where((User.organisation == organisation_id) & (User.id != person)):
        return True
    if await UserEventRole.exists().where(
        (UserEventRole.user == person) & (UserEventRole.event != event_id)
    ):
        return True
    for table, event_column, columns in _event_references_to_organisations():
        for column in columns:
            if await table.exists().where((column == organisation_id) & (event_column != event_id)):
                return True
    return False


@functools.cache
def _event_references_to_organisations() -> list[tuple]:
    """(table, its event column, its columns referring to organisations), for every table."""
    from eventapp.piccolo_app import APP_CONFIG  # every domain's tables; imported when first asked

    found = []
    for table in APP_CONFIG.table_classes:
        keys = table._meta.foreign_key_columns
        events = [c for c in keys if c._foreign_key_meta.resolved_references is Event]
        organisations = [c for c in keys if c._foreign_key_meta.resolved_references is Organisation]
        if len(events) == 1 and organisations:
            found.append((table, events[0], organisations))
    return found


async def _locked_user(email: str) -> dict | None:
    """The account for `email`, held until the transaction ends (a row lock on PostgreSQL)."""
    user = await user_by_email(email)
    if user is not None:
        await lock_row(User, user["id"])
        user = await User.select().where(User.id == user["id"]).first().run()
    return user


async def _has_roles_elsewhere(user_id: int, event_id: int) -> bool:
    return await UserEventRole.exists().where(
        (UserEventRole.user == user_id) & (UserEventRole.event != event_id)
    )


async def _claim_passwordless(user: dict, invitation: dict, password_hash: str, name: str) -> None:
    """Give an existing passwordless account its first password: only through a link mailed to
    it alone, never to an administrator or to someone who holds roles elsewhere."""
    if (
        not invitation["mailed_only"]
        or user["is_admin"]
        or await _has_roles_elsewhere(user["id"], invitation["event"])
    ):
        raise Conflict(_CLAIM_REFUSED, reason="account_claim_refused")
    updated = (
        await User.update({User.password_hash: password_hash, User.name: name or user["name"]})
        .where((User.id == user["id"]) & User.password_hash.is_null())
        .returning(User.id)
        .run()
    )
    if not updated:
        raise Conflict(
            "The account changed while the invitation was being accepted; try again.",
            reason="account_changed",
        )


# --------------------------------------------------------------------------------------------------
# Links by mail: sign in without a password, or set a new one.


async def mail_login_link(email: str, *, purpose: str, secret: bytes, mailing: Mailing) -> None:
    """Mail a one-time link (`purpose` 'sign_in' or 'reset') if the email has an active account.

    Says nothing either way: the caller answers the same whether or not the email is known.
    """
    user = await user_by_email(email)
    if user is None or not user["is_active"]:
        return
    token, lifetime = new_token(), LOGIN_LINK_LIFETIMES[purpose]
    page = "signin.html" if purpose == "sign_in" else "reset.html"
    async with transaction():
        await LoginLink.insert(
            LoginLink(
                token_hash=token_digest(token, secret),
                user=user["id"],
                purpose=purpose,
                expires_at=now() + lifetime,
            )
        ).run()
        await mail.enqueue(
            to=user["email"],
            template="sign_in_link" if purpose == "sign_in" else "password_reset",
            secret=True,
            context={
                "name": user["name"],
                "url": f"{mailing.base_url}/{page}#{token}",
                "minutes": int(lifetime.total_seconds() // 60),
            },
        )


async def redeem_login_link(
    token: str, *, purpose: str, secret: bytes, new_password: str | None = None
) -> CurrentUser:
    """Use a mailed link once: it proves the mailbox, signs in, and for a reset sets the password
    (ending every session and token the account had, and its other unused links)."""
    digest = token_digest(token, secret)
    live = (LoginLink.token_hash == digest) & (LoginLink.purpose == purpose)
    live &= LoginLink.used_at.is_null() & (LoginLink.expires_at > now())
    # A made-up or spent link is refused before any slow hashing, which nobody may make us do
    # for free; the transaction checks again.
    if not await LoginLink.exists().where(live):
        if not await LoginLink.exists().where(LoginLink.token_hash == digest):
            raise NotFound("This link is not valid.", reason="link_unknown")
        raise Gone(
            "This link has expired or was used already; ask for a new one.",
            reason="link_invalid",
        )
    new_hash = await asyncio.to_thread(hash_password, new_password) if new_password else None
    async with transaction():
        used = (
            await LoginLink.update({LoginLink.used_at: now()})
            .where(live)
            .returning(LoginLink.user)
            .run()
        )
        if not used:
            raise Gone("This link was used a moment ago.", reason="link_invalid")
        user_id = used[0]["user"]
        user = await User.select().where(User.id == user_id).first()
        if not user["is_active"]:
            raise Forbidden("This account is disabled.", reason="account_disabled")
        await verify_email(user_id)
        if new_hash is not None:
            await User.update({User.password_hash: new_hash}).where(User.id == user_id).run()
            await end_sessions(user_id)
            await (
                LoginLink.update({LoginLink.used_at: now()})
                .where((LoginLink.user == user_id) & LoginLink.used_at.is_null())
                .run()
            )
    return _current_user(await User.select().where(User.id == user_id).first())
