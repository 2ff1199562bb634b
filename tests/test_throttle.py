"""Password guessing is slowed per client address and per account, atomically, across processes."""

from __future__ import annotations

import asyncio
import os
import secrets

import httpx
import pytest
from litestar import Litestar

from eventapp.accounts import service
from eventapp.accounts.security import hash_password
from eventapp.accounts.tables import User
from tests.helpers import PASSWORD, make_user
from tests.live import serving

REDIS_URL = "redis://127.0.0.1:6379/15"


def client_from(app: Litestar, address: str) -> httpx.AsyncClient:
    """A client whose requests come from `address`, as uvicorn would report it."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


@pytest.fixture
def checks(monkeypatch) -> list[str]:
    """Every password check that ran (the argon2 verification), by the email it was for."""
    seen: list[str] = []
    verify = service.verify_password

    def counting(password_hash, password):
        seen.append(password)
        return verify(password_hash, password)

    monkeypatch.setattr(service, "verify_password", counting)
    return seen


async def _guess(client: httpx.AsyncClient, email: str, n: int) -> httpx.Response:
    path = "/api/auth/login" if n % 2 else "/api/auth/tokens"
    return await client.post(path, json={"email": email, "password": f"guess {n}"})


async def test_one_account_gets_ten_failed_guesses_from_any_number_of_addresses(app, client):
    await make_user("ada@example.org")
    statuses = []
    for n in range(12):
        async with client_from(app, f"198.51.100.{n}") as other:
            statuses.append((await _guess(other, "ada@example.org", n)).status_code)
    assert statuses == [401] * 10 + [429] * 2
    refused = await client.post(
        "/api/auth/login", json={"email": "ada@example.org", "password": PASSWORD}
    )
    assert refused.status_code == 429 and refused.json()["reason"] == "too_many_attempts"
    assert 1 <= int(refused.headers["retry-after"]) <= 300


async def test_one_address_gets_thirty_failed_guesses_across_accounts_and_routes(app, client):
    await make_user("ada@example.org")
    async with client_from(app, "203.0.113.7") as guesser:
        statuses = [
            (await _guess(guesser, f"person{n}@example.org", n)).status_code for n in range(31)
        ]
        assert statuses == [401] * 30 + [429]
    # Another address is not affected, and neither is the account.
    async with client_from(app, "203.0.113.8") as neighbour:
        signed_in = await neighbour.post(
            "/api/auth/login", json={"email": "ada@example.org", "password": PASSWORD}
        )
        assert signed_in.status_code == 200


async def test_a_venue_behind_one_address_signs_in_without_locking_itself_out(app, client):
    password_hash = hash_password(PASSWORD)
    await User.insert(
        *(User(email=f"guest{n}@example.org", password_hash=password_hash) for n in range(35))
    ).run()
    async with client_from(app, "192.0.2.50") as venue:
        for n in range(35):
            response = await venue.post(
                "/api/auth/login", json={"email": f"guest{n}@example.org", "password": PASSWORD}
            )
            assert response.status_code == 200, n


async def test_concurrent_guesses_from_one_address_reach_the_check_at_most_thirty_times(
    app, client, checks
):
    async with client_from(app, "203.0.113.9") as guesser:
        responses = await asyncio.gather(
            *(_guess(guesser, f"person{n}@example.org", n) for n in range(60))
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [401] * 30 + [429] * 30
    assert len(checks) == 30


async def test_concurrent_guesses_at_one_account_reach_the_check_at_most_ten_times(
    app, client, checks
):
    await make_user("ada@example.org")
    responses = []
    for batch in range(6):
        async with client_from(app, f"198.51.100.{batch}") as guesser:
            responses += await asyncio.gather(
                *(_guess(guesser, "ada@example.org", n) for n in range(10))
            )
    assert sum(response.status_code == 401 for response in responses) == 10
    assert len(checks) == 10


def test_workers_sharing_redis_share_one_budget(tmp_path, sqlite_template):
    """60 concurrent guesses over HTTP at two worker processes: 30 reach the check, not 60."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as error:  # noqa: BLE001 - any failure means there is no Redis to use
        if os.environ.get("EVENTAPP_REQUIRE_REDIS"):
            pytest.fail(f"Redis is required (EVENTAPP_REQUIRE_REDIS) but not running: {error}")
        pytest.skip(f"Redis is not running here: {error}")
    database = tmp_path / "eventapp.sqlite"
    database.write_bytes(sqlite_template.read_bytes())
    env = {
        "EVENTAPP_DATABASE_URL": f"sqlite:///{database}",
        "EVENTAPP_VAR_DIR": str(tmp_path / "var"),
        "EVENTAPP_REDIS_URL": REDIS_URL,
        "EVENTAPP_REDIS_NAMESPACE": f"test-{secrets.token_hex(4)}",
        "EVENTAPP_SECRET_KEY": secrets.token_urlsafe(32),
    }
    with serving(env, "--workers", "2") as url:

        async def storm() -> list[int]:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                responses = await asyncio.gather(
                    *(_guess(http, f"person{n}@example.org", n) for n in range(60))
                )
            return [response.status_code for response in responses]

        statuses = asyncio.run(storm())
    assert sorted(statuses) == [401] * 30 + [429] * 30
