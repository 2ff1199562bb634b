"""Guessing slowed down: attempts counted atomically per client address and per account.

Every route that checks a password (sign-in, API tokens, accepting an invitation, changing a
password) shares one budget per client address and one per account. A budget's window opens at
its first attempt and lasts a fixed time:

- an attempt is counted *before* the password is checked, with one atomic increment, so a burst
  of concurrent guesses cannot slip past the limit between a read and a write;
- an attempt that succeeds is refunded, so a venue behind one NAT address, where hundreds sign in
  correctly at once, does not lock itself out; only failures use up the budget;
- the account budget stops one account being guessed from many addresses.

Requests for mailed links (sign-in, password reset) use the same mechanism with their own
budgets (`MAIL_LINK_LIMITS`), counting every request, so nobody can flood a mailbox.

With Redis configured the counts live there (a Lua script: INCR, and EXPIRE on the first
hit), shared by every worker and replica; without it, in this process's memory, where the event
loop makes each increment atomic. Keys hold a hash of the address or email, never the value.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from eventapp.accounts.service import normalise_email
from eventapp.errors import NotAuthenticated, RateLimited


@dataclass(frozen=True, slots=True)
class Limit:
    scope: str
    attempts: int
    window_s: int


# Failed password checks: per client address, then per account.
PASSWORD_LIMITS = (
    Limit("address", attempts=30, window_s=60),
    Limit("account", attempts=10, window_s=300),
)
# Mailed links (sign-in, password reset): every request counts, so nobody floods a mailbox.
MAIL_LINK_LIMITS = (
    Limit("mail-address", attempts=20, window_s=600),
    Limit("mail-account", attempts=3, window_s=900),
)


class Counter(Protocol):
    async def add(self, key: str, window_s: int) -> tuple[int, int]:
        """Count one more under `key`; the new count, and seconds until the window ends.

        A window opens with its first count and lasts `window_s`.
        """

    async def refund(self, key: str) -> None:
        """Take one back, if the window is still open."""


class MemoryCounter:
    """Counts in this process; asyncio runs each call to completion, so increments are atomic."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}

    async def add(self, key: str, window_s: int) -> tuple[int, int]:
        now = time.monotonic()
        if len(self._counts) > 10_000:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        count, ends = self._counts.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window_s
        self._counts[key] = (count + 1, ends)
        return count + 1, math.ceil(ends - now)

    async def refund(self, key: str) -> None:
        count, ends = self._counts.get(key, (0, 0.0))
        if count > 0 and ends > time.monotonic():
            self._counts[key] = (count - 1, ends)


_ADD = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('TTL', KEYS[1])}
"""
_REFUND = """
if (tonumber(redis.call('GET', KEYS[1]) or '0')) > 0 then redis.call('DECR', KEYS[1]) end
"""


class RedisCounter:
    """Counts shared by every process through Redis, each step one atomic script."""

    def __init__(self, redis) -> None:
        self._add = redis.register_script(_ADD)
        self._refund = redis.register_script(_REFUND)

    async def add(self, key: str, window_s: int) -> tuple[int, int]:
        count, ttl = await self._add(keys=[key], args=[window_s])
        return int(count), max(1, int(ttl))

    async def refund(self, key: str) -> None:
        await self._refund(keys=[key])


class Throttle:
    def __init__(self, counter: Counter, *, namespace: str = "eventapp") -> None:
        self._counter = counter
        self._namespace = namespace

    def _key(self, limit: Limit, value: str) -> str:
        digest = hashlib.sha256(f"{limit.scope}:{value}".encode()).hexdigest()[:32]
        return f"{self._namespace}:throttle:{limit.scope}:{digest}"

    async def spend(self, *, address: str, account: str, limits: tuple[Limit, Limit]) -> list[str]:
        """Count one attempt against both budgets; `RateLimited` (429, Retry-After) once either
        is spent (the refused attempt itself is not counted). Returns the keys counted."""
        counted: list[str] = []
        # The account as sign-in finds it: ' Ada@X.org' is ada@x.org, and gets no budget of its own.
        for limit, value in zip(limits, (address, normalise_email(account)), strict=True):
            key = self._key(limit, value)
            count, retry_after = await self._counter.add(key, limit.window_s)
            counted.append(key)
            if count > limit.attempts:
                await self._refund(counted)
                raise RateLimited(
                    "Too many attempts; wait before trying again.",
                    retry_after=retry_after,
                    reason="too_many_attempts",
                )
        return counted

    @asynccontextmanager
    async def attempt(self, *, address: str, account: str) -> AsyncIterator[None]:
        """Count a password check for `address` and `account` (an email) under `PASSWORD_LIMITS`.

        The check raising `NotAuthenticated` keeps the attempt counted; success, or any other
        error, refunds it.
        """
        counted = await self.spend(address=address, account=account, limits=PASSWORD_LIMITS)
        try:
            yield
        except NotAuthenticated:
            raise
        except BaseException:
            await self._refund(counted)
            raise
        await self._refund(counted)

    async def _refund(self, keys: list[str]) -> None:
        for key in keys:
            await self._counter.refund(key)
