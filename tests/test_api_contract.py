"""The server does what its OpenAPI document says: schemathesis fuzzes every operation from it.

The fuzz reads /schema/openapi.json from a live server on its own copy of the demo event (SQLite),
so a new route is fuzzed with no change here. Every operation runs anonymous and signed in as each
demo role, with every schemathesis check; any 5xx, undocumented status, header, content type or
body shape, accepted invalid data or refused valid data fails the suite. The number of examples
per operation is bounded so that the whole fuzz stays well under two minutes.
"""

from __future__ import annotations

import collections
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.generation import GenerationMode

from eventapp.accounts.schemas import Role
from eventapp.demo import DEMO_SLUG
from tests.live import LiveServer, demo_server

ROLES = ["anonymous", *(role.value for role in Role)]
EXAMPLES_PER_OPERATION = 6

load_all_checks()
# `format: email` here also means a public domain; schemathesis's generator picks reserved ones
# (.test, .invalid) that the server refuses as documented in the field's description.
schemathesis.openapi.format(
    "email",
    # Dots only between other characters: "a.@x" and "a..b@x" are no addresses.
    st.from_regex(
        r"\A[a-z0-9][a-z0-9+_-]{0,10}(\.[a-z0-9+_-]{1,10})?@[a-z0-9]{1,20}\.example\.org\Z"
    ),
)
ALL_CHECKS = CHECKS.get_all()

_figures: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
_client_number = iter(range(1, 1_000_000))


def _post_json(server: LiveServer, path: str, body: dict) -> dict:
    # Each sign-in comes from an address of its own (uvicorn trusts X-Forwarded-For from
    # 127.0.0.1), so the fuzz's own attempts on the password routes do not use up the rate limit.
    number = next(_client_number)
    request = urllib.request.Request(
        server.url + path,
        method="POST",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "X-Forwarded-For": f"10.9.{number // 250}.{number % 250 + 1}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _bearer(server: LiveServer, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    email, password = server.logins[Role(role)]
    token = _post_json(server, "/api/auth/tokens", {"email": email, "password": password})
    return {"Authorization": f"Bearer {token['token']}"}


@pytest.fixture(scope="module")
def fuzz_server(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[LiveServer]:
    """A server of the fuzz's own: what it changes or deletes touches no other test."""
    with demo_server(tmp_path_factory.mktemp("fuzz"), sqlite_template) as server:
        yield server


@pytest.fixture(scope="module")
def role_headers(fuzz_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[dict]:
    yield {role: _bearer(fuzz_server, role) for role in ROLES}
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is None or capture is None or not _figures:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(
            f"schemathesis fuzz on SQLite, every check, {EXAMPLES_PER_OPERATION} examples "
            "per operation and mode (valid, invalid):"
        )
        for role in ROLES:
            figures = _figures[role]
            reporter.write_line(
                f"  {role:>10}: {figures['operations']} operations, {figures['cases']} cases, "
                f"{figures['failures']} failures (answers: {figures['2xx']} 2xx, "
                f"{figures['4xx']} 4xx)"
            )


@pytest.fixture(scope="module")
def api_schema(fuzz_server: LiveServer):
    return schemathesis.openapi.from_url(fuzz_server.url + "/schema/openapi.json")


def _keeps_rules_json_schema_cannot_say(value) -> bool:
    """An event's days: each date once, each opening before it closes (said in descriptions);
    a meeting block ends after it starts; an application window opens before it closes."""
    if isinstance(value, list):
        return all(_keeps_rules_json_schema_cannot_say(item) for item in value)
    if not isinstance(value, dict):
        return True
    days = value.get("days")
    if isinstance(days, list):
        dates = [day.get("day") for day in days if isinstance(day, dict)]
        if len(dates) != len(set(dates)):
            return False
    if "day" not in value and isinstance(value.get("opens_at"), str):
        opens, closes = _moment(value["opens_at"]), _moment(value.get("closes_at"))
        if opens is not None and closes is not None and opens >= closes:
            return False
    if "day" in value and {"opens_at", "closes_at"} & value.keys():
        opens = _seconds(value.get("opens_at", "09:00"))
        closes = _seconds(value.get("closes_at", "18:00"))
        if opens is not None and closes is not None and opens >= closes:
            return False
    if "day" in value and {"start", "end"} <= value.keys():
        start, end = _seconds(value["start"]), _seconds(value["end"])
        if start is not None and end is not None and start >= end:
            return False
    return all(_keeps_rules_json_schema_cannot_say(item) for item in value.values())


def _moment(text):
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _seconds(text) -> float | None:
    try:
        hours, minutes, *rest = str(text).split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(rest[0] if rest else 0)
    except ValueError:
        return None


def _strategy(operation, mode: GenerationMode):
    """Cases for an operation; half of them name the demo event and its first rows, so that
    routes behind the event guards are fuzzed past them too."""
    strategy = operation.as_strategy(generation_mode=mode)
    names = {match for match in re.findall(r"{(\w+)}", operation.path)}
    if "slug" not in names:
        return strategy
    ids = [name for name in names if name.endswith("_id")]
    known = [{"slug": DEMO_SLUG, **dict.fromkeys(ids, number)} for number in (1, 2)]
    demo = [operation.as_strategy(generation_mode=mode, path_parameters=p) for p in known]
    return st.one_of(st.one_of(*demo), strategy)


def _fuzz(operation, mode: GenerationMode, headers: dict, server: LiveServer, figures) -> None:
    strategy = _strategy(operation, mode)
    if mode is GenerationMode.POSITIVE:
        strategy = strategy.filter(lambda case: _keeps_rules_json_schema_cannot_say(case.body))

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    def run(case) -> None:
        sent = dict(headers)
        if operation.path == "/api/auth/logout" and sent:
            sent = _bearer(server, figures["role"])  # logging out revokes the token: a fresh one
        figures["cases"] += 1
        response = case.call_and_validate(headers=sent, checks=ALL_CHECKS, timeout=30)
        figures[f"{response.status_code // 100}xx"] += 1

    run()


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_does_what_the_document_says(
    role: str, api_schema, role_headers: dict, fuzz_server: LiveServer
) -> None:
    figures = _figures[role]
    figures["role"] = role
    failures: dict[str, str] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        figures["operations"] += 1
        for mode in GenerationMode:
            try:
                _fuzz(operation, mode, role_headers[role], fuzz_server, figures)
            except Unsatisfiable:
                pass  # nothing invalid can be sent here (no parameters, or any string will do)
            except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - collected, then reported
                failures[f"{operation.label} ({mode.value})"] = str(error)
    figures["failures"] = len(failures)
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
