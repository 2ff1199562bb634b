"""API conventions every route keeps: guards, problem details, limits, health, OpenAPI."""

from __future__ import annotations

import warnings

from eventapp.app import create_app
from tests.helpers import make_event, signed_in_admin

PROBLEM = "application/problem+json"


# Routes anyone may call. Adding one here is a decision, so this list is spelled out.
PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/tokens"),
    ("POST", "/api/auth/sign-in-link"),
    ("POST", "/api/auth/sign-in-link/redeem"),
    ("POST", "/api/auth/password-reset"),
    ("POST", "/api/auth/password-reset/complete"),
    ("GET", "/api/events"),
    ("GET", "/api/events/{slug:str}"),
    ("GET", "/api/events/{slug:str}/stages"),
    ("GET", "/api/events/{slug:str}/tables"),
    ("GET", "/api/events/{slug:str}/programme"),
    ("GET", "/api/events/{slug:str}/programme/agenda-qr.png"),
    ("GET", "/api/events/{slug:str}/programme/releases"),
    ("GET", "/api/events/{slug:str}/ticket-types"),
    ("POST", "/api/events/{slug:str}/registrations"),
    ("POST", "/api/invitations/preview"),
    ("POST", "/api/invitations/accept"),
    ("GET", "/api/calendar/{token:str}"),
    # Applications: the call and the form's way in without an account (a mailed link).
    ("GET", "/api/events/{slug:str}/call"),
    ("POST", "/api/events/{slug:str}/nomination-codes/check"),
    ("POST", "/api/events/{slug:str}/applications/start"),
    ("POST", "/api/events/{slug:str}/applications/resume-link"),
    ("POST", "/api/events/{slug:str}/applications/resume"),
    # A selected start-up's logo is on the public programme; others' only for their readers.
    ("GET", "/api/events/{slug:str}/applications/{application_id:int}/logo"),
}


def test_only_the_listed_routes_are_public(settings):
    """Everything else needs a signed-in user (the app-wide guard) and usually a role."""
    app = create_app(settings)
    public = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if route.path.startswith("/schema") or (handler.name or "").startswith("static"):
                continue
            if handler.opt.get("public"):
                public |= {
                    (m, route.path) for m in handler.http_methods if m not in {"OPTIONS", "HEAD"}
                }
    assert public == PUBLIC_ROUTES


def test_every_route_is_made_with_eventapp_routing(settings):
    """`eventapp.routing`'s decorators hand guards the handler rather than a copy (25 us each)."""
    from litestar.handlers import HTTPRouteHandler

    from eventapp.routing import Route

    app = create_app(settings)
    others = [
        (sorted(handler.http_methods), route.path)
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if isinstance(handler, HTTPRouteHandler)
        and not isinstance(handler, Route)
        and handler.http_methods != {"OPTIONS"}
        and not route.path.startswith("/schema")
        and not (handler.name or "").startswith("static")
    ]
    assert others == []


def test_every_list_answers_a_page_never_a_whole_table(settings):
    """A list that grows with the data is paginated (`eventapp.pagination`), so none is sent whole."""
    from eventapp.pagination import Page

    app = create_app(settings)
    lists = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "GET" not in handler.http_methods:
                continue
            returns = handler.parsed_fn_signature.return_type
            if returns.is_subclass_of(list) or returns.is_subclass_of(tuple):
                lists.append(route.path)
            if returns.is_subclass_of(Page):
                assert "page" in handler.resolve_dependencies(), route.path
    assert lists == []


async def test_pages_are_bounded_and_searchable(client):
    from eventapp.pagination import MAX_LIMIT

    await signed_in_admin(client)
    await make_event(client, "sg")
    await client.post("/api/events/sg/tables/bulk", json={"count": 120, "prefix": "T"})
    first = (await client.get("/api/events/sg/tables")).json()
    assert (len(first["items"]), first["total"], first["limit"], first["offset"]) == (
        50,
        120,
        50,
        0,
    )
    last = (await client.get("/api/events/sg/tables", params={"offset": 100, "limit": 50})).json()
    assert [t["label"] for t in last["items"]][:2] == ["T101", "T102"] and len(last["items"]) == 20
    found = (await client.get("/api/events/sg/tables", params={"q": "t11", "limit": 200})).json()
    assert [t["label"] for t in found["items"]] == [f"T11{n}" for n in range(10)]
    assert found["total"] == 10
    for bad in ({"limit": 0}, {"limit": MAX_LIMIT + 1}, {"offset": -1}, {"q": "x" * 101}):
        refused = await client.get("/api/events/sg/tables", params=bad)
        assert refused.status_code == 400, bad
        assert refused.headers["content-type"].startswith(PROBLEM)


def test_the_app_starts_without_deprecation_warnings(settings):
    """Litestar warns on inferred bodies and dependencies (they fail in 3.0): we declare them all."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        create_app(settings)


async def test_refusals_are_problem_details_with_the_right_status(client):
    unauthenticated = await client.get("/api/auth/me")
    assert unauthenticated.status_code == 401
    await signed_in_admin(client)
    await make_event(client, "sg")
    malformed = await client.post(
        "/api/events", content=b'{"slug": ', headers={"content-type": "application/json"}
    )
    too_big = await client.post(
        "/api/events",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"content-type": "application/json"},
    )
    missing = await client.get("/api/events/nowhere")
    for response, status in (
        (unauthenticated, 401),
        (malformed, 400),
        (too_big, 413),
        (missing, 404),
    ):
        assert response.status_code == status
        assert response.headers["content-type"].startswith(PROBLEM)
        body = response.json()
        assert body["status"] == status and body["title"] and body["detail"]
    assert missing.json()["reason"] == "event_unknown"


async def test_values_the_database_cannot_hold_are_400_not_500(client):
    await signed_in_admin(client)
    await make_event(client, "sg")
    huge_id = await client.patch("/api/events/sg/stages/99999999999999999999", json={"name": "X"})
    assert huge_id.status_code == 400 and huge_id.headers["content-type"].startswith(PROBLEM)
    nul = await client.post("/api/events/sg/stages", json={"name": "Main\u0000Stage"})
    assert nul.status_code in {201, 400}, nul.text
    assert (await client.get("/api/events/%00")).status_code in {400, 404}
    tagline = await client.patch("/api/events/sg", json={"tagline": "nul \u0000 here"})
    assert tagline.status_code in {200, 400}, tagline.text


async def test_a_wrong_role_is_403_with_a_reason(client):
    await signed_in_admin(client)
    await make_event(client, "sg", published=True)
    from eventapp.accounts.schemas import Role
    from tests.helpers import sign_in, user_with_role

    await user_with_role("sg", "ines@example.org", Role.investor)
    client.cookies.clear()
    await sign_in(client, "ines@example.org")
    response = await client.post("/api/events/sg/tables/bulk", json={"count": 2})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["reason"] == "role_required"


async def test_health_reports_the_database(client):
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"]["ok"] is True
    assert body["database"]["engine"] in {"sqlite", "postgres"}


async def test_health_reports_redis_when_configured(settings):
    from httpx import ASGITransport, AsyncClient

    for url, expected in (("redis://127.0.0.1:6379/0", 200), ("redis://127.0.0.1:1/0", 503)):
        app = create_app(settings.model_copy(update={"redis_url": url}))
        async with (
            app.lifespan(),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c,
        ):
            response = await c.get("/health")
        assert response.status_code == expected, response.text
        assert response.json()["redis"]["ok"] is (expected == 200)


async def test_the_openapi_document_is_valid_and_lists_the_api(client):
    from openapi_spec_validator import validate

    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert {"/health", "/api/auth/login", "/api/events", "/api/events/{slug}"} <= set(
        document["paths"]
    )


async def test_pages_are_served_with_security_headers(client):
    response = await client.get("/")
    assert response.status_code == 200 and "<html" in response.text.lower()
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]


async def test_every_answer_carries_the_security_headers_refusals_too(client):
    for answer in (
        await client.get("/health"),
        await client.get("/api/auth/me"),  # 401, raised by the app-wide guard
        await client.get("/api/no-such-route"),  # 404 from the router
        await client.post("/api/auth/login", content=b"{not json"),  # 400
    ):
        assert answer.headers["x-content-type-options"] == "nosniff", answer
        assert answer.headers["x-frame-options"] == "DENY", answer
        assert answer.headers["referrer-policy"] == "same-origin", answer


async def test_a_search_takes_percent_underscore_and_backslash_as_typed(client):
    """`q` finds what contains the very text typed: `50%` is not "50 then anything"."""
    await signed_in_admin(client)
    await make_event(client, "sg")
    for label in ("50% off", "50 off", "a_b", "axb", "back\\slash", "backslash"):
        created = await client.post("/api/events/sg/tables", json={"label": label})
        assert created.status_code == 201, created.text

    async def found(q: str) -> list[str]:
        page = (await client.get("/api/events/sg/tables", params={"q": q})).json()
        return sorted(table["label"] for table in page["items"])

    assert await found("50%") == ["50% off"]
    assert await found("A_B") == ["a_b"]
    assert await found("\\") == ["back\\slash"]
    assert await found("50") == ["50 off", "50% off"]
