"""Fixtures: the app on each engine, an HTTP client, users, and a live server for browsers.

Every test that takes `client` (or `database_url`) runs once on SQLite and, when
EVENTAPP_TEST_POSTGRES holds a server URL, once more on a PostgreSQL database made for this run
and dropped afterwards. Migrations run once per engine; each test then starts from empty tables
(a copy of the migrated SQLite file, or TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from litestar import Litestar

from eventapp.app import create_app
from eventapp.settings import Settings

POSTGRES_URL = os.environ.get("EVENTAPP_TEST_POSTGRES", "").strip()
ENGINES = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
PASSWORD = "correct horse battery staple"

pytest_plugins = ["tests.live"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _migrate(url: str) -> None:
    """Migrate as an operator would, in a process of its own (piccolo keeps per-process state)."""
    subprocess.run(
        [sys.executable, "-m", "eventapp.cli", "migrate"],
        env={**os.environ, "EVENTAPP_DATABASE_URL": url},
        check=True,
        capture_output=True,
    )


def _run(coroutine) -> None:
    """`asyncio.run`, also where Playwright's sync API keeps a loop running on this thread (the
    browser tests' fixtures): there, on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"eventapp_test_{secrets.token_hex(4)}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    _run(admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(POSTGRES_URL, name)
    try:
        _migrate(url)
        yield url
    finally:
        _run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _truncate_all(url: str) -> None:
    from eventapp.piccolo_app import APP_CONFIG

    names = ", ".join(table._meta.tablename for table in APP_CONFIG.table_classes)

    async def truncate() -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        finally:
            await connection.close()

    _run(truncate())


@pytest.fixture(params=ENGINES)
def engine_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(engine_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A migrated, empty database of the engine this test runs on."""
    if engine_kind == "sqlite":
        path = tmp_path / "eventapp.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        secret_key=secrets.token_urlsafe(32),
        public_url="http://testserver.local",
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app, whose startup (engine, pool) runs on the test's own loop."""
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
        ) as client,
    ):
        yield client
