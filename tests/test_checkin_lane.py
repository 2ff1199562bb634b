"""The door scan's lane (`routing.lane`): it answers exactly as the route's handler would, and
hands everything it is not sure of to the handler."""

from __future__ import annotations

import json

import pytest
from litestar.routes import HTTPRoute

from eventapp import routing
from eventapp.accounts.schemas import Role
from tests.helpers import user_with_role
from tests.tickets_helpers import bearer, scan, ticket, venue

VOLATILE = {"checkin_id", "scanned_at", "ticket_id"}


@pytest.fixture
def by_handler(monkeypatch) -> list[str]:
    """The scans Litestar's handler answered (the lane answers the others)."""
    answered: list[str] = []
    real = HTTPRoute._get_response_for_request

    async def counting(self, scope, request, route_handler, parameter_model):
        if scope["method"] == "POST" and scope["path"].endswith("/checkins"):
            answered.append(scope["path"])
        return await real(self, scope, request, route_handler, parameter_model)

    monkeypatch.setattr(HTTPRoute, "_get_response_for_request", counting)
    return answered


def _shape(response) -> tuple:
    """Status, the security and type headers, and the body without ids and times."""

    def strip(value):
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key not in VOLATILE}
        return value

    headers = {
        name: response.headers.get(name)
        for name in ("content-type", "x-content-type-options", "x-frame-options")
    }
    return response.status_code, headers, strip(response.json())


async def _the_usual_scans(client, v, tag: str) -> list[tuple]:
    """One of each answer a door meets, on tickets of its own (`tag`)."""
    attendee = await ticket(client, v, email=f"ana.{tag}@example.org")
    investor = await ticket(client, v, "investor", email=f"ivo.{tag}@example.org", name="Ivo")
    nonce = f"retry-{tag}"
    shapes = []
    for response in (
        await scan(client, v, attendee["secret"], gate="North"),  # 201
        await scan(client, v, attendee["secret"]),  # 400 already_redeemed, naming the first
        await scan(client, v, investor["secret"], nonce=nonce),  # 201
        await scan(client, v, investor["secret"], nonce=nonce),  # the same answer again
        await scan(client, v, attendee["secret"], "Investor lounge"),  # 400 product
        await scan(client, v, investor["secret"], "Investor lounge", type="exit"),  # 400 rules
        await scan(client, v, "not-a-ticket"),  # 404 invalid
        await client.post(  # 404 list_unknown, a problem
            f"/api/events/{v.slug}/checkins",
            json={"secret": attendee["secret"], "list": 999999, "nonce": f"x-{tag}"},
            headers=v.door,
        ),
    ):
        shapes.append(_shape(response))
    return shapes


async def test_the_lane_answers_every_usual_scan_as_the_handler_does(
    client, monkeypatch, by_handler
):
    v = await venue(client)
    by_lane = await _the_usual_scans(client, v, "lane")
    assert by_handler == []  # the lane answered every one
    monkeypatch.setattr(routing, "_sends_json", lambda scope: False)  # the handler's way only
    handlers_answers = await _the_usual_scans(client, v, "handler")
    assert len(by_handler) == len(handlers_answers)
    assert by_lane == handlers_answers
    assert [status for status, _, _ in by_lane] == [201, 400, 201, 201, 400, 400, 404, 404]
    assert by_lane[0][1]["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"secret": "x", "list": 1}', "invalid"),  # no nonce
        (b'{"secret": "x", "list": 1, "nonce": "n", "colour": "red"}', "invalid"),
        (b'{"secret": "x", "list": "1", "nonce": "n"}', "invalid"),  # a string for a number
        (b'{"secret": ', None),  # not JSON
    ],
)
async def test_a_body_the_lane_refuses_gets_the_handlers_problem(client, body, reason, by_handler):
    v = await venue(client)
    response = await client.post(
        f"/api/events/{v.slug}/checkins",
        content=body,
        headers={**v.door, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["status"] == 400 and "title" in problem
    assert len(by_handler) == 1
    if reason:
        assert problem.get("reason") == reason, problem


async def test_a_number_json_writes_as_12_0_is_taken_as_litestar_takes_it(client, by_handler):
    """The lane validates strictly and declines 12.0; the handler accepts it as the integer."""
    v = await venue(client)
    t = await ticket(client, v)
    body = {"secret": t["secret"], "list": v.lists["Day 1"]["id"], "nonce": "float-list"}
    text = json.dumps(body).replace(f'"list": {body["list"]}', f'"list": {body["list"]}.0')
    response = await client.post(
        f"/api/events/{v.slug}/checkins",
        content=text.encode(),
        headers={**v.door, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert len(by_handler) == 1


async def test_a_body_over_the_limit_is_refused_413_by_the_handler(client, settings):
    v = await venue(client)
    padding = "x" * (settings.max_body_bytes + 10)
    response = await client.post(
        f"/api/events/{v.slug}/checkins",
        json={"secret": padding, "list": v.lists["Day 1"]["id"], "nonce": "big"},
        headers=v.door,
    )
    assert response.status_code == 413


async def test_a_chunked_body_over_the_limit_is_refused_whole(client, settings, by_handler):
    """No Content-Length: the lane reads past the limit and hands the handler all it read."""
    v = await venue(client)
    t = await ticket(client, v)
    scan_body = json.dumps({"secret": t["secret"], "list": v.lists["Day 1"]["id"], "nonce": "c"})

    async def chunks():
        yield b" " * (settings.max_body_bytes + 1)
        yield scan_body.encode()

    response = await client.post(
        f"/api/events/{v.slug}/checkins",
        content=chunks(),
        headers={**v.door, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert len(by_handler) == 1
    assert (await scan(client, v, t["secret"])).status_code == 201  # the first was not written


async def test_a_chunked_scan_within_the_limit_is_answered_by_the_lane(client, by_handler):
    v = await venue(client)
    t = await ticket(client, v)
    scan_body = json.dumps({"secret": t["secret"], "list": v.lists["Day 1"]["id"], "nonce": "d"})

    async def chunks():
        yield scan_body[:20].encode()
        yield scan_body[20:].encode()

    response = await client.post(
        f"/api/events/{v.slug}/checkins",
        content=chunks(),
        headers={**v.door, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert by_handler == []


async def test_the_lanes_guards_refuse_as_the_routes_do(client):
    v = await venue(client)
    t = await ticket(client, v)
    await user_with_role(v.slug, "founder@example.org", Role.startup)
    founder = await bearer(client, "founder@example.org", v.slug)
    body = {"secret": t["secret"], "list": v.lists["Day 1"]["id"], "nonce": "guarded"}
    path = f"/api/events/{v.slug}/checkins"
    not_door_staff = await client.post(path, json=body, headers=founder)
    assert not_door_staff.status_code == 403
    assert not_door_staff.json()["reason"] == "role_required"
    other_site = await client.post(
        path, json=body, headers={**v.door, "Origin": "https://elsewhere.example"}
    )
    assert other_site.status_code == 403 and other_site.json()["reason"] == "cross_site_request"
    client.cookies.clear()
    assert (await client.post(path, json=body)).status_code == 401
    assert (await scan(client, v, t["secret"])).status_code == 201  # nothing was written before
