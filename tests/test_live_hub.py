"""The live hub on its own: publish, snapshots, gaps, slow and stuck clients, heartbeats."""

from __future__ import annotations

import asyncio
import json

import pytest

from eventapp.live.hub import Hub, event_topic, person_topic
from eventapp.live.sockets import STUCK_CLOSE_CODE, serve_topic

pytestmark = pytest.mark.anyio

TOPIC = event_topic(7, "programme")


class FakeSocket:
    """What `serve_topic` needs of a websocket; `stall()` makes sends hang like a full buffer
    until `resume()`."""

    def __init__(self) -> None:
        self.sent: asyncio.Queue[dict] = asyncio.Queue()
        self.incoming: asyncio.Queue[str | None] = asyncio.Queue()
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.closed_with: int | None = None

    def stall(self) -> None:
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    async def send(self, message: dict) -> None:  # ASGI's websocket.send
        await self.flowing.wait()
        await self.sent.put(json.loads(message["text"]))

    async def receive_data(self, mode: str = "text") -> str:
        message = await self.incoming.get()
        if message is None:
            from litestar.exceptions import WebSocketDisconnect

            raise WebSocketDisconnect(detail="gone")
        return message

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed_with = code

    async def next(self) -> dict:
        return await asyncio.wait_for(self.sent.get(), 2)


def _hub(**options) -> tuple[Hub, dict]:
    hub = Hub(**options)
    state = {"version": 3, "items": ["a"]}

    async def provider(event_id: int) -> dict:
        assert event_id == 7
        return dict(state)

    hub.provide("event", "programme", provider)
    return hub, state


async def _connected(hub: Hub) -> tuple[FakeSocket, asyncio.Task]:
    socket = FakeSocket()
    task = asyncio.create_task(serve_topic(socket, TOPIC, hub))  # type: ignore[arg-type]
    return socket, task


async def _leave(socket: FakeSocket, task: asyncio.Task) -> None:
    await socket.incoming.put(None)
    await asyncio.wait_for(task, 2)


async def test_a_client_gets_a_snapshot_then_the_changes_in_order():
    hub, state = _hub()
    socket, task = await _connected(hub)
    snapshot = await socket.next()
    assert snapshot["type"] == "snapshot" and snapshot["version"] == 3
    assert snapshot["items"] == ["a"] and snapshot["server_time"].endswith("Z")
    for version in (4, 5, 6):
        await hub.publish(TOPIC, {"version": version, "what": version})
    changes = [await socket.next() for _ in range(3)]
    assert [(c["type"], c["version"]) for c in changes] == [("change", v) for v in (4, 5, 6)]
    await _leave(socket, task)
    assert hub.subscriber_count() == 0


async def test_a_gap_in_versions_is_answered_with_a_fresh_snapshot():
    hub, state = _hub()
    socket, task = await _connected(hub)
    await socket.next()
    await hub.publish(TOPIC, {"version": 4})
    assert (await socket.next())["version"] == 4
    state["version"] = 6
    hub.deliver(TOPIC, 6, json.dumps({"type": "change", "version": 6}))  # 5 was lost
    resync = await socket.next()
    assert resync["type"] == "snapshot" and resync["version"] == 6
    await hub.publish(TOPIC, {"version": 7})
    assert (await socket.next())["version"] == 7
    await _leave(socket, task)


async def test_a_client_may_ask_for_a_snapshot():
    hub, _ = _hub()
    socket, task = await _connected(hub)
    await socket.next()
    await socket.incoming.put('{"type": "resync"}')
    assert (await socket.next())["type"] == "snapshot"
    await _leave(socket, task)


async def test_the_fast_client_sees_every_change_while_another_stalls():
    hub, _ = _hub(backlog=4, send_timeout_s=5)
    slow, slow_task = await _connected(hub)
    fast, fast_task = await _connected(hub)
    await slow.next()
    await fast.next()
    slow.stall()
    for version in range(4, 20):
        await hub.publish(TOPIC, {"version": version})
        await asyncio.sleep(0.005)  # changes come from separate requests
    assert [(await fast.next())["version"] for _ in range(16)] == list(range(4, 20))
    stuck = [s for s in hub._subscribers[TOPIC] if s.overflowed]
    assert len(stuck) == 1 and len(stuck[0].backlog) <= 4  # bounded, then resync
    await _leave(fast, fast_task)
    slow_task.cancel()


async def test_idle_clients_hold_the_change_when_publish_returns_even_beside_a_stalled_one():
    hub, _ = _hub()
    slow, slow_task = await _connected(hub)
    fast = [await _connected(hub) for _ in range(3)]
    for socket, _ in [(slow, slow_task), *fast]:
        await socket.next()
    slow.stall()
    for version in (4, 5):
        await hub.publish(TOPIC, {"version": version})
        # No task of theirs had to run: the hub wrote to their sockets as it delivered.
        assert [socket.sent.get_nowait()["version"] for socket, _ in fast] == [version] * 3
    slow.resume()
    assert [(await slow.next())["version"] for _ in range(2)] == [4, 5]
    for socket, task in [(slow, slow_task), *fast]:
        await _leave(socket, task)


async def test_a_client_that_caught_up_is_again_written_to_directly():
    hub, _ = _hub()
    socket, task = await _connected(hub)
    await socket.next()
    socket.stall()
    for version in (4, 5, 6):
        await hub.publish(TOPIC, {"version": version})
    assert socket.sent.empty()
    socket.resume()
    assert [(await socket.next())["version"] for _ in range(3)] == [4, 5, 6]
    await hub.publish(TOPIC, {"version": 7})
    assert socket.sent.get_nowait()["version"] == 7
    await _leave(socket, task)


async def test_a_client_whose_socket_fails_is_dropped_and_the_others_still_hear():
    hub, _ = _hub()
    broken, broken_task = await _connected(hub)
    healthy, healthy_task = await _connected(hub)
    await broken.next()
    await healthy.next()

    async def refuse(message: dict) -> None:
        raise OSError("connection reset")

    broken.send = refuse  # type: ignore[method-assign]
    await hub.publish(TOPIC, {"version": 4})
    assert healthy.sent.get_nowait()["version"] == 4
    await asyncio.wait_for(broken_task, 2)
    assert hub.subscriber_count(TOPIC) == 1
    await hub.publish(TOPIC, {"version": 5})
    assert (await healthy.next())["version"] == 5
    await _leave(healthy, healthy_task)


async def test_a_client_that_reads_again_after_overflowing_gets_a_snapshot():
    hub, state = _hub(backlog=2)
    socket, task = await _connected(hub)
    await socket.next()
    socket.stall()
    state["version"] = 7
    for version in (4, 5, 6, 7):  # 4 is on its way; 5 and 6 wait; 7 overflows the backlog
        hub.deliver(TOPIC, version, json.dumps({"type": "change", "version": version}))
    socket.resume()
    assert [(m["type"], m["version"]) for m in (await socket.next(), await socket.next())] == [
        ("change", 4),
        ("snapshot", 7),
    ]
    await _leave(socket, task)


async def test_a_stuck_client_is_disconnected():
    hub, _ = _hub(send_timeout_s=0.2)
    socket, task = await _connected(hub)
    await socket.next()
    socket.stall()
    await hub.publish(TOPIC, {"version": 4})
    await asyncio.wait_for(task, 2)
    assert socket.closed_with == STUCK_CLOSE_CODE
    assert hub.subscriber_count() == 0


async def test_an_idle_client_hears_heartbeats():
    hub, _ = _hub(heartbeat_s=0.05)
    socket, task = await _connected(hub)
    await socket.next()
    beat = await socket.next()
    assert beat["type"] == "heartbeat" and beat["server_time"]
    await _leave(socket, task)


async def test_a_heartbeat_comes_only_after_a_quiet_heartbeat_interval():
    hub, _ = _hub(heartbeat_s=0.5)
    socket, task = await _connected(hub)
    await socket.next()
    await asyncio.sleep(0.3)
    await hub.publish(TOPIC, {"version": 4})
    changed = asyncio.get_running_loop().time()
    assert (await socket.next())["type"] == "change"
    beat = await socket.next()
    assert beat["type"] == "heartbeat"
    assert asyncio.get_running_loop().time() - changed >= 0.5  # counted from the change
    await _leave(socket, task)


async def test_snapshots_are_built_once_per_version():
    hub = Hub()
    calls = []

    async def provider(user_id: int) -> dict:
        calls.append(user_id)
        return {"version": len(calls), "meetings": []}

    hub.provide("person", "meetings", provider)
    topic = person_topic(42, "meetings")
    assert (await hub.snapshot(topic))[0] == 1
    assert (await hub.snapshot(topic))[0] == 1
    await hub.publish(topic, {"version": 2})
    assert (await hub.snapshot(topic))[0] == 2 and calls == [42, 42]


async def test_a_topic_without_a_provider_starts_at_version_zero():
    hub = Hub()
    version, text = await hub.snapshot(event_topic(1, "checkins"))
    assert version == 0 and json.loads(text)["type"] == "snapshot"


async def test_a_snapshot_built_while_a_change_arrives_is_not_kept():
    hub = Hub()
    version = {"now": 1}
    building = asyncio.Event()
    release = asyncio.Event()

    async def provider(event_id: int) -> dict:
        seen = version["now"]
        building.set()
        await release.wait()
        return {"version": seen}

    hub.provide("event", "programme", provider)
    slow = asyncio.create_task(hub.snapshot(TOPIC))
    await building.wait()
    version["now"] = 2
    await hub.publish(TOPIC, {"version": 2})
    release.set()
    assert (await slow)[0] == 1
    assert (await hub.snapshot(TOPIC))[0] == 2  # built again, not the stale one
