"""A short-lived in-process cache of what every request resolves: the caller, roles, the event.

Every authenticated request resolves the caller from a token, and every event-scoped one the
event named by the path and the caller's roles in it. Under load the same few answers are asked
for thousands of times a second, so this process keeps each answer for at most `LIFETIME_S`
(one second), counted from the moment the database read began.

Security first. Whatever ends access calls the matching `forget_*` (after its change is
committed, or inside its transaction if the commit follows within a second):

    await forget_token(token_hash)        # logout, a revoked session or API token
    await forget_user(user_id)            # deactivation, password change: every token and role
    await forget_roles(user_id, event_id) # a role granted or removed
    await forget_event(event_id)          # an event (or its days) updated, published, deleted

which drops the answers in this process at once (so the change holds for the very next request
here) and, with Redis configured, publishes them on the deployment's channel
(`<namespace>:forget`) every process listens to, so the others drop them within milliseconds.
Without Redis (or if a message is lost) the lifetime bounds staleness: no answer is older than
one second. For a second after a forget, no answer touching what was forgotten is stored (every
process, every read in that window goes to the database): so neither a read that was under way,
nor one made between the forget and the commit, can keep the old state alive.

Unknown tokens are not cached (nothing to gain but memory for whoever sends random ones), nor are
missing events; each map holds at most `MAX_ENTRIES` answers, the oldest dropped first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, NamedTuple, TypeVar

log = logging.getLogger("eventapp.cache")

LIFETIME_S = 1.0
MAX_ENTRIES = 10_000
CHANNEL = "forget"  # under the deployment's Redis namespace: `<namespace>:forget`
PUBLISH_TIMEOUT_S = 0.25

T = TypeVar("T")


class CachedCaller(NamedTuple):
    """What a token resolved to: the user (as requests see them), whose id, and until when."""

    user: Any
    user_id: int
    expires_ts: float


class _State:
    def __init__(self) -> None:
        self.tokens: dict[str, tuple[float, Any]] = {}
        self.roles: dict[tuple[int, int], tuple[float, Any]] = {}
        self.events: dict[str, tuple[float, Any]] = {}
        self.days: dict[int, tuple[float, Any]] = {}
        self.memberships: dict[int, tuple[float, Any]] = {}
        self.epoch = 0
        # What was forgotten (("user", 7), ("token", hash), ...) -> until when nothing about it
        # is stored.
        self.quiet: dict[tuple, float] = {}
        self.origin = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.redis: Any = None
        self.channel = f"eventapp:{CHANNEL}"
        self.listener: asyncio.Task | None = None


_state = _State()


def clear() -> None:
    """Drop every answer in this process (what was forgotten lately stays unstorable)."""
    _state.tokens.clear()
    _state.roles.clear()
    _state.events.clear()
    _state.days.clear()
    _state.memberships.clear()
    _state.epoch += 1


def _quiet(tags: tuple[tuple, ...], started: float) -> bool:
    quiet = _state.quiet
    return bool(quiet) and any(quiet.get(tag, 0.0) > started for tag in tags)


def _silence(*tags: tuple) -> None:
    now = time.monotonic()
    quiet = _state.quiet
    if len(quiet) > 1000:
        for tag in [tag for tag, until in quiet.items() if until <= now]:
            del quiet[tag]
    for tag in tags:
        quiet[tag] = now + LIFETIME_S


async def _through(
    table: dict,
    key: Hashable,
    load: Callable[[], Awaitable[T]],
    valid: Callable[[T], bool] | None,
    tags: Callable[[T], tuple[tuple, ...]],
) -> T:
    entry = table.get(key)
    started = time.monotonic()
    if entry is not None:
        if started - entry[0] < LIFETIME_S and (valid is None or valid(entry[1])):
            return entry[1]
        del table[key]  # old, or its token has expired
    epoch = _state.epoch
    value = await load()
    if value is not None and _state.epoch == epoch and not _quiet(tags(value), started):
        if len(table) >= MAX_ENTRIES:
            table.pop(next(iter(table)))
        table[key] = (started, value)
    return value


# --------------------------------------------------------------------------------------------------
# Reads: each takes the loader that asks the database, used when the answer is missing or old.


async def caller(token_hash: str, load: Callable[[], Awaitable[Any]]) -> Any:
    """The caller a token belongs to. `load` returns a `CachedCaller`, or None for an unknown
    token; an answer whose token has expired since is never served."""
    return await _through(
        _state.tokens,
        token_hash,
        load,
        lambda found: found.expires_ts > time.time(),
        lambda found: (("token", token_hash), ("user", found.user_id)),
    )


async def roles(user_id: int, event_id: int, load: Callable[[], Awaitable[T]]) -> T:
    return await _through(
        _state.roles,
        (user_id, event_id),
        load,
        None,
        lambda _: (("roles", user_id, event_id), ("user", user_id), ("event", event_id)),
    )


async def event(slug: str, load: Callable[[], Awaitable[T]]) -> T:
    """The event row for a slug (callers must not change the dict they get)."""
    return await _through(_state.events, slug, load, None, lambda row: (("event", row["id"]),))


async def event_days(event_id: int, load: Callable[[], Awaitable[T]]) -> T:
    """An event's days (they change only with the event, which forgets them)."""
    return await _through(_state.days, event_id, load, None, lambda _: (("event", event_id),))


async def memberships(user_id: int, load: Callable[[], Awaitable[T]]) -> T:
    """Every event a user has roles in, with those roles and the events' names (who am I)."""
    return await _through(
        _state.memberships,
        user_id,
        load,
        None,
        lambda _: (("user", user_id), ("memberships", user_id), ("events",)),
    )


# --------------------------------------------------------------------------------------------------
# Invalidation: at once here, through Redis everywhere else.


def _drop_token(token_hash: str) -> None:
    _silence(("token", token_hash))
    _state.tokens.pop(token_hash, None)


def _drop_user(user_id: int) -> None:
    _silence(("user", user_id))
    for key in [k for k, (_, found) in _state.tokens.items() if found.user_id == user_id]:
        _state.tokens.pop(key, None)
    for key in [k for k in _state.roles if k[0] == user_id]:
        _state.roles.pop(key, None)
    _state.memberships.pop(user_id, None)


def _drop_roles(user_id: int, event_id: int) -> None:
    _silence(("roles", user_id, event_id), ("memberships", user_id))
    _state.roles.pop((user_id, event_id), None)
    _state.memberships.pop(user_id, None)


def _drop_event(event_id: int) -> None:
    # Any member's list may name the event (a new name or slug): every list goes.
    _silence(("event", event_id), ("events",))
    _state.memberships.clear()
    _state.days.pop(event_id, None)
    for key in [k for k, (_, row) in _state.events.items() if row["id"] == event_id]:
        _state.events.pop(key, None)
    for key in [k for k in _state.roles if k[1] == event_id]:
        _state.roles.pop(key, None)


_DROPS: dict[str, Callable[..., None]] = {
    "token": _drop_token,
    "user": _drop_user,
    "roles": _drop_roles,
    "event": _drop_event,
}


async def _forget(kind: str, *args: Any) -> None:
    _DROPS[kind](*args)
    _state.epoch += 1
    redis = _state.redis
    if redis is None:
        return
    message = json.dumps([_state.origin, kind, *args])
    for attempt in range(2):
        try:
            # Bounded: a Redis that stopped answering must not hang a logout.
            await asyncio.wait_for(redis.publish(_state.channel, message), PUBLISH_TIMEOUT_S)
            return
        except Exception:  # noqa: BLE001 - the one-second lifetime still bounds staleness
            if attempt:
                log.exception("Could not publish a cache invalidation (%s); others expire it", kind)


async def forget_token(token_hash: str) -> None:
    """A session or API token ended (logout, revocation)."""
    await _forget("token", token_hash)


async def forget_user(user_id: int) -> None:
    """Everything about a user: every token and every role (deactivation, password change)."""
    await _forget("user", user_id)


async def forget_roles(user_id: int, event_id: int) -> None:
    """A user's roles in one event changed."""
    await _forget("roles", user_id, event_id)


async def forget_event(event_id: int) -> None:
    """An event changed (fields, published, slug) or was deleted; the roles in it go too."""
    await _forget("event", event_id)


# --------------------------------------------------------------------------------------------------
# Listening to the other processes (started and stopped by the app's lifespan).


def _apply(raw: bytes | str) -> None:
    try:
        origin, kind, *args = json.loads(raw)
        drop = _DROPS[kind]
    except (ValueError, KeyError, TypeError):
        log.warning("Ignoring a malformed cache invalidation: %r", raw)
        return
    if origin != _state.origin:
        drop(*args)
        _state.epoch += 1


async def _listen(pubsub: Any) -> None:
    """Apply what the other processes forget; while Redis is away, the lifetime alone bounds it."""
    delay, failing = 0.2, False
    while True:
        try:
            if not pubsub.subscribed:
                await pubsub.subscribe(_state.channel)
                clear()  # messages may have been missed while away
            if failing:
                log.warning("Cache invalidation channel is back")
            delay, failing = 0.2, False
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    _apply(message["data"])
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - retry with back-off, logged once per outage
            if not failing:
                log.warning("Cache invalidation channel lost; retrying", exc_info=True)
            failing = True
            with contextlib.suppress(Exception):
                await pubsub.reset()
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


async def start(redis: Any | None, namespace: str = "eventapp") -> None:
    """Start fresh; with a Redis client, publish and listen to invalidations on the channel of
    this deployment (`<namespace>:forget`: deployments sharing a Redis do not hear each other)."""
    clear()
    _state.quiet.clear()
    _state.channel = f"{namespace}:{CHANNEL}"
    if redis is None:
        return
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    try:
        # Subscribed before the app serves, so nothing published from then on is missed.
        await asyncio.wait_for(pubsub.subscribe(_state.channel), timeout=2)
    except Exception:  # noqa: BLE001 - serve anyway; the listener keeps trying
        log.warning("Redis does not answer: cache invalidations are local until it does")
        with contextlib.suppress(Exception):
            await pubsub.reset()
    _state.redis = redis
    _state.listener = asyncio.create_task(_listen(pubsub), name="eventapp-cache-invalidations")
    _state.listener.pubsub = pubsub  # type: ignore[attr-defined]


async def stop() -> None:
    listener, _state.listener, _state.redis = _state.listener, None, None
    if listener is not None:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        with contextlib.suppress(Exception):
            await listener.pubsub.aclose()  # type: ignore[attr-defined]
    clear()
    _state.quiet.clear()
