"""The OpenAPI document describes what the server does (eventapp/openapi.py); the fuzz in
test_api_contract.py checks the same against a live server."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar, post
from litestar.openapi import OpenAPIConfig
from litestar.params import JSONBody
from pydantic import BaseModel

from eventapp.accounts.guards import refuse_cross_site_writes, require_login
from eventapp.accounts.schemas import Role
from eventapp.openapi import REFUSAL_KINDS, Refusal, document_api
from eventapp.params import RowId
from tests.helpers import make_event, signed_in_admin

PROBLEM = "application/problem+json"
# Routes that count attempts (accounts/throttle.py): passwords checked, links and tickets mailed.
RATE_LIMITED = {
    ("post", "/api/events/{slug}/registrations"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/tokens"),
    ("post", "/api/auth/password"),
    ("post", "/api/auth/sign-in-link"),
    ("post", "/api/auth/password-reset"),
    ("post", "/api/invitations/accept"),
    ("post", "/api/events/{slug}/nomination-codes/check"),
    ("post", "/api/events/{slug}/applications/start"),
    ("post", "/api/events/{slug}/applications/resume-link"),
}


@pytest.fixture
async def document(client) -> dict:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def reasons(document: dict, response: dict) -> list[str] | None:
    schema = response["content"][PROBLEM]["schema"]
    for part in schema.get("allOf", []):
        if "properties" in part:
            return part["properties"]["reason"]["enum"]
    return None


# The one exception, as issue 11 asks: check-in refusals in pretix's shape ({"status": "error"}).
CHECKIN_ANSWERS = {("post", "/api/events/{slug}/checkins", s) for s in ("400", "404")}


async def test_every_refusal_is_a_problem_with_the_shared_schema(document):
    assert {"status", "title", "detail"} <= set(
        document["components"]["schemas"]["ProblemDetails"]["required"]
    )
    for _method, _path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400 and status != "503" or "Problem" in str(response):
                types = list(response["content"])
                if (_method, _path, status) in CHECKIN_ANSWERS:
                    # The door scanner's refusals are pretix's JSON; problems stay possible.
                    assert types == [PROBLEM, "application/json"], (_method, _path, status)
                else:
                    assert types == [PROBLEM], (_method, _path, status)
                assert "#/components/schemas/ProblemDetails" in str(response)


PROGRAMME_READS = ("", "/agenda-qr.png", "/releases")


async def test_each_kind_of_refusal_is_documented_where_it_applies(document):
    public = {("get", "/health"), ("get", "/api/events"), ("get", "/api/events/{slug}")}
    public |= {("get", "/api/events/{slug}/stages"), ("get", "/api/events/{slug}/tables")}
    public |= {("get", f"/api/events/{{slug}}/programme{tail}") for tail in PROGRAMME_READS}
    public |= RATE_LIMITED - {("post", "/api/auth/password")}
    public |= {("post", "/api/invitations/preview"), ("post", "/api/auth/sign-in-link/redeem")}
    public |= {("post", "/api/auth/password-reset/complete")}
    public |= {("get", "/api/calendar/{token}")}  # a private feed link: the token is the key
    public |= {
        ("get", "/api/events/{slug}/call"),
        ("post", "/api/events/{slug}/applications/resume"),
    }
    public |= {("get", "/api/events/{slug}/applications/{application_id}/logo")}
    public |= {
        ("get", "/api/events/{slug}/ticket-types"),
        ("post", "/api/events/{slug}/registrations"),
    }
    for method, path, operation in operations(document):
        statuses = set(operation["responses"])
        assert ("401" in statuses) or (method, path) in public, (method, path)
        if method in {"post", "patch", "delete"}:
            assert "cross_site_request" in reasons(document, operation["responses"]["403"])
        if "requestBody" in operation:
            assert {"400", "413"} <= statuses, (method, path)
        if path.startswith("/api/events/{slug}"):
            assert "event_unknown" in reasons(document, operation["responses"]["404"])
        if (method, path) in RATE_LIMITED:
            too_many = operation["responses"]["429"]
            assert too_many["headers"]["Retry-After"]["required"] is True
        else:
            assert "429" not in statuses, (method, path)
    organiser_only = document["paths"]["/api/events/{slug}/stages"]["post"]["responses"]
    assert set(reasons(document, organiser_only["403"])) == {"cross_site_request", "role_required"}
    preview = document["paths"]["/api/invitations/preview"]["post"]["responses"]
    assert set(reasons(document, preview["410"])) == {
        "invitation_accepted",
        "invitation_revoked",
        "invitation_expired",
    }


async def test_a_204_has_no_content_and_logout_is_one(document):
    logout = document["paths"]["/api/auth/logout"]["post"]["responses"]
    assert "200" not in logout and "content" not in logout["204"]
    for _method, _path, operation in operations(document):
        assert "content" not in operation["responses"].get("204", {})


async def test_types_have_their_formats_and_request_models_refuse_unknown_fields(document):
    schemas = document["components"]["schemas"]
    for model in ("DayIn", "DayOut"):
        for field in ("opens_at", "closes_at"):
            assert schemas[model]["properties"][field]["format"] == "partial-time"
    assert schemas["EventOut"]["properties"]["created_at"]["format"] == "date-time"
    assert schemas["DayOut"]["properties"]["day"]["format"] == "date"
    assert schemas["InvitationCreate"]["properties"]["email"]["format"] == "email"
    assert "pattern" in schemas["EventCreate"]["properties"]["slug"]
    bodies = {
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        for _method, _path, operation in operations(document)
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    }
    assert bodies and {"DayIn"} | bodies <= set(schemas)
    for name in bodies | {"DayIn"}:
        assert schemas[name]["additionalProperties"] is False, name
    for name, schema in schemas.items():
        if schema.get("type") == "object":
            assert "additionalProperties" in schema, name


async def test_operation_ids_are_unique_handler_names(document):
    ids = [operation["operationId"] for _method, _path, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert {"login", "list_events", "get_event"} <= set(ids)


async def test_the_server_refuses_what_the_document_refuses(client):
    await signed_in_admin(client)
    await make_event(client, "sg")
    unknown_field = await client.post("/api/events/sg/stages", json={"name": "Main", "x": 1})
    loose_number = await client.post("/api/events/sg/stages", json={"name": "M", "capacity": "5"})
    offset = await client.patch(
        "/api/events/sg", json={"days": [{"day": "2027-03-18", "opens_at": "09:00:00+08:00"}]}
    )
    for response in (unknown_field, loose_number, offset):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
    days = await client.patch(
        "/api/events/sg", json={"days": [{"day": "2027-03-18", "opens_at": "08:30"}]}
    )
    assert days.status_code == 200, days.text
    assert days.json()["days"][0]["opens_at"] == "08:30:00"
    invite = await client.post(
        "/api/events/sg/invitations", json={"email": "r@example.org", "role": Role.reviewer.value}
    )
    assert invite.status_code == 201, invite.text


async def test_a_rate_limited_answer_carries_retry_after(client):
    body = {"email": "nobody@example.org", "password": "wrong"}
    for _ in range(40):
        response = await client.post("/api/auth/login", json=body)
        if response.status_code == 429:
            break
        assert response.status_code == 401
    assert response.status_code == 429
    assert response.headers["content-type"].startswith(PROBLEM)
    assert re.fullmatch(r"[0-9]+", response.headers["retry-after"])
    assert response.json()["reason"] == "too_many_attempts"


class Thing(BaseModel):
    name: str


@post("/api/things/{thing_id:int}", status_code=204)
async def add_thing(thing_id: RowId, data: JSONBody[Thing]) -> None:
    """A route nobody declared refusals for."""


def test_refusal_kinds_are_declared_once_and_a_new_route_gets_them():
    assert len({kind.name for kind in REFUSAL_KINDS}) == len(REFUSAL_KINDS)
    assert all(isinstance(refusal, Refusal) for kind in REFUSAL_KINDS for refusal in kind.refusals)
    app = Litestar(
        route_handlers=[add_thing],
        guards=[refuse_cross_site_writes, require_login],
        openapi_config=OpenAPIConfig(title="t", version="1"),
    )
    responses = document_api(app).paths["/api/things/{thing_id}"].post.responses
    assert set(responses) == {"204", "400", "401", "403", "404", "409", "413", "503"}
    assert "content" not in responses["204"].to_schema()


async def test_the_reference_pages_load_nothing_from_other_hosts(client):
    page = await client.get("/schema")
    assert page.status_code == 200
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self'
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in re.findall(r"""(?:src|href)="([^"]+)""", page.text):
        assert (await client.get(asset)).status_code == 200, asset
