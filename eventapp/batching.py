"""Calls that arrive together, handled together, in a few lanes at once.

A write that costs several database round trips each (the door scan on PostgreSQL) costs far
less per call when the calls waiting at one moment share them. `Batcher(run)` hands `run` the
items submitted in one turn of the event loop, or while the batches before were running, and
gives each caller its own result (or exception) once `run` returns.

Up to `lanes` batches are in flight at once: while one waits for the database, the next runs its
round trips, so the server is not idle between them. Items that share a key (the same ticket, the
same nonce) never sit in two batches in flight: a later one waits until the batch holding its key
has answered, so each key's items are handled one batch after the other, in the order they came.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

from eventapp.errors import Unavailable

Item = TypeVar("Item")
Result = TypeVar("Result")
_Entry = tuple[Item, asyncio.Future]


def _no_keys(item: object) -> tuple[()]:
    return ()


class Batcher(Generic[Item, Result]):
    """`await batcher.submit(item)`: `run(items)` answers a list with one result or exception
    per item, in order; an exception `run` raises is every item's. `keys(item)`: what the item
    must not share with a batch in flight."""

    def __init__(
        self,
        run: Callable[[list[Item]], Awaitable[list[Result | BaseException]]],
        most: int = 100,
        lanes: int = 1,
        keys: Callable[[Item], Iterable[Hashable]] = _no_keys,
    ) -> None:
        self._run = run
        self._most = most
        self._lanes = lanes
        self._keys = keys
        self._reset(None)

    def _reset(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop
        self._queue: list[_Entry] = []
        self._busy: set[Hashable] = set()  # the keys of the batches in flight
        self._running: set[asyncio.Task] = set()

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests, the command line): start afresh
            self._reset(loop)
        answer: asyncio.Future = loop.create_future()
        self._queue.append((item, answer))
        if len(self._running) < self._lanes:
            # Started on the loop's next turn: the items arriving on this one join the batch. In
            # a context of its own: not the first caller's (its open transaction, say).
            task = loop.create_task(self._lane(), context=contextvars.Context())
            self._running.add(task)
            task.add_done_callback(self._finished)
        return await answer

    def _take(self) -> list[_Entry]:
        """The next batch: the queue's items in order, up to `most`, leaving those whose keys
        are in flight or held by an item left waiting before them."""
        batch: list[_Entry] = []
        waiting: list[_Entry] = []
        held: set[Hashable] = set()
        for entry in self._queue:
            keys = set(self._keys(entry[0]))
            if len(batch) < self._most and keys.isdisjoint(self._busy) and keys.isdisjoint(held):
                batch.append(entry)
            else:
                waiting.append(entry)
                held |= keys
        self._queue = waiting
        return batch

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
            keys = {key for item, _ in batch for key in self._keys(item)}
            self._busy |= keys
            try:
                results = await self._run([item for item, _ in batch])
            except Exception as error:  # noqa: BLE001 - every caller of the batch hears it
                results = [error] * len(batch)
            except BaseException:  # cancelled at shutdown: the batch's callers may retry
                _stopping([answer for _, answer in batch])
                raise
            finally:
                self._busy -= keys
            if len(results) != len(batch):
                results = [RuntimeError("A batch answered the wrong number of items")] * len(batch)
            for (_, answer), result in zip(batch, results, strict=True):
                if answer.done():  # its caller was cancelled
                    continue
                if isinstance(result, BaseException):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)

    def _finished(self, task: asyncio.Task) -> None:
        self._running.discard(task)  # cancelled before it began
        if task.cancelled() and not self._running:
            # At shutdown, perhaps before it began: whoever waits may retry.
            queue, self._queue = self._queue, []
            _stopping([answer for _, answer in queue])


def _stopping(answers: list[asyncio.Future]) -> None:
    for answer in answers:
        if not answer.done():
            answer.set_exception(Unavailable("The server is stopping; try again.", retry_after=1))
