"""The programme websocket on real servers: snapshot then changes in order, a resync on request,
and (PostgreSQL + Redis) a change made through one server reaching a client of another."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time

import asyncpg
import httpx
import pytest
from websockets.sync.client import connect

from eventapp.accounts.schemas import Role
from tests.conftest import POSTGRES_URL, _migrate, _with_database
from tests.live import serving

SLUG = "asean-showcase"
REDIS_URL = os.environ.get("EVENTAPP_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _organiser(url: str, logins) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10)
    email, password = logins[Role.organiser]
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return client


def _receive(socket, want: str = "change", within: float = 3.0) -> dict:
    """The next message of type `want` (heartbeats skipped)."""
    deadline = time.monotonic() + within
    while True:
        message = json.loads(socket.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message["type"] == want:
            return message


def _first_stage_day(snapshot: dict) -> tuple[int, str]:
    item = snapshot["items"][0]
    return item["stage_id"], item["day"]


def _ws(url: str) -> str:
    return url.replace("http://", "ws://") + f"/ws/events/{SLUG}/programme"


def test_a_client_sees_the_snapshot_then_every_change_in_order(live_server):
    organiser = _organiser(live_server.url, live_server.logins)
    with connect(_ws(live_server.url)) as socket:  # the client offers compression
        assert "Sec-WebSocket-Extensions" not in socket.response.headers  # off, for memory
        snapshot = _receive(socket, "snapshot")
        assert snapshot["items"] and snapshot["server_time"] and snapshot["timezone"]
        assert {"planned_start", "projected_start", "status"} <= set(snapshot["items"][0])
        version = snapshot["version"]
        stage, day = _first_stage_day(snapshot)
        for action, minutes in (("delay", 2), ("delay", 3), ("extend", None)):
            body = {"version": version, "stage_id": stage, "day": day, "action": action}
            if minutes:
                body["minutes"] = minutes
            answer = organiser.post(f"/api/events/{SLUG}/programme/actions", json=body)
            if answer.status_code == 409 and answer.json()["reason"] == "no_current_item":
                continue
            assert answer.status_code == 200, answer.text
            change = _receive(socket)
            assert change["version"] == version + 1 and change["kind"] == action
            assert change["stage_id"] == stage and change["items"]
            version = change["version"]
        socket.send(json.dumps({"type": "resync"}))
        again = _receive(socket, "snapshot")
        assert again["version"] == version


def test_a_reconnecting_client_starts_from_a_fresh_snapshot(live_server):
    organiser = _organiser(live_server.url, live_server.logins)
    with connect(_ws(live_server.url)) as socket:
        first = _receive(socket, "snapshot")
    stage, day = _first_stage_day(first)
    body = {"version": first["version"], "stage_id": stage, "day": day, "action": "delay"}
    answer = organiser.post(f"/api/events/{SLUG}/programme/actions", json={**body, "minutes": 1})
    assert answer.status_code == 200, answer.text
    with connect(_ws(live_server.url)) as socket:
        assert _receive(socket, "snapshot")["version"] == first["version"] + 1


def test_checkins_need_organisers_or_door_staff_and_meetings_a_signed_in_person(live_server):
    url = live_server.url.replace("http://", "ws://") + f"/ws/events/{SLUG}/checkins"
    with pytest.raises(Exception), connect(url) as socket:  # noqa: B017 - refused handshake
        socket.recv(timeout=2)
    organiser = _organiser(live_server.url, live_server.logins)
    cookie = "; ".join(f"{k}={v}" for k, v in organiser.cookies.items())
    with connect(url, additional_headers={"Cookie": cookie}) as socket:
        snapshot = _receive(socket, "snapshot")
        assert snapshot["topic"] == "checkins" and snapshot["version"] == 0
    mine = live_server.url.replace("http://", "ws://") + "/ws/me/meetings"
    with pytest.raises(Exception), connect(mine) as socket:  # noqa: B017 - refused handshake
        socket.recv(timeout=2)
    with connect(mine, additional_headers={"Cookie": cookie}) as socket:
        assert _receive(socket, "snapshot")["topic"] == "meetings"


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


def test_a_change_through_one_server_reaches_a_client_of_another(tmp_path):
    """Two `eventapp run` processes on one PostgreSQL and one Redis."""
    if not POSTGRES_URL:
        pytest.skip("needs EVENTAPP_TEST_POSTGRES")
    if not _redis_available():
        message = f"no Redis answers at {REDIS_URL}"
        if os.environ.get("EVENTAPP_REQUIRE_REDIS"):
            pytest.fail(message)
        pytest.skip(message)
    name = f"eventapp_live_{secrets.token_hex(4)}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(POSTGRES_URL, name)
    try:
        _migrate(url)
        env = {
            "EVENTAPP_DATABASE_URL": url,
            "EVENTAPP_VAR_DIR": str(tmp_path / "var"),
            "EVENTAPP_SECRET_KEY": secrets.token_urlsafe(32),
            "EVENTAPP_REDIS_URL": REDIS_URL,
            "EVENTAPP_REDIS_NAMESPACE": f"test-live-{secrets.token_hex(4)}",
        }
        seeded = subprocess.run(
            [sys.executable, "-m", "eventapp.cli", "demo", "--json"],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
            text=True,
        )
        logins = {Role(r["role"]): (r["email"], r["password"]) for r in json.loads(seeded.stdout)}
        with serving(env) as first, serving(env) as second:
            organiser = _organiser(first, logins)
            with connect(_ws(second)) as socket:
                snapshot = _receive(socket, "snapshot")
                stage, day = _first_stage_day(snapshot)
                body = {
                    "version": snapshot["version"],
                    "stage_id": stage,
                    "day": day,
                    "action": "start_next",
                }
                sent = time.monotonic()
                answer = organiser.post(f"/api/events/{SLUG}/programme/actions", json=body)
                assert answer.status_code == 200, answer.text
                change = _receive(socket, within=2)
                assert time.monotonic() - sent < 2
                assert change["version"] == snapshot["version"] + 1
                assert change["current"] and change["kind"] == "start_next"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
