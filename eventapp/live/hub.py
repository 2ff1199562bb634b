"""The realtime hub: topics, publish after commit, snapshots, fan-out to every process.

Any capability tells the screens and phones following it that something changed, after its
transaction has committed:

    from eventapp.live.hub import hub, event_topic, person_topic

    await hub.publish(event_topic(event_id, "checkins"), {"version": n, "counts": {...}})
    await hub.publish(person_topic(user_id, "meetings"), {"version": n, "meeting": {...}})

and registers, once at import, how a client that connects (or lost its place) gets the whole
state of a topic kind:

    hub.provide("event", "checkins", checkin_snapshot)   # async (event_id) -> dict with "version"

A message is a JSON object; `type` defaults to "change". Every topic's messages carry a `version`
that rises by one per change, so a websocket client that sees a gap (a lost message, a backlog
it could not keep up with) is sent a fresh snapshot instead (`serve_topic` in sockets.py).

With Redis (`start(redis)`), `publish` goes out on one Redis channel that every process listens
to, and each process delivers to its own subscribers: every worker of every instance sees the
same messages in the same order. Without Redis, delivery stays in this process.

Each subscriber holds a bounded backlog: a client that stops reading loses its backlog and is
resynced by snapshot when it reads again, so it never delays the others or grows without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("eventapp.live")

Provider = Callable[[int], Awaitable[dict[str, Any]]]

BACKLOG = 32  # messages a subscriber may have waiting before it is resynced by snapshot
HEARTBEAT_S = 20.0  # an idle socket hears from us this often, so proxies keep it open
SEND_TIMEOUT_S = 10.0  # a client that takes longer to take one message is disconnected
PUBLISH_TIMEOUT_S = 0.5


def event_topic(event_id: int, kind: str) -> str:
    """A topic about one event: "programme", "checkins"."""
    return f"event:{event_id}:{kind}"


def person_topic(user_id: int, kind: str) -> str:
    """A topic about one person, for that person only: "meetings"."""
    return f"person:{user_id}:{kind}"


def _parse(topic: str) -> tuple[str, int, str]:
    scope, ident, kind = topic.split(":", 2)
    return scope, int(ident), kind


def server_time() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _version_text(version: Any) -> str:
    return str(version) if isinstance(version, int) else ""


TextSender = Callable[[str], Coroutine[Any, Any, None]]


class Subscriber:
    """One client's place on a topic.

    While the client's own task is parked (`direct`), the hub writes each change to the socket
    itself, from the loop that delivers the message to everyone: no wake-up, task switch or timer
    per client. A send that cannot finish at once (the client reads slowly: its transport is
    above the high-water mark) is handed, half done, to the client's task, and what arrives
    meanwhile waits in a bounded backlog that the task drains, so a slow client holds up nobody.
    """

    __slots__ = (
        "topic",
        "send",
        "backlog",
        "limit",
        "overflowed",
        "ready",
        "direct",
        "last",
        "pending",
        "broken",
        "sent_at",
    )

    def __init__(self, topic: str, limit: int, send: TextSender) -> None:
        self.topic = topic
        self.send = send  # the client's socket: one text message
        self.backlog: deque[tuple[int | None, str]] = deque()
        self.limit = limit
        self.overflowed = False  # the client needs a snapshot: it fell behind, or asked
        self.ready = asyncio.Event()  # wakes the client's task
        self.direct = False  # the hub may send to it at once: its task is parked
        self.last = 0  # the version the client holds
        self.pending: _Resumed | None = None  # a send the hub handed over unfinished
        self.broken = False  # a send failed: the client is gone
        self.sent_at = 0.0  # loop time of the last message sent: heartbeats go to idle clients

    def push(self, version: int | None, text: str, now: float) -> None:
        if self.direct:
            if version is None or version == self.last + 1:
                self._send_now(version, text, now)
            elif version > self.last + 1:  # a gap: its task answers with a snapshot
                self.resync()
            return  # version <= last: already in the snapshot the client holds
        if len(self.backlog) >= self.limit:
            # Too far behind: drop what waits; the client is sent a snapshot instead.
            self.backlog.clear()
            self.overflowed = True
        else:
            self.backlog.append((version, text))
        self.ready.set()

    def resync(self) -> None:
        """Send the client a fresh snapshot instead of what waits (its task does)."""
        self.direct = False
        self.backlog.clear()
        self.overflowed = True
        self.ready.set()

    def wake(self) -> None:
        """Stop sending directly and wake the client's task: a send to finish, or it left."""
        self.direct = False
        self.ready.set()

    def _send_now(self, version: int | None, text: str, now: float) -> None:
        # The send is run by hand up to its first suspension: at once to a client that keeps up
        # (no task, no scheduling), handed to the client's task if it has to wait for the socket.
        sending = self.send(text)
        try:
            waiting_on = sending.send(None)
        except StopIteration:
            self.sent_at = now
            if version is not None:
                self.last = version
            return
        except Exception:  # noqa: BLE001 - gone; its task ends the subscription
            self.broken = True
            self.wake()
            return
        self.pending = _Resumed(sending, waiting_on)
        self.sent_at = now
        if version is not None:
            self.last = version
        self.wake()

    def abandon_pending(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.close()


class _Resumed:
    """Awaiting a coroutine that already ran up to its first suspension (it yielded
    `waiting_on` to whoever drove it): what `await` would have done had a task started it."""

    __slots__ = ("coroutine", "waiting_on")

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, None]:
        signal = self.waiting_on
        while True:
            try:
                value = yield signal
            except BaseException as error:  # noqa: BLE001 - cancellation goes to the send too
                try:
                    signal = self.coroutine.throw(error)
                except StopIteration:
                    return
            else:
                try:
                    signal = self.coroutine.send(value)
                except StopIteration:
                    return

    def close(self) -> None:
        self.coroutine.close()


class Hub:
    def __init__(
        self,
        backlog: int = BACKLOG,
        heartbeat_s: float = HEARTBEAT_S,
        send_timeout_s: float = SEND_TIMEOUT_S,
    ) -> None:
        self.backlog = backlog
        self.heartbeat_s = heartbeat_s
        self.send_timeout_s = send_timeout_s
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._providers: dict[tuple[str, str], Provider] = {}
        self._snapshots: dict[str, tuple[int, str]] = {}
        self._changes: dict[str, int] = {}  # messages delivered per topic, to keep snapshots true
        self._redis: Any = None
        self._channel = "eventapp:live"
        self._listener: asyncio.Task | None = None

    # ----------------------------------------------------------------------------------------------
    # What other capabilities call

    def provide(self, scope: str, kind: str, provider: Provider) -> None:
        """Register how to build the whole state of topics `scope:<id>:kind` (a dict that
        carries "version"), sent to a client when it connects or falls behind."""
        self._providers[(scope, kind)] = provider

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Send `message` (a JSON object with "version") to every subscriber of `topic`, in every
        process. Call it after the change has committed, never inside the transaction."""
        body = {"type": "change", **message}
        text = json.dumps(body, separators=(",", ":"), default=str)
        version = body.get("version")
        version = version if isinstance(version, int) else None
        if self._redis is not None:
            try:
                await asyncio.wait_for(
                    self._redis.publish(
                        self._channel, f"{topic}\n{_version_text(version)}\n{text}"
                    ),
                    PUBLISH_TIMEOUT_S,
                )
                return  # delivered here too, by the listener, in the order Redis gives
            except Exception:  # noqa: BLE001 - this process's clients still get it
                log.warning("Could not publish on Redis; delivering in this process only")
        self.deliver(topic, version, text)

    async def snapshot(self, topic: str) -> tuple[int, str]:
        """The topic's whole state as (version, JSON text without the closing brace's server
        time): built by its provider, kept until the next change on the topic."""
        cached = self._snapshots.get(topic)
        if cached is not None:
            return cached
        scope, ident, kind = _parse(topic)
        provider = self._providers.get((scope, kind))
        changes = self._changes.get(topic, 0)
        state = await provider(ident) if provider else {"version": 0}
        body = {"type": "snapshot", "topic": kind, **state}
        text = json.dumps(body, separators=(",", ":"), default=str)
        entry = (int(body.get("version", 0)), text)
        if self._changes.get(topic, 0) == changes:  # nothing arrived while it was being built
            self._snapshots[topic] = entry
        return entry

    # ----------------------------------------------------------------------------------------------
    # Subscribers (the websocket endpoints)

    def subscribe(self, topic: str, send: TextSender) -> Subscriber:
        """A new place on `topic` for a client whose socket takes text through `send`; the hub
        writes to it directly once its task has sent the snapshot and parked (`serve_topic`)."""
        subscriber = Subscriber(topic, self.backlog, send)
        self._subscribers.setdefault(topic, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(subscriber.topic)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:  # nobody follows it here now: keep no snapshot of it either
                del self._subscribers[subscriber.topic]
                self._snapshots.pop(subscriber.topic, None)

    def subscriber_count(self, topic: str | None = None) -> int:
        if topic is not None:
            return len(self._subscribers.get(topic, ()))
        return sum(len(subscribers) for subscribers in self._subscribers.values())

    def deliver(self, topic: str, version: int | None, text: str) -> None:
        """Hand one message to this process's subscribers of `topic`."""
        self._snapshots.pop(topic, None)
        self._changes[topic] = self._changes.get(topic, 0) + 1
        subscribers = self._subscribers.get(topic)
        if subscribers:
            now = asyncio.get_running_loop().time()
            for subscriber in subscribers:
                subscriber.push(version, text, now)

    # ----------------------------------------------------------------------------------------------
    # Across processes

    async def start(self, redis: Any | None, namespace: str = "eventapp") -> None:
        """Start fresh; with a Redis client, publish through and listen to its channel."""
        self._snapshots.clear()
        if redis is None:
            return
        self._channel = f"{namespace}:live"
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            # Subscribed before the app serves, so nothing published from then on is missed.
            await asyncio.wait_for(pubsub.subscribe(self._channel), timeout=2)
        except Exception:  # noqa: BLE001 - serve anyway; the listener keeps trying
            log.warning("Redis does not answer: live updates stay in this process until it does")
            with contextlib.suppress(Exception):
                await pubsub.reset()
        self._redis = redis
        self._listener = asyncio.create_task(self._listen(pubsub), name="eventapp-live-hub")
        self._listener.pubsub = pubsub  # type: ignore[attr-defined]

    async def stop(self) -> None:
        listener, self._listener, self._redis = self._listener, None, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            with contextlib.suppress(Exception):
                await listener.pubsub.aclose()  # type: ignore[attr-defined]
        self._snapshots.clear()

    async def _listen(self, pubsub: Any) -> None:
        delay, failing = 0.2, False
        while True:
            try:
                if not pubsub.subscribed:
                    await pubsub.subscribe(self._channel)
                    self._resync_everyone()  # messages may have been missed while away
                if failing:
                    log.warning("Live hub channel is back")
                delay, failing = 0.2, False
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._receive(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - retry with back-off, logged once per outage
                if not failing:
                    log.warning("Live hub channel lost; retrying", exc_info=True)
                failing = True
                with contextlib.suppress(Exception):
                    await pubsub.reset()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _receive(self, raw: bytes | str) -> None:
        data = raw.decode() if isinstance(raw, bytes) else raw
        topic, _, rest = data.partition("\n")
        version_text, _, text = rest.partition("\n")
        try:
            version = int(version_text) if version_text else None
        except ValueError:
            log.warning("Ignoring a malformed live message on %r", topic)
            return
        self.deliver(topic, version, text)

    def _resync_everyone(self) -> None:
        self._snapshots.clear()
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.resync()


# The process's one hub (the app's lifespan connects it to Redis).
hub = Hub()
