"""Events, their days, stages and meeting tables."""

from __future__ import annotations

from eventapp.accounts.schemas import Role
from tests.helpers import make_event, make_user, sign_in, signed_in_admin, user_with_role

DAYS = [
    {"day": "2027-03-19", "opens_at": "09:00", "closes_at": "17:00"},
    {"day": "2027-03-18", "opens_at": "09:00", "closes_at": "18:00"},
]


async def test_an_administrator_creates_an_event_and_becomes_its_organiser(client):
    await signed_in_admin(client)
    event = await make_event(client, "sg-2027", days=DAYS, country="SG", venue="Suntec")
    assert event["my_roles"] == ["organiser"]
    assert [d["day"] for d in event["days"]] == ["2027-03-18", "2027-03-19"]
    assert event["timezone"] == "Asia/Singapore" and event["published"] is False
    me = (await client.get("/api/auth/me")).json()
    assert me["events"] == [{"slug": "sg-2027", "name": "Showcase sg-2027", "roles": ["organiser"]}]


async def test_only_administrators_create_events(client):
    await make_user("olga@example.org")
    await sign_in(client, "olga@example.org")
    response = await client.post("/api/events", json={"slug": "x", "name": "X"})
    assert response.status_code == 403 and response.json()["reason"] == "admin_only"
    client.cookies.clear()
    assert (await client.post("/api/events", json={"slug": "x", "name": "X"})).status_code == 401


async def test_a_slug_is_taken_once(client):
    await signed_in_admin(client)
    await make_event(client, "sg-2027")
    again = await client.post("/api/events", json={"slug": "sg-2027", "name": "Again"})
    assert again.status_code == 409 and again.json()["reason"] == "slug_taken"


async def test_bad_event_fields_are_400_with_the_field_named(client):
    await signed_in_admin(client)
    cases = [
        {"slug": "Bad Slug", "name": "X"},
        {"slug": "ok", "name": "X", "timezone": "Mars/Olympus"},
        {"slug": "ok", "name": "X", "country": "Singapore"},
        {
            "slug": "ok",
            "name": "X",
            "days": [{"day": "2027-03-18", "opens_at": "18:00", "closes_at": "09:00"}],
        },
        {"slug": "ok", "name": "X", "days": [DAYS[0], DAYS[0]]},
        {"slug": "ok", "name": "X", "surprise": True},
    ]
    for body in cases:
        response = await client.post("/api/events", json=body)
        assert response.status_code == 400, body
        assert response.json()["reason"] == "invalid" and response.json()["errors"], body
    assert (await client.get("/api/events")).json()["items"] == []


async def test_drafts_are_seen_only_by_their_people_and_published_events_by_all(client):
    await signed_in_admin(client)
    await make_event(client, "draft")
    await make_event(client, "live", published=True)
    client.cookies.clear()
    assert [e["slug"] for e in (await client.get("/api/events")).json()["items"]] == ["live"]
    assert (await client.get("/api/events/draft")).status_code == 404
    assert (await client.get("/api/events/live")).json()["my_roles"] == []
    await user_with_role("draft", "rex@example.org", Role.reviewer)
    await sign_in(client, "rex@example.org")
    assert sorted(e["slug"] for e in (await client.get("/api/events")).json()["items"]) == [
        "draft",
        "live",
    ]
    assert (await client.get("/api/events/draft")).json()["my_roles"] == ["reviewer"]


async def test_organisers_update_an_event_and_days_are_replaced_whole(client):
    await signed_in_admin(client)
    await make_event(client, "sg", days=DAYS)
    response = await client.patch(
        "/api/events/sg",
        json={
            "name": "Renamed",
            "days": [{"day": "2027-04-01", "opens_at": "10:00", "closes_at": "16:00"}],
        },
    )
    assert response.status_code == 200
    event = response.json()
    assert event["name"] == "Renamed" and [d["day"] for d in event["days"]] == ["2027-04-01"]
    untouched = (await client.patch("/api/events/sg", json={"venue": "Expo"})).json()
    assert untouched["name"] == "Renamed" and len(untouched["days"]) == 1


async def test_other_roles_cannot_change_the_event(client):
    await signed_in_admin(client)
    await make_event(client, "sg", published=True)
    await user_with_role("sg", "rex@example.org", Role.reviewer)
    client.cookies.clear()
    await sign_in(client, "rex@example.org")
    response = await client.patch("/api/events/sg", json={"name": "Mine"})
    assert response.status_code == 403 and response.json()["reason"] == "role_required"
    assert (await client.post("/api/events/sg/stages", json={"name": "Side"})).status_code == 403


async def test_stages_are_managed_by_organisers_and_named_once_per_event(client):
    await signed_in_admin(client)
    await make_event(client, "sg", published=True)
    main = (
        await client.post("/api/events/sg/stages", json={"name": "Main Stage", "capacity": 400})
    ).json()
    duplicate = await client.post("/api/events/sg/stages", json={"name": "Main Stage"})
    assert duplicate.status_code == 409 and duplicate.json()["reason"] == "stage_exists"
    renamed = await client.patch(f"/api/events/sg/stages/{main['id']}", json={"capacity": 500})
    assert renamed.json() == {"id": main["id"], "name": "Main Stage", "capacity": 500}
    client.cookies.clear()
    assert (await client.get("/api/events/sg/stages")).json()["items"] == [renamed.json()]


async def test_a_stage_of_another_event_is_not_found_here(client):
    await signed_in_admin(client)
    await make_event(client, "a")
    await make_event(client, "b")
    stage = (await client.post("/api/events/a/stages", json={"name": "Main"})).json()
    assert (
        await client.patch(f"/api/events/b/stages/{stage['id']}", json={"name": "X"})
    ).status_code == 404
    assert (await client.delete(f"/api/events/b/stages/{stage['id']}")).status_code == 404
    assert (await client.delete(f"/api/events/a/stages/{stage['id']}")).status_code == 204
    assert (await client.get("/api/events/a/stages")).json()["items"] == []


async def test_meeting_tables_are_numbered_on_after_the_highest_label(client):
    await signed_in_admin(client)
    await make_event(client, "sg")
    first = await client.post("/api/events/sg/tables/bulk", json={"count": 3, "area": "Lounge"})
    assert [t["label"] for t in first.json()] == ["T01", "T02", "T03"]
    await client.post("/api/events/sg/tables", json={"label": "VIP"})
    more = await client.post("/api/events/sg/tables/bulk", json={"count": 2})
    assert [t["label"] for t in more.json()] == ["T04", "T05"]
    labels = [t["label"] for t in (await client.get("/api/events/sg/tables")).json()["items"]]
    assert labels == ["T01", "T02", "T03", "T04", "T05", "VIP"]
    clash = await client.post("/api/events/sg/tables", json={"label": "T01"})
    assert clash.status_code == 409 and clash.json()["reason"] == "table_exists"
    table_id = first.json()[0]["id"]
    patched = await client.patch(f"/api/events/sg/tables/{table_id}", json={"seats": 4})
    assert patched.json()["seats"] == 4 and patched.json()["area"] == "Lounge"
