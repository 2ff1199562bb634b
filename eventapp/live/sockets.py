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
    """Follow `topic` on an accepted socket until the client leaves or gets stuck."""
    subscriber = the_hub.subscribe(topic)  # before the snapshot: nothing in between is lost
    closed = asyncio.Event()

    async def read() -> None:
        """The client's messages: a resync request, or its leaving."""
        try:
            while True:
                message = await socket.receive_data(mode="text")
                if '"resync"' in message:
                    subscriber.overflowed = True
                    subscriber.ready.set()
        except Exception:  # noqa: BLE001 - gone, or sent what we do not take: either way, done
            pass
        finally:
            closed.set()
            subscriber.ready.set()

    async def send(text: str) -> None:
        # asyncio.timeout, not wait_for: wait_for wraps every send in a task of its own, which
        # cost more than the send itself at thousands of clients.
        async with asyncio.timeout(the_hub.send_timeout_s):
            await socket.send_data(text, mode="text")

    reader = asyncio.create_task(read())
    try:
        last, text = await the_hub.snapshot(topic)
        await send(_with_time(text))
        while not closed.is_set():
            if not subscriber.backlog and not subscriber.overflowed:
                subscriber.ready.clear()
                try:
                    async with asyncio.timeout(the_hub.heartbeat_s):
                        await subscriber.ready.wait()
                except TimeoutError:
                    await send(f'{{"type":"heartbeat","server_time":"{server_time()}"}}')
                    continue
            if closed.is_set():
                break
            if subscriber.overflowed:
                subscriber.overflowed = False
                subscriber.backlog.clear()
                last, text = await the_hub.snapshot(topic)
                await send(_with_time(text))
                continue
            version, text = subscriber.backlog.popleft()
            if version is None or version == last + 1:
                await send(text)
                last = version if version is not None else last
            elif version > last + 1:  # a gap: what the client holds is no longer whole
                last, text = await the_hub.snapshot(topic)
                await send(_with_time(text))
            # version <= last: already in the snapshot the client has
    except TimeoutError:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(socket.close(code=STUCK_CLOSE_CODE, reason="too slow"), 1)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        the_hub.unsubscribe(subscriber)
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
