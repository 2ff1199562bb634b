"""Calls that arrive together, handled together, in a few lanes at once.

A write that costs several database round trips each (the door scan on PostgreSQL) costs far
less per call when the calls waiting at one moment share them. `Batcher(run)` hands `run` the
items submitted in one turn of the event loop, or while the batches before were running, and
gives each caller its own result (or exception) once `run` returns.

Up to `lanes` batches are in flight at once: while one waits for the database, the next runs its
round trips, so the server is not idle between them. Items that share a key (the same ticket, the
same nonce) may sit in one batch, which handles them in order, but never in two in flight: a
later one waits until every item holding its key has its answer, so each key's items are handled
in the order they came.

`run` may answer `ALONE` for the items of a batch it could not handle together (all of them, or
at least all of any key's: a batch that failed): each is then handed to `alone(item)` on its own,
outside the lane (which takes the next batch at once), those linked by shared keys one after the
other in arrival order, the rest side by side, a few at a time. Each keeps its keys until its own
answer is in.

One event loop at a time: a new loop (tests, the command line) starts the batcher afresh.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from eventapp.errors import Unavailable

Item = TypeVar("Item")
Result = TypeVar("Result")

# What `run` answers for an item to be handed to `alone` instead.
ALONE: Any = object()


def _no_keys(item: object) -> tuple[()]:
    return ()


@dataclass(slots=True)
class _Entry(Generic[Item]):
    item: Item
    answer: asyncio.Future
    keys: frozenset[Hashable]
    settled: bool = False  # answered and its keys freed: never twice


class Batcher(Generic[Item, Result]):
    """`await batcher.submit(item)`: `run(items)` answers a list with one result, exception or
    `ALONE` per item, in order; an exception `run` raises is every item's (cancelled at
    shutdown, every item hears `Unavailable`, 503: try again). `keys(item)`: what the item must
    not share with an item of another batch in flight."""

    def __init__(
        self,
        run: Callable[[list[Item]], Awaitable[list[Result | BaseException]]],
        most: int = 100,
        lanes: int = 1,
        keys: Callable[[Item], Iterable[Hashable]] = _no_keys,
        alone: Callable[[Item], Awaitable[Result]] | None = None,
        alone_at_once: int = 4,
    ) -> None:
        self._run = run
        self._most = most
        self._lanes = lanes
        self._keys = keys
        self._alone = alone
        self._alone_at_once = alone_at_once
        self._reset(None)

    def _reset(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop
        self._queue: list[_Entry] = []
        self._busy: dict[Hashable, int] = {}  # the keys of the items in flight, and how many
        self._running: set[asyncio.Task] = set()
        self._by_themselves: set[asyncio.Task] = set()
        # Items run alone each take a database connection: a few at a time, not a whole batch.
        self._alone_slots = asyncio.Semaphore(self._alone_at_once)

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests, the command line): start afresh
            self._reset(loop)
        answer: asyncio.Future = loop.create_future()
        self._queue.append(_Entry(item, answer, frozenset(self._keys(item))))
        self._another_lane()
        return await answer

    def _another_lane(self) -> None:
        if self._queue and len(self._running) < self._lanes:
            # Started on the loop's next turn: the items arriving on this one join the batch. In
            # a context of its own: not the first caller's (its open transaction, say).
            assert self._loop is not None
            task = self._loop.create_task(self._lane(), context=contextvars.Context())
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _take(self) -> list[_Entry]:
        """The next batch: the queue's items in order, up to `most`, leaving those whose keys
        are in flight or held by an item left waiting before them."""
        batch: list[_Entry] = []
        waiting: list[_Entry] = []
        held: set[Hashable] = set()
        busy = self._busy.keys()
        for entry in self._queue:
            if (
                len(batch) < self._most
                and busy.isdisjoint(entry.keys)
                and held.isdisjoint(entry.keys)
            ):
                batch.append(entry)
            else:
                waiting.append(entry)
                held |= entry.keys
        self._queue = waiting
        for entry in batch:
            for key in entry.keys:
                self._busy[key] = self._busy.get(key, 0) + 1
        return batch

    def _answered(self, entry: _Entry, result: Any, stopping: bool = False) -> None:
        """The item's answer (unless its caller has gone), and its keys free again; once."""
        if entry.settled:
            return
        entry.settled = True
        if not entry.answer.done():
            if isinstance(result, BaseException):
                entry.answer.set_exception(result)
            else:
                entry.answer.set_result(result)
        for key in entry.keys:
            if self._busy[key] == 1:
                del self._busy[key]
            else:
                self._busy[key] -= 1
        if not stopping:
            self._another_lane()  # an item waiting for these keys may go now

    async def _lane(self) -> None:
        """Batches one after the other, while there is one to take."""
        try:
            await self._batches()
        finally:
            # At once, not in a done-callback: a call queued before that runs must find the
            # lane free and start one.
            self._running.discard(asyncio.current_task())  # type: ignore[arg-type]

    async def _batches(self) -> None:
        while batch := self._take():
            try:
                results = await self._run([entry.item for entry in batch])
            except Exception as error:  # noqa: BLE001 - every caller of the batch hears it
                results = [error] * len(batch)
            except BaseException:  # cancelled at shutdown: the batch's callers may retry
                for entry in batch:
                    self._answered(entry, _stopping(), stopping=True)
                raise
            if _shutting_down():  # `run` swallowed the cancellation: stop all the same
                for entry in batch:
                    self._answered(entry, _stopping(), stopping=True)
                raise asyncio.CancelledError
            try:
                self._settle(batch, results)
            except Exception as error:  # noqa: BLE001 - a `run` that broke its contract
                for entry in batch:
                    self._answered(entry, error)

    def _settle(self, batch: list[_Entry], results: list) -> None:
        if len(results) != len(batch):
            raise RuntimeError("A batch answered the wrong number of items")
        alone = []
        for entry, result in zip(batch, results, strict=True):
            if result is ALONE:
                alone.append(entry)
            else:
                self._answered(entry, result)
        if alone:
            self._run_alone(alone)

    def _run_alone(self, entries: list[_Entry]) -> None:
        assert self._loop is not None
        if self._alone is None:
            for entry in entries:
                self._answered(entry, RuntimeError("A batch answered ALONE with no `alone`"))
            return
        for chain in chains([entry.keys for entry in entries]):
            task = self._loop.create_task(
                self._one_by_one([entries[at] for at in chain]), context=contextvars.Context()
            )
            self._by_themselves.add(task)
            task.add_done_callback(self._by_themselves.discard)

    async def _one_by_one(self, chain: list[_Entry]) -> None:
        assert self._alone is not None
        for at, entry in enumerate(chain):
            try:
                async with self._alone_slots:
                    result: Any = await self._alone(entry.item)
            except asyncio.CancelledError:
                if _shutting_down():
                    for rest in chain[at:]:
                        self._answered(rest, _stopping(), stopping=True)
                    raise
                result = Unavailable("The scan was interrupted; try again.", retry_after=1)
            except Exception as error:  # noqa: BLE001 - this item's caller hears it
                result = error
            if _shutting_down():  # `alone` swallowed the cancellation: stop all the same
                for rest in chain[at:]:
                    self._answered(rest, _stopping(), stopping=True)
                raise asyncio.CancelledError
            self._answered(entry, result)

    def _finished(self, task: asyncio.Task) -> None:
        self._running.discard(task)  # cancelled before it began
        if task.cancelled() and not self._running:
            # At shutdown, perhaps before it began: whoever waits may retry.
            queue, self._queue = self._queue, []
            for entry in queue:
                if not entry.answer.done():
                    entry.answer.set_exception(_stopping())


def chains(keys: list[frozenset[Hashable]]) -> list[list[int]]:
    """Positions grouped so that any two sharing a key are in one group (each group in order):
    a union-find over the keys."""
    parent = list(range(len(keys)))

    def root(at: int) -> int:
        while parent[at] != at:
            parent[at] = parent[parent[at]]
            at = parent[at]
        return at

    first_with: dict[Hashable, int] = {}
    for at, item_keys in enumerate(keys):
        for key in item_keys:
            if key in first_with:
                parent[root(at)] = root(first_with[key])
            else:
                first_with[key] = at
    groups: dict[int, list[int]] = {}
    for at in range(len(keys)):
        groups.setdefault(root(at), []).append(at)
    return list(groups.values())


def _shutting_down() -> bool:
    """This task is being cancelled (the loop is stopping), whatever its code caught."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _stopping() -> Unavailable:
    return Unavailable("The server is stopping; try again.", retry_after=1)
