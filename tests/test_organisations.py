"""Organisations are shared by every event: an invitation joins one only when this event already
has it, and an application form never rewrites one that other people or other events rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eventapp.accounts import service as accounts
from eventapp.accounts.schemas import Role
from eventapp.accounts.tables import Organisation, User
from eventapp.events.service import event_by_slug
from tests.helpers import PASSWORD, make_event, make_user, sign_in, signed_in_admin

PADILY = {
    "name": "Padily",
    "country": "ID",
    "website": "https://padily.example",
    "description": "Agritech marketplace for rice farmers",
}
FORM = {
    "country": "ID",
    "sectors": ["Agritech"],
    "stage": "seed",
    "year_founded": 2022,
    "team_size": 8,
    "founders": [{"name": "Sari Wulandari", "role": "CEO"}],
    "description": "We sell soil moisture forecasts to rice cooperatives.",
}


async def _org(kind: str, **facts) -> int:
    rows = await Organisation.insert(Organisation(kind=kind, **facts)).run()
    return rows[0]["id"]


async def _person(email: str, role: Role, organisation_id: int, slug: str) -> int:
    user_id = await accounts.create_user(email, password=PASSWORD, organisation_id=organisation_id)
    await accounts.grant_role(user_id, (await event_by_slug(slug))["id"], role)
    return user_id


async def _open_call(client, slug: str) -> None:
    at = datetime.now(UTC)
    call = await client.put(
        f"/api/events/{slug}/call",
        json={
            "opens_at": (at - timedelta(days=1)).isoformat(),
            "closes_at": (at + timedelta(days=30)).isoformat(),
            "open_to_all": True,
        },
    )
    assert call.status_code == 200, call.text


async def _events(client) -> dict:
    """Event mm, whose start-up Padily meets Lion Ventures' investor; event beta with a call open
    to all, organised by Mallory alone (signed in at the end)."""
    await signed_in_admin(client)
    await make_event(client, "mm")
    padily = await _org("startup", **PADILY)
    lion = await _org("investor", name="Lion Ventures", country="SG")
    await _person("sam@padily.example", Role.startup, padily, "mm")
    await _person("ines@lion.example", Role.investor, lion, "mm")
    await make_event(client, "beta", published=True)
    await _open_call(client, "beta")
    mallory = await make_user("mallory@example.org")
    await accounts.grant_role(mallory, (await event_by_slug("beta"))["id"], Role.organiser)
    client.cookies.clear()
    await sign_in(client, "mallory@example.org")
    return {"padily": padily, "lion": lion}


async def _invited(client, email: str, role: str, organisation: str) -> int:
    """Mallory invites `email` into beta naming `organisation`; the invitee accepts (signed in)."""
    client.cookies.clear()
    await sign_in(client, "mallory@example.org")
    invitation = await client.post(
        "/api/events/beta/invitations",
        json={"email": email, "role": role, "organisation": organisation},
    )
    assert invitation.status_code == 201, invitation.text
    client.cookies.clear()
    token = invitation.json()["url"].rsplit("#", 1)[1]
    accepted = await client.post(
        "/api/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    return accepted.json()["id"]


async def _submitted(client, slug: str, **form) -> dict:
    """The signed-in person applies to `slug` and submits."""
    created = await client.post(f"/api/events/{slug}/applications", json={**FORM, **form})
    assert created.status_code == 201, created.text
    submitted = await client.post(f"/api/events/{slug}/applications/{created.json()['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    return submitted.json()


async def _organisation_of(user_id: int) -> int | None:
    return (await User.select(User.organisation).where(User.id == user_id).first())["organisation"]


async def _startups_mm_shows(client) -> list[tuple]:
    client.cookies.clear()
    await sign_in(client, "ines@lion.example")
    found = await client.get("/api/events/mm/meetings/startups")
    assert found.status_code == 200, found.text
    return [(s["name"], s["one_liner"], s["website"]) for s in found.json()["items"]]


async def test_another_events_organiser_cannot_rewrite_a_start_up_by_inviting_someone_into_it(
    client,
):
    """The reviewer's proof: beta's organiser invites an accomplice as start-up "padily", who
    submits to beta's open call; event mm must still show Padily as Padily."""
    ids = await _events(client)
    accomplice = await _invited(client, "accomplice@example.org", "startup", "padily")
    assert await _organisation_of(accomplice) != ids["padily"]
    scam = await _submitted(
        client,
        "beta",
        company_name="Padily (SCAM - wire funds to x)",
        one_liner="Wire funds to x",
        website="https://evil.example",
    )
    assert scam["organisation_id"] != ids["padily"]
    padily = await Organisation.select().where(Organisation.id == ids["padily"]).first()
    assert {key: padily[key] for key in PADILY} == PADILY
    assert await _startups_mm_shows(client) == [
        ("Padily", PADILY["description"], PADILY["website"])
    ]


async def test_an_investor_invited_by_another_events_firm_name_gets_a_firm_of_their_own(client):
    ids = await _events(client)
    investor = await _invited(client, "fake@example.org", "investor", "LION VENTURES")
    firm = await _organisation_of(investor)
    assert firm is not None and firm != ids["lion"]
    profile = await client.get("/api/events/beta/meetings/investor-profile")
    assert profile.status_code == 200 and profile.json()["firm_name"] == "LION VENTURES"


async def test_a_member_applying_elsewhere_keeps_the_start_up_other_events_show(client):
    """Sam belongs to Padily, which meets investors in mm: Sam's application to beta is made for
    Padily, but its form (another name, another site) stays the application's own."""
    ids = await _events(client)
    client.cookies.clear()
    await sign_in(client, "sam@padily.example")
    application = await _submitted(
        client,
        "beta",
        company_name="Padily Global",
        one_liner="Rice, now everywhere",
        website="https://padily-global.example",
    )
    assert application["organisation_id"] == ids["padily"]
    assert application["company_name"] == "Padily Global"
    padily = await Organisation.select().where(Organisation.id == ids["padily"]).first()
    assert {key: padily[key] for key in PADILY} == PADILY
    assert await _startups_mm_shows(client) == [
        ("Padily", PADILY["description"], PADILY["website"])
    ]


async def test_a_start_up_that_is_the_invitees_alone_takes_their_forms_facts(client):
    """Invited as start-up "Newco" (made for them, with a name only), the founder's submitted
    form fills in their own organisation."""
    await _events(client)
    founder = await _invited(client, "founder@newco.example", "startup", "Newco")
    newco = await _organisation_of(founder)
    application = await _submitted(
        client,
        "beta",
        company_name="Newco Labs",
        one_liner="Cold chain for durians",
        website="https://newco.example",
    )
    assert application["organisation_id"] == newco
    row = await Organisation.select().where(Organisation.id == newco).first()
    assert (row["name"], row["description"], row["website"], row["country"]) == (
        "Newco Labs",
        "Cold chain for durians",
        "https://newco.example",
        "ID",
    )


async def test_a_cofounder_invited_by_name_joins_the_start_up_that_applied_to_this_event(client):
    """Joining by name still works inside one event: the start-up that applied here, whatever
    the case of the name typed. An organisation of that name elsewhere is not it."""
    ids = await _events(client)
    elsewhere = await _org("startup", name="Padi Labs", country="ID")
    founder = await make_user("sari@padi.example")
    client.cookies.clear()
    await sign_in(client, "sari@padi.example")
    application = await _submitted(client, "beta", company_name="Padi Labs", one_liner="Soil data")
    assert application["organisation_id"] not in {elsewhere, ids["padily"]}
    assert await _organisation_of(founder) == application["organisation_id"]
    cofounder = await _invited(client, "budi@padi.example", "startup", "PADI LABS")
    assert await _organisation_of(cofounder) == application["organisation_id"]


async def test_an_application_to_a_second_event_leaves_the_start_up_the_first_one_knows(client):
    """Sari holds no role anywhere, but her start-up applied to beta: gamma's form, with other
    facts, stays gamma's application's own (beta's rows rely on the organisation, whichever
    table they are in)."""
    await _events(client)
    client.cookies.clear()
    await sign_in(client, "admin@example.org")
    await make_event(client, "gamma", published=True)
    await _open_call(client, "gamma")
    founder = await make_user("sari@padi.example")
    client.cookies.clear()
    await sign_in(client, "sari@padi.example")
    first = await _submitted(
        client, "beta", company_name="Padi Labs", one_liner="Soil data", website="https://padi.id"
    )
    row = await Organisation.select().where(Organisation.id == first["organisation_id"]).first()
    facts = (row["name"], row["description"], row["website"])
    assert facts == ("Padi Labs", "Soil data", "https://padi.id")
    assert await accounts.my_events(founder) == []
    second = await _submitted(
        client, "gamma", company_name="Padi Renamed", one_liner="Other", website="https://x.id"
    )
    assert second["organisation_id"] == first["organisation_id"]
    row = await Organisation.select().where(Organisation.id == first["organisation_id"]).first()
    assert (row["name"], row["description"], row["website"]) == facts
