"""Websocket endpoints on the hub: the programme (anyone who may see the event), the event's
check-in counts (organisers and door staff), and a person's own meetings (that person only).

Every endpoint speaks the same protocol (`serve_topic`): on connect a
`{"type": "snapshot", "version": n, ..., "server_time": ...}`, then `{"type": "change",
"version": n+1, ...}` messages in order, `{"type": "heartbeat", "server_time": ...}` when idle.
A gap in versions (a message lost between processes, a backlog dropped because the client fell
behind) is answered with a fresh snapshot; a client may also send `{"type": "resync"}` to ask
for one. A client that takes longer than `hub.send_timeout_s` to take a message is disconnected
(close code 1008) and, like any client that reconnects, starts again from a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from litestar import WebSocket, websocket
from litestar.di import NamedDependency, Provide
from litestar.exceptions import WebSocketDisconnect

from eventapp.accounts.guards import (
    EventAccess,
    current_user,
    event_role,
    event_visible,
    provide_event_access,
)
from eventapp.accounts.schemas import Role
from eventapp.errors import NotAuthenticated
from eventapp.live.hub import Hub, event_topic, hub, person_topic, server_time

STUCK_CLOSE_CODE = 1008


def _with_time(text: str) -> str:
    """A snapshot (kept as JSON text between changes) stamped with the time it is sent."""
    return f'{text[:-1]},"server_time":"{server_time()}"}}'


async def serve_topic(socket: WebSocket, topic: str, the_hub: Hub = hub) -> None:
    """Follow `topic` on an accepted socket until the client leaves or gets stuck.

    This task sends the snapshots, heartbeats and whatever a slow client has waiting; while it
    is parked with nothing to do, the hub writes changes to the socket itself (`Subscriber`).
    """
    loop = asyncio.get_running_loop()

    def send_text(text: str) -> Coroutine[Any, Any, None]:
        # The ASGI message itself: Litestar's send_data costs one more coroutine per send.
        return socket.send({"type": "websocket.send", "text": text})  # type: ignore[return-value]

    # Subscribed before the snapshot is built: nothing published in between is lost.
    subscriber = the_hub.subscribe(topic, send_text)
    closed = asyncio.Event()

    async def read() -> None:
        """The client's messages: a resync request, or its leaving."""
        try:
            while True:
                message = await socket.receive_data(mode="text")
                if '"resync"' in message:
                    subscriber.resync()
        except Exception:  # noqa: BLE001 - gone, or sent what we do not take: either way, done
            pass
        finally:
            closed.set()
            subscriber.wake()

    async def send(text: str) -> None:
        # asyncio.timeout, not wait_for: wait_for wraps every send in a task of its own.
        async with asyncio.timeout(the_hub.send_timeout_s):
            await send_text(text)
        subscriber.sent_at = loop.time()

    async def send_snapshot() -> None:
        subscriber.overflowed = False
        subscriber.backlog.clear()
        subscriber.last, text = await the_hub.snapshot(topic)
        await send(_with_time(text))

    reader = asyncio.create_task(read())
    try:
        await send_snapshot()
        while not closed.is_set() and not subscriber.broken:
            if subscriber.pending is not None:  # a send the hub could not finish at once
                async with asyncio.timeout(the_hub.send_timeout_s):
                    await subscriber.pending
                subscriber.pending = None
            elif subscriber.overflowed:
                await send_snapshot()
            elif subscriber.backlog:
                version, text = subscriber.backlog.popleft()
                if version is None or version == subscriber.last + 1:
                    await send(text)
                    subscriber.last = subscriber.last if version is None else version
                elif version > subscriber.last + 1:  # a gap: what the client holds is not whole
                    await send_snapshot()
                # version <= last: already in the snapshot the client has
            else:  # nothing waits: park, and let the hub send the changes itself
                subscriber.ready.clear()
                subscriber.direct = True
                try:
                    async with asyncio.timeout_at(subscriber.sent_at + the_hub.heartbeat_s):
                        await subscriber.ready.wait()
                except TimeoutError:
                    subscriber.direct = False
                    if loop.time() >= subscriber.sent_at + the_hub.heartbeat_s:  # still idle
                        await send(f'{{"type":"heartbeat","server_time":"{server_time()}"}}')
                subscriber.direct = False
    except TimeoutError:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(socket.close(code=STUCK_CLOSE_CODE, reason="too slow"), 1)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        the_hub.unsubscribe(subscriber)
        subscriber.abandon_pending()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


_ACCESS = {"access": Provide(provide_event_access)}


@websocket(
    "/ws/events/{slug:str}/programme",
    guards=[event_visible],
    opt={"public": True},
    dependencies=_ACCESS,
)
async def programme_socket(socket: WebSocket, access: NamedDependency[EventAccess]) -> None:
    """The event's live programme: items with planned and projected times, the current item."""
    await socket.accept()
    await serve_topic(socket, event_topic(access.event_id, "programme"))


@websocket(
    "/ws/events/{slug:str}/checkins",
    guards=[event_role(Role.organiser, Role.door_staff)],
    dependencies=_ACCESS,
)
async def checkins_socket(socket: WebSocket, access: NamedDependency[EventAccess]) -> None:
    """The event's check-in counts, for its organisers and door staff."""
    await socket.accept()
    await serve_topic(socket, event_topic(access.event_id, "checkins"))


@websocket("/ws/me/meetings")
async def my_meetings_socket(socket: WebSocket) -> None:
    """The signed-in person's own meeting changes, across events."""
    user = await current_user(socket)
    if user is None:
        raise NotAuthenticated("Sign in first.")
    await socket.accept()
    await serve_topic(socket, person_topic(user.id, "meetings"))


ROUTES = [programme_socket, checkins_socket, my_meetings_socket]
