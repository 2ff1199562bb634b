"""The command line: migrate, demo, create-organiser; and settings defaults."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections import Counter

import pytest

from eventapp.demo import ASEAN, build_demo
from eventapp.settings import Settings


def _eventapp(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "eventapp.cli", *args],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.fixture
def fresh_env(tmp_path) -> dict[str, str]:
    return {
        "EVENTAPP_VAR_DIR": str(tmp_path / "var"),
        "EVENTAPP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
    }


def test_migrate_demo_and_create_organiser_from_a_fresh_database(fresh_env):
    assert "up to date" in _eventapp("migrate", env=fresh_env).stdout
    assert "up to date" in _eventapp("migrate", env=fresh_env).stdout

    first = json.loads(_eventapp("demo", "--json", env=fresh_env).stdout)
    assert {row["role"] for row in first} == {
        "organiser",
        "reviewer",
        "investor",
        "startup",
        "door_staff",
    }
    second = json.loads(_eventapp("demo", "--json", env=fresh_env).stdout)
    assert [r["email"] for r in first] == [r["email"] for r in second]
    assert all(a["password"] != b["password"] for a, b in zip(first, second, strict=True))

    table = _eventapp("demo", env=fresh_env).stdout
    assert "organiser@demo.eventapp.example" in table

    created = _eventapp(
        "create-organiser",
        "--email",
        "Boss@Example.org",
        "--name",
        "Boss",
        env=fresh_env,
        stdin="a strong password\na strong password\n",
    )
    assert "Created" in created.stdout


def test_the_demo_is_the_same_every_time_and_spans_asean_and_japan():
    demo = build_demo()
    assert demo == build_demo()
    startups = [o for o in demo.organisations if o.kind == "startup"]
    countries = Counter(o.country for o in startups)
    assert set(countries) == {code for code, *_ in ASEAN} and len(countries) == 10
    assert all(o.incubator_key for o in startups)
    investor_countries = {o.country for o in demo.organisations if o.kind == "investor"}
    assert "JP" in investor_countries and len(investor_countries) > 3
    emails = [p.email for p in demo.people]
    assert len(emails) == len(set(emails))


def test_the_secret_key_is_generated_once_kept_private_and_reused(tmp_path):
    settings = Settings(var_dir=tmp_path / "var")
    key = settings.secret()
    assert len(key) >= 32 and key == Settings(var_dir=tmp_path / "var").secret()
    assert stat.S_IMODE((tmp_path / "var" / "secret_key").stat().st_mode) == 0o600
    assert Settings(var_dir=tmp_path / "other").secret() != key


def test_the_default_database_is_a_sqlite_file_under_var(tmp_path):
    settings = Settings(var_dir=tmp_path / "var", database_url="")
    assert (
        settings.resolved_database_url
        == f"sqlite:///{(tmp_path / 'var' / 'eventapp.sqlite').as_posix()}"
    )
