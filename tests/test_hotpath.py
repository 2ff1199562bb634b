"""Hot queries, and the caller/roles/event cache: every invalidation holds at once in the process
that made it, and within a second in another process sharing Redis, on both engines."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from datetime import timedelta

import httpx
import pytest
from piccolo.engine.sqlite import SQLiteEngine

from eventapp import db
from eventapp.accounts import cache, service
from eventapp.accounts.schemas import Role
from eventapp.accounts.tables import AuthToken, User
from eventapp.errors import IntegrityConflict
from eventapp.events.schemas import EventCreate
from eventapp.events.service import create_event
from eventapp.events.tables import Event, Stage
from eventapp.hotpath import HotQuery, Param
from tests.helpers import PASSWORD, make_event, make_user, signed_in_admin, user_with_role
from tests.live import _free_port, _wait_until_healthy

REDIS_URL = os.environ.get("EVENTAPP_TEST_REDIS", "redis://127.0.0.1:6379/0")

_PUBLISHED = HotQuery(
    lambda: (
        Event.select(Event.id, Event.slug, Event.published)
        .where((Event.published.eq(True)) & (Event.slug != Param("except_slug")))
        .order_by(Event.slug)
    )
)
_ADD_STAGE = HotQuery(
    lambda: Stage.insert(Stage(event=Param("event_id"), name=Param("name"), capacity=5)).returning(
        Stage.id, Stage.name, Stage.capacity
    )
)
_COUNT_STAGES = HotQuery(lambda: Stage.count().where(Stage.event == Param("event_id")))


# --------------------------------------------------------------------------------------------------
# Hot queries


async def test_a_hot_query_answers_as_piccolo_does_on_each_engine(client):
    for slug, published in (("a", True), ("b", True), ("c", False)):
        await Event.insert(Event(slug=slug, name=slug.upper(), published=published)).run()
    placeholder = "?" if isinstance(db.active_engine(), SQLiteEngine) else "$1"
    assert placeholder in _PUBLISHED.sql and "'b'" not in _PUBLISHED.sql
    rows = await _PUBLISHED.rows(except_slug="b")
    expected = (
        await Event.select(Event.id, Event.slug, Event.published)
        .where(Event.published.eq(True) & (Event.slug != "b"))
        .order_by(Event.slug)
        .run()
    )
    assert rows == expected and [row["slug"] for row in rows] == ["a"]
    assert rows[0]["published"] is True
    assert await _PUBLISHED.first(except_slug="a") == {"id": 2, "slug": "b", "published": True}
    assert await _COUNT_STAGES.value(event_id=1) == 0


async def test_a_hot_write_joins_transactions_and_maps_integrity_errors(client):
    event_id = (await Event.insert(Event(slug="sg", name="SG")).run())[0]["id"]
    stage = await _ADD_STAGE.first(event_id=event_id, name="Main")
    assert stage == {"id": stage["id"], "name": "Main", "capacity": 5}
    with pytest.raises(IntegrityConflict) as caught:
        await _ADD_STAGE.rows(event_id=event_id, name="Main")
    assert caught.value.reason == "stage_exists"
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await _ADD_STAGE.rows(event_id=event_id, name="Side")
            assert await _COUNT_STAGES.value(event_id=event_id) == 2  # sees its own write
            raise RuntimeError("roll back")
    assert await Stage.count().where(Stage.event == event_id) == 1


# --------------------------------------------------------------------------------------------------
# In one process: each invalidation holds for the very next request.


async def _bearer(user_id: int, settings) -> dict[str, str]:
    token, _ = await service.issue_token(user_id, kind="api", secret=settings.secret())
    return {"Authorization": f"Bearer {token}"}


async def test_logout_and_a_revoked_token_end_access_at_once(client, settings):
    user_id = await make_user("ada@example.org")
    await client.post("/api/auth/login", json={"email": "ada@example.org", "password": PASSWORD})
    headers = await _bearer(user_id, settings)
    for _ in range(2):  # the second answer comes from the cache
        assert (await client.get("/api/auth/me")).status_code == 200
        assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    assert cache._state.tokens, "the callers are cached"
    assert (await client.post("/api/auth/logout")).status_code == 204
    assert (await client.get("/api/auth/me")).status_code == 401
    await service.revoke_token(headers["Authorization"].split()[1], settings.secret())
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 401


async def test_a_deactivated_user_is_refused_at_once(client, settings):
    user_id = await make_user("ada@example.org")
    headers = await _bearer(user_id, settings)
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    await User.update({User.is_active: False}).where(User.id == user_id).run()
    await cache.forget_user(user_id)
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 401


async def test_a_forget_inside_the_transaction_holds_against_a_read_before_the_commit(
    client, settings
):
    user_id = await make_user("ada@example.org")
    headers = await _bearer(user_id, settings)
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    go = asyncio.Event()

    async def request_meanwhile() -> int:  # another request, outside the transaction
        await go.wait()
        return (await client.get("/api/auth/me", headers=headers)).status_code

    meanwhile = asyncio.create_task(request_meanwhile())
    async with db.transaction():
        await User.update({User.is_active: False}).where(User.id == user_id).run()
        await cache.forget_user(user_id)
        go.set()
        assert await meanwhile == 200  # it read the state before the commit...
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 401  # ...not kept


async def test_a_removed_role_and_a_granted_one_hold_at_once(client, settings):
    await signed_in_admin(client)
    await make_event(client, "showcase", published=True)
    colleague = await user_with_role("showcase", "olga@example.org", Role.organiser)
    theirs = await _bearer(colleague, settings)
    invitations = "/api/events/showcase/invitations"

    async def my_roles() -> list:
        me = (await client.get("/api/auth/me", headers=theirs)).json()
        return [(entry["name"], entry["roles"]) for entry in me["events"]]

    assert (await client.get(invitations, headers=theirs)).status_code == 200
    assert await my_roles() == [("Showcase showcase", ["organiser"])]
    removed = await client.delete(f"/api/events/showcase/people/{colleague}/roles/organiser")
    assert removed.status_code == 204
    assert (await client.get(invitations, headers=theirs)).status_code == 403
    assert await my_roles() == []
    event_id = (await Event.select(Event.id).first().run())["id"]
    await service.grant_role(colleague, event_id, Role.organiser)
    assert (await client.get(invitations, headers=theirs)).status_code == 200
    assert await my_roles() == [("Showcase showcase", ["organiser"])]
    renamed = await client.patch("/api/events/showcase", json={"name": "The Showcase"})
    assert renamed.status_code == 200
    assert await my_roles() == [("The Showcase", ["organiser"])]


async def test_an_unpublished_event_disappears_at_once(client, app):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    assert (await client.patch("/api/events/showcase", json={"published": True})).status_code == 200
    anonymous = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
    )
    async with anonymous:
        assert (await anonymous.get("/api/events/showcase")).status_code == 200
        assert (await anonymous.get("/api/events/showcase")).status_code == 200
        unpublish = await client.patch("/api/events/showcase", json={"published": False})
        assert unpublish.status_code == 200
        assert (await anonymous.get("/api/events/showcase")).status_code == 404


async def test_a_change_nobody_forgets_shows_within_the_lifetime_and_expiry_is_exact(
    client, settings
):
    user_id = await make_user("ada@example.org")
    headers = await _bearer(user_id, settings)
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    await User.update({User.is_active: False}).where(User.id == user_id).run()
    started = time.monotonic()
    while (await client.get("/api/auth/me", headers=headers)).status_code == 200:
        assert time.monotonic() - started < cache.LIFETIME_S + 0.1
        await asyncio.sleep(0.05)
    other = await make_user("bob@example.org")
    headers = await _bearer(other, settings)
    await (
        AuthToken.update({AuthToken.expires_at: service.now() + timedelta(seconds=0.3)})
        .where(AuthToken.user == other)
        .run()
    )
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    await asyncio.sleep(0.35)
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 401


# --------------------------------------------------------------------------------------------------
# Two processes sharing a database and Redis: the other one follows within a second.


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _need_redis() -> None:
    if not _redis_answers():
        message = f"no Redis answers at {REDIS_URL} (set EVENTAPP_TEST_REDIS)"
        if os.environ.get("EVENTAPP_REQUIRE_REDIS"):
            pytest.fail(message)
        pytest.skip(message)


def _serve(
    database_url: str, settings, tmp_path, name: str, namespace: str
) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        "EVENTAPP_DATABASE_URL": database_url,
        "EVENTAPP_SECRET_KEY": settings.secret_key.get_secret_value(),
        "EVENTAPP_REDIS_URL": REDIS_URL,
        "EVENTAPP_REDIS_NAMESPACE": namespace,
        "EVENTAPP_VAR_DIR": str(tmp_path / name),
        "EVENTAPP_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "eventapp.cli", "run", "--port", str(port)], env=env
    )
    return process, f"http://127.0.0.1:{port}"


async def _refused_within(check, limit: float) -> float:
    """Seconds until `check()` stops answering 200 (fails past `limit`)."""
    started = time.monotonic()
    while True:
        status = await check()
        elapsed = time.monotonic() - started
        if status != 200:
            return elapsed
        assert elapsed < limit, f"still served after {elapsed:.2f} s"
        await asyncio.sleep(0.02)


async def test_every_invalidation_reaches_another_process_through_redis_within_a_second(
    client, database_url, settings, tmp_path
):
    _need_redis()
    admin = await make_user("admin@example.org", is_admin=True)
    event = await create_event(
        EventCreate(slug="showcase", name="Showcase", published=True), organiser_id=admin
    )
    ada = await make_user("ada@example.org")
    await service.grant_role(ada, event["id"], Role.organiser)
    admin_headers = await _bearer(admin, settings)
    ada_api, ada_other = await _bearer(ada, settings), await _bearer(ada, settings)

    namespace = f"test-cache-{secrets.token_hex(4)}"
    servers = [_serve(database_url, settings, tmp_path, name, namespace) for name in ("a", "b")]
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    try:
        for process, url in servers:
            await asyncio.to_thread(_wait_until_healthy, url, process)
        (_, a), (_, b) = servers
        async with httpx.AsyncClient(timeout=5) as http:

            async def on_b(path: str, headers: dict) -> int:
                return (await http.get(b + path, headers=headers)).status_code

            timings = {}
            # A role removed on A: B refuses the organiser's page.
            invitations = "/api/events/showcase/invitations"
            assert await on_b(invitations, ada_other) == 200

            async def events_on_b() -> int:  # 200 while B still lists Ada's role
                me = await http.get(b + "/api/auth/me", headers=ada_other)
                return 200 if me.json()["events"] else 404

            assert await events_on_b() == 200
            removed = await http.delete(
                f"{a}/api/events/showcase/people/{ada}/roles/organiser", headers=admin_headers
            )
            assert removed.status_code == 204
            timings["role"] = await _refused_within(lambda: on_b(invitations, ada_other), 1.0)
            timings["memberships"] = await _refused_within(events_on_b, 1.0)
            assert await on_b(invitations, ada_other) == 403

            # An API token revoked on A.
            assert await on_b("/api/auth/me", ada_api) == 200
            assert (await http.post(f"{a}/api/auth/logout", headers=ada_api)).status_code == 204
            timings["token"] = await _refused_within(lambda: on_b("/api/auth/me", ada_api), 1.0)

            # A session ended on A.
            login = await http.post(
                f"{a}/api/auth/login", json={"email": "ada@example.org", "password": PASSWORD}
            )
            cookie = {"Cookie": f"eventapp_session={login.cookies['eventapp_session']}"}
            assert await on_b("/api/auth/me", cookie) == 200
            assert (await http.post(f"{a}/api/auth/logout", headers=cookie)).status_code == 204
            timings["logout"] = await _refused_within(lambda: on_b("/api/auth/me", cookie), 1.0)

            # A user deactivated by a third process, which forgets them through Redis.
            await cache.start(redis, namespace)
            assert await on_b("/api/auth/me", ada_other) == 200
            assert (await http.get(f"{a}/api/auth/me", headers=ada_other)).status_code == 200
            await User.update({User.is_active: False}).where(User.id == ada).run()
            await cache.forget_user(ada)
            timings["deactivated"] = await _refused_within(
                lambda: on_b("/api/auth/me", ada_other), 1.0
            )
            assert (await http.get(f"{a}/api/auth/me", headers=ada_other)).status_code == 401
        # Each answer was cached just before the change, so only Redis explains a refusal well
        # inside the one-second lifetime.
        assert max(timings.values()) < 0.6, timings
    finally:
        await cache.stop()
        await redis.aclose()
        for process, _ in servers:
            process.terminate()
        for process, _ in servers:
            process.wait(timeout=10)


async def test_deployments_sharing_a_redis_do_not_hear_each_other():
    _need_redis()
    from redis.asyncio import Redis

    redis, ours = Redis.from_url(REDIS_URL), f"test-ours-{secrets.token_hex(4)}"
    loads = 0

    async def load() -> frozenset[Role]:
        nonlocal loads
        loads += 1
        return frozenset({Role.organiser})

    async def forget_on(namespace: str) -> None:
        await redis.publish(f"{namespace}:forget", json.dumps(["elsewhere", "roles", 7, 9]))
        await asyncio.sleep(0.2)

    await cache.start(redis, ours)
    try:
        await cache.roles(7, 9, load)
        await forget_on(f"test-theirs-{secrets.token_hex(4)}")
        await cache.roles(7, 9, load)
        assert loads == 1, "another deployment's forget reached this one"
        await forget_on(ours)
        await cache.roles(7, 9, load)
        assert loads == 2, "this deployment's forget was not heard"
    finally:
        await cache.stop()
        await redis.aclose()
