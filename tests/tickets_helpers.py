"""Steps the ticket and check-in tests share: an event with ticket types, lists and door staff."""

from __future__ import annotations

from dataclasses import dataclass

from httpx import AsyncClient

from eventapp.accounts.schemas import Role
from tests.helpers import PASSWORD, make_event, signed_in_admin, user_with_role


@dataclass
class Venue:
    slug: str
    types: dict[str, dict]
    lists: dict[str, dict]
    door: dict[str, str]  # bearer headers of a door-staff device token


async def bearer(client: AsyncClient, email: str, event: str | None = None) -> dict[str, str]:
    body = {"email": email, "password": PASSWORD, "label": "Door A"}
    if event:
        body["event"] = event
    response = await client.post("/api/auth/tokens", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def venue(client: AsyncClient, slug: str = "sg", capacity: int = 50) -> Venue:
    """An admin-organiser signed in (cookie), types attendee/investor/vip, three lists."""
    await signed_in_admin(client)
    await make_event(client, slug, published=True)
    types = {}
    for kind, name in (("attendee", "Attendee"), ("investor", "Investor"), ("vip", "VIP")):
        response = await client.post(
            f"/api/events/{slug}/ticket-types",
            json={"kind": kind, "name": name, "capacity": capacity, "public": kind != "investor"},
        )
        assert response.status_code == 201, response.text
        types[kind] = response.json()
    lists = {}
    for name, type_ids, extra in (
        ("Day 1", [], {}),
        ("Investor lounge", [types["investor"]["id"], types["vip"]["id"]], {"allow_exit": True}),
        ("Hall", [], {"multi_entry": True, "allow_exit": True}),
    ):
        response = await client.post(
            f"/api/events/{slug}/checkin-lists",
            json={"name": name, "ticket_types": type_ids, **extra},
        )
        assert response.status_code == 201, response.text
        lists[name] = response.json()
    await user_with_role(slug, "door@example.org", Role.door_staff)
    door = await bearer(client, "door@example.org", slug)
    return Venue(slug, types, lists, door)


async def ticket(
    client: AsyncClient,
    v: Venue,
    kind: str = "attendee",
    email: str = "ana@example.org",
    name: str = "Ana Santos",
) -> dict:
    response = await client.post(
        f"/api/events/{v.slug}/tickets",
        json={
            "name": name,
            "email": email,
            "organisation": "Padiio",
            "ticket_type": v.types[kind]["id"],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


_nonces = iter(range(1, 10**9))


async def scan(client: AsyncClient, v: Venue, secret: str, list_name: str = "Day 1", **fields):
    body = {
        "secret": secret,
        "list": v.lists[list_name]["id"],
        "type": "entry",
        "nonce": f"n{next(_nonces)}",
        **fields,
    }
    return await client.post(f"/api/events/{v.slug}/checkins", json=body, headers=v.door)
