"""Calls that arrive together, handled together: one batch in flight, the next one gathering.

A write that costs several database round trips each (the door scan on PostgreSQL) costs far
less per call when the calls waiting at one moment share them. `Batcher(run)` hands `run` the
items submitted in one turn of the event loop, or while the batch before was running, and gives
each caller its own result (or exception) once `run` returns. One batch at a time: two or three
in flight were slower here (smaller batches, and the same ticket's rows locked by both).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from eventapp.errors import Unavailable

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """`await batcher.submit(item)`: `run(items)` answers a list with one result or exception
    per item, in order; an exception `run` raises is every item's."""

    def __init__(
        self,
        run: Callable[[list[Item]], Awaitable[list[Result | BaseException]]],
        most: int = 100,
    ) -> None:
        self._run = run
        self._most = most
        self._queue: list[tuple[Item, asyncio.Future]] = []
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests, the command line): start afresh
            self._loop, self._queue, self._task = loop, [], None
        answer: asyncio.Future = loop.create_future()
        self._queue.append((item, answer))
        if self._task is None:
            # Started on the loop's next turn: the items arriving on this one join the batch. In
            # a context of its own: not the first caller's (its open transaction, say).
            self._task = loop.create_task(self._drain(), context=contextvars.Context())
            self._task.add_done_callback(self._finished)
        return await answer

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._most], self._queue[self._most :]
                try:
                    results = await self._run([item for item, _ in batch])
                except Exception as error:  # noqa: BLE001 - every caller of the batch hears it
                    results = [error] * len(batch)
                except BaseException:  # cancelled at shutdown: the batch's callers may retry
                    _stopping([answer for _, answer in batch])
                    raise
                if len(results) != len(batch):
                    results = [RuntimeError("A batch answered the wrong number of items")] * len(
                        batch
                    )
                for (_, answer), result in zip(batch, results, strict=True):
                    if answer.done():  # its caller was cancelled
                        continue
                    if isinstance(result, BaseException):
                        answer.set_exception(result)
                    else:
                        answer.set_result(result)
        finally:
            # At once, not in a done-callback: a call queued before that runs must start a batch.
            self._task = None

    def _finished(self, task: asyncio.Task) -> None:
        if task.cancelled() and self._task in (task, None):
            # At shutdown, perhaps before it began: whoever waits may retry (unless a new batch
            # has started since, which takes them).
            self._task = None
            queue, self._queue = self._queue, []
            _stopping([answer for _, answer in queue])


def _stopping(answers: list[asyncio.Future]) -> None:
    for answer in answers:
        if not answer.done():
            answer.set_exception(Unavailable("The server is stopping; try again.", retry_after=1))
