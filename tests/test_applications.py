"""Start-up applications: the call, nominations with caps, the form, states, decisions, links."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventapp.accounts.schemas import Role
from eventapp.applications import service
from eventapp.applications.schemas import ApplicationFields, CallIn, IncubatorIn, NominationCodeIn
from eventapp.applications.states import TRANSITIONS, State
from eventapp.applications.tables import (
    Application,
    ApplicationStateChange,
    NominationCode,
)
from eventapp.errors import Conflict
from eventapp.events.service import event_by_slug
from eventapp.mail.tables import OutboxMessage
from tests.helpers import make_event, make_user, sign_in, signed_in_admin, user_with_role

COMPLETE = {
    "company_name": "Padi Labs",
    "country": "ID",
    "sectors": ["Agritech"],
    "stage": "seed",
    "year_founded": 2022,
    "team_size": 8,
    "women_led": True,
    "founders": [{"name": "Sari Wulandari", "role": "CEO"}],
    "one_liner": "Satellite soil data that tells smallholders when to plant.",
    "description": "We sell soil moisture forecasts to rice cooperatives.",
    "traction": "40 cooperatives, USD 12k MRR",
    "funding_sought_usd": 750_000,
    "website": "https://padi.example",
    "deck_url": "https://padi.example/deck.pdf",
}


def open_window(**extra) -> dict:
    at = datetime.now(UTC)
    return {
        "opens_at": (at - timedelta(days=1)).isoformat(),
        "closes_at": (at + timedelta(days=30)).isoformat(),
        **extra,
    }


async def organiser_event(client, slug="asean", **call) -> dict:
    """An event with an open call (by nomination unless `open_to_all`), organiser signed in."""
    await signed_in_admin(client)
    event = await make_event(client, slug)
    await client.patch(f"/api/events/{slug}", json={"published": True})
    response = await client.put(f"/api/events/{slug}/call", json=open_window(**call))
    assert response.status_code == 200, response.text
    return event


async def incubator_code(client, slug="asean", cap=5, name="Block71 Jakarta") -> dict:
    incubator = await client.post(
        f"/api/events/{slug}/incubators",
        json={"name": name, "country": "ID", "contact_name": "Rina", "contact_email": "r@b71.id"},
    )
    assert incubator.status_code == 201, incubator.text
    code = await client.post(
        f"/api/events/{slug}/nomination-codes",
        json={"incubator_id": incubator.json()["id"], "cap": cap},
    )
    assert code.status_code == 201, code.text
    return code.json()


async def as_applicant(client, email="sari@padi.example") -> int:
    client.cookies.clear()
    user_id = await make_user(email)
    await sign_in(client, email)
    return user_id


# --------------------------------------------------------------------------------------------------
# The states


async def test_every_transition_of_the_table_is_allowed_and_every_other_refused_naming_both(
    client,
):
    await signed_in_admin(client)
    event = await make_event(client, "states")
    moves = list(product(State, State))
    rows = await Application.insert(
        *(Application(event=event["id"], state=from_state.value) for from_state, _ in moves)
    ).run()
    for (from_state, to_state), row in zip(moves, rows, strict=True):
        if to_state in TRANSITIONS[from_state]:
            moved = await service.transition(event["id"], row["id"], to_state, None)
            assert moved["state"] == to_state
            log = await ApplicationStateChange.select().where(
                ApplicationStateChange.application == row["id"]
            )
            assert [(e["from_state"], e["to_state"]) for e in log] == [(from_state, to_state)]
        else:
            with pytest.raises(Conflict) as refused:
                await service.transition(event["id"], row["id"], to_state, None)
            assert refused.value.reason == "invalid_transition"
            assert (refused.value.extra["from_state"], refused.value.extra["to_state"]) == (
                from_state,
                to_state,
            )
            assert (
                from_state.value in refused.value.detail and to_state.value in refused.value.detail
            )
            still = await Application.select(Application.state).where(Application.id == row["id"])
            assert still[0]["state"] == from_state


def test_the_table_names_the_pretalx_states_and_decided_ones_cannot_be_withdrawn():
    assert {s.value for s in State} == {
        "draft",
        "submitted",
        "withdrawn",
        "accepted",
        "waitlisted",
        "rejected",
        "confirmed",
        "declined",
    }
    assert State.withdrawn not in TRANSITIONS[State.accepted]
    assert State.withdrawn not in TRANSITIONS[State.rejected]
    assert TRANSITIONS[State.withdrawn] == TRANSITIONS[State.declined] == frozenset()


# --------------------------------------------------------------------------------------------------
# Nominations and their caps


async def test_concurrent_applications_through_one_code_never_exceed_its_cap(client, app):
    """20 start-ups race through a code capped at 5: exactly 5 get in, on either engine."""
    await organiser_event(client)
    event = await event_by_slug("asean")
    code = await incubator_code(client, cap=5)
    owners = [await make_user(f"founder{i}@race.example") for i in range(20)]
    results = await asyncio.gather(
        *(
            service.create_application(
                event["id"],
                owner,
                ApplicationFields(company_name=f"Race {i}"),
                nomination_code=code["code"],
                secret=app.state.secret,
            )
            for i, owner in enumerate(owners)
        ),
        return_exceptions=True,
    )
    made = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(made) == 5 and len(refused) == 15, results
    assert {r.reason for r in refused} == {"nomination_cap_reached"}
    assert await Application.count().where(Application.nominated_by == code["id"]) == 5
    used = await NominationCode.select(NominationCode.used).where(NominationCode.id == code["id"])
    assert used[0]["used"] == 5


async def test_concurrent_http_applications_through_one_code_never_exceed_its_cap(client, app):
    await organiser_event(client)
    code = await incubator_code(client, cap=3)
    tokens = []
    for i in range(10):
        await make_user(f"http{i}@race.example")
        response = await client.post(
            "/api/auth/tokens",
            json={"email": f"http{i}@race.example", "password": "correct horse battery staple"},
        )
        tokens.append(response.json()["token"])
    client.cookies.clear()

    async def apply(token: str):
        return await client.post(
            "/api/events/asean/applications",
            json={"company_name": "Race", "nomination_code": code["code"]},
            headers={"Authorization": f"Bearer {token}"},
        )

    responses = await asyncio.gather(*(apply(token) for token in tokens))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 3 + [409] * 7, [r.text for r in responses]
    assert {r.json()["reason"] for r in responses if r.status_code == 409} == {
        "nomination_cap_reached"
    }


async def test_a_nomination_marks_the_application_and_a_withdrawal_gives_the_place_back(client):
    await organiser_event(client)
    code = await incubator_code(client, cap=1)
    await as_applicant(client)
    check = await client.post(
        "/api/events/asean/nomination-codes/check", json={"code": code["code"]}
    )
    assert check.json() == {
        "incubator_name": "Block71 Jakarta",
        "incubator_country": "ID",
        "remaining": 1,
    }
    created = await client.post(
        "/api/events/asean/applications", json={**COMPLETE, "nomination_code": code["code"]}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["nominated"] and body["incubator_name"] == "Block71 Jakarta"
    assert body["incubator_id"] == code["incubator_id"] and body["state"] == "draft"
    assert body["contact_email"] == "sari@padi.example"  # the account's, when none is given

    await as_applicant(client, "other@startup.example")
    full = await client.post(
        "/api/events/asean/applications",
        json={"company_name": "Late", "nomination_code": code["code"]},
    )
    assert (full.status_code, full.json()["reason"]) == (409, "nomination_cap_reached")

    client.cookies.clear()
    await sign_in(client, "sari@padi.example")
    withdrawn = await client.post(f"/api/events/asean/applications/{body['id']}/withdraw")
    assert withdrawn.json()["state"] == "withdrawn"
    client.cookies.clear()
    await sign_in(client, "other@startup.example")
    again = await client.post(
        "/api/events/asean/applications",
        json={"company_name": "Late", "nomination_code": code["code"]},
    )
    assert again.status_code == 201, again.text


async def test_a_closed_call_needs_a_code_and_refuses_unknown_or_revoked_ones(client):
    await organiser_event(client)
    code = await incubator_code(client)
    await as_applicant(client)
    url = "/api/events/asean/applications"
    none = await client.post(url, json={"company_name": "X"})
    assert (none.status_code, none.json()["reason"]) == (403, "nomination_required")
    wrong = await client.post(url, json={"company_name": "X", "nomination_code": "not-a-code"})
    assert (wrong.status_code, wrong.json()["reason"]) == (404, "code_unknown")
    client.cookies.clear()
    await sign_in(client, "admin@example.org")
    revoked = await client.post(f"/api/events/asean/nomination-codes/{code['id']}/revoke")
    assert revoked.json()["revoked_at"] is not None
    await as_applicant(client, "two@startup.example")
    gone = await client.post(url, json={"company_name": "X", "nomination_code": code["code"]})
    assert (gone.status_code, gone.json()["reason"]) == (410, "code_revoked")


async def test_organisers_list_incubators_and_codes_but_never_see_a_code_again(client):
    await organiser_event(client)
    code = await incubator_code(client, cap=4)
    assert re.fullmatch(r"http://testserver\.local/apply\.html\?event=asean#code=\S+", code["link"])
    codes = (await client.get("/api/events/asean/nomination-codes")).json()
    assert codes["total"] == 1 and "code" not in codes["items"][0]
    assert codes["items"][0]["hint"] == code["code"][:4] and codes["items"][0]["cap"] == 4
    incubators = (await client.get("/api/events/asean/incubators", params={"q": "block"})).json()
    assert [i["name"] for i in incubators["items"]] == ["Block71 Jakarta"]


async def test_an_open_call_takes_applications_without_a_code(client):
    await organiser_event(client, open_to_all=True)
    await as_applicant(client)
    created = await client.post("/api/events/asean/applications", json={"company_name": "Solo"})
    assert created.status_code == 201 and not created.json()["nominated"]
    twice = await client.post("/api/events/asean/applications", json={"company_name": "Again"})
    assert (twice.status_code, twice.json()["reason"]) == (409, "already_applied")


# --------------------------------------------------------------------------------------------------
# The form, the window, submission


async def test_the_call_offers_the_ten_asean_countries_first_and_the_event_sectors(client):
    await organiser_event(client, sectors=["Fintech", "Agritech"])
    client.cookies.clear()
    call = (await client.get("/api/events/asean/call")).json()
    assert [c["code"] for c in call["countries"][:10]] == [
        "BN",
        "KH",
        "ID",
        "LA",
        "MY",
        "MM",
        "PH",
        "SG",
        "TH",
        "VN",
    ]
    assert len(call["countries"]) > 240 and call["sectors"] == ["Fintech", "Agritech"]
    assert call["is_open"] and "women" in call["women_led_definition"]


async def test_bad_fields_are_refused_with_a_reason_per_field(client):
    await organiser_event(client, open_to_all=True)
    await as_applicant(client)
    url = "/api/events/asean/applications"
    sector = await client.post(url, json={"sectors": ["Space mining"]})
    assert sector.status_code == 409 and sector.json()["reason"] == "sector_not_offered"
    assert sector.json()["errors"][0]["key"] == "sectors"
    country = await client.post(url, json={"country": "XX"})
    assert country.status_code == 400 and "country" in country.json()["errors"][0]["key"]
    long = await client.post(url, json={"one_liner": "x" * 141})
    assert long.status_code == 400 and "one_liner" in long.text
    assert await Application.count() == 0


async def test_a_draft_is_saved_in_parts_and_submitted_only_when_complete(client):
    await organiser_event(client, open_to_all=True)
    await as_applicant(client)
    draft = (
        await client.post("/api/events/asean/applications", json={"company_name": "Padi"})
    ).json()
    url = f"/api/events/asean/applications/{draft['id']}"
    early = await client.post(f"{url}/submit")
    assert early.status_code == 409 and early.json()["reason"] == "incomplete"
    assert {e["key"] for e in early.json()["errors"]} >= {"country", "sectors", "founders"}
    saved = await client.patch(url, json={"country": "ID", "sectors": ["Agritech"]})
    assert saved.json()["country"] == "ID" and saved.json()["company_name"] == "Padi"
    await client.patch(url, json=COMPLETE)
    submitted = await client.post(f"{url}/submit")
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert body["state"] == "submitted" and body["submitted_at"] and body["organisation_id"]
    mine = (await client.get("/api/events/asean/applications/mine")).json()
    assert mine["id"] == draft["id"] and mine["pending_decision"] is None
    emptied = await client.patch(url, json={"description": None})
    assert (emptied.status_code, emptied.json()["reason"]) == (409, "incomplete")


async def test_submission_outside_the_window_is_a_409_with_the_reason(client):
    await organiser_event(client, open_to_all=True)
    await as_applicant(client)
    draft = (await client.post("/api/events/asean/applications", json=COMPLETE)).json()
    client.cookies.clear()
    await sign_in(client, "admin@example.org")
    past = datetime.now(UTC) - timedelta(days=2)
    await client.put(
        "/api/events/asean/call",
        json={
            "opens_at": (past - timedelta(days=5)).isoformat(),
            "closes_at": past.isoformat(),
            "open_to_all": True,
        },
    )
    client.cookies.clear()
    await sign_in(client, "sari@padi.example")
    late = await client.post(f"/api/events/asean/applications/{draft['id']}/submit")
    assert (late.status_code, late.json()["reason"]) == (409, "window_closed")
    client.cookies.clear()
    await sign_in(client, "admin@example.org")
    future = datetime.now(UTC) + timedelta(days=2)
    await client.put(
        "/api/events/asean/call",
        json={"opens_at": future.isoformat(), "open_to_all": True},
    )
    client.cookies.clear()
    await sign_in(client, "sari@padi.example")
    early = await client.post(f"/api/events/asean/applications/{draft['id']}/submit")
    assert (early.status_code, early.json()["reason"]) == (409, "window_not_open")


async def test_nobody_else_can_touch_an_application(client):
    await organiser_event(client, open_to_all=True)
    await as_applicant(client)
    draft = (await client.post("/api/events/asean/applications", json=COMPLETE)).json()
    await as_applicant(client, "mallory@example.org")
    url = f"/api/events/asean/applications/{draft['id']}"
    assert (await client.patch(url, json={"company_name": "Mine"})).status_code == 404
    assert (await client.post(f"{url}/withdraw")).status_code == 404
    assert (await client.get(url)).status_code == 403  # the organisers' view


# --------------------------------------------------------------------------------------------------
# Decisions


async def test_pending_decisions_are_secret_until_released_together_with_the_mails(client):
    await organiser_event(client, open_to_all=True)
    ids = {}
    for name in ("alpha", "beta", "gamma"):
        await as_applicant(client, f"{name}@startup.example")
        draft = await client.post(
            "/api/events/asean/applications", json={**COMPLETE, "company_name": name.title()}
        )
        await client.post(f"/api/events/asean/applications/{draft.json()['id']}/submit")
        ids[name] = draft.json()["id"]
    client.cookies.clear()
    await sign_in(client, "admin@example.org")
    for name, decision in (("alpha", "accepted"), ("beta", "waitlisted"), ("gamma", "rejected")):
        response = await client.put(
            f"/api/events/asean/applications/{ids[name]}/decision", json={"decision": decision}
        )
        assert response.json()["pending_decision"] == decision
        assert response.json()["state"] == "submitted"
    assert await OutboxMessage.count().where(OutboxMessage.kind == "application_decision") == 0
    client.cookies.clear()
    await sign_in(client, "alpha@startup.example")
    assert (await client.get("/api/events/asean/applications/mine")).json()["state"] == "submitted"
    assert (await client.get("/api/events/asean/applications/mine")).json()[
        "pending_decision"
    ] is None

    client.cookies.clear()
    await sign_in(client, "admin@example.org")
    released = await client.post("/api/events/asean/applications/release")
    assert released.json() == {"released": 3}
    listed = (await client.get("/api/events/asean/applications", params={"limit": 10})).json()
    assert {a["company_name"]: a["state"] for a in listed["items"]} == {
        "Alpha": "accepted",
        "Beta": "waitlisted",
        "Gamma": "rejected",
    }
    assert all(a["pending_decision"] is None for a in listed["items"])
    mails = await OutboxMessage.select(OutboxMessage.to_address, OutboxMessage.subject).where(
        OutboxMessage.kind == "application_decision"
    )
    assert {m["to_address"] for m in mails} == {f"{n}@startup.example" for n in ids}
    assert any("selected" in m["subject"] for m in mails)
    history = (await client.get(f"/api/events/asean/applications/{ids['alpha']}/history")).json()
    assert [(h["from_state"], h["to_state"]) for h in history["items"]] == [
        (None, "draft"),
        ("draft", "submitted"),
        ("submitted", "accepted"),
    ]
    assert history["items"][-1]["actor_name"] == "Admin"
    assert (await client.post("/api/events/asean/applications/release")).json() == {"released": 0}

    client.cookies.clear()
    await sign_in(client, "alpha@startup.example")
    confirmed = await client.post(f"/api/events/asean/applications/{ids['alpha']}/confirm")
    assert confirmed.json()["state"] == "confirmed"
    client.cookies.clear()
    await sign_in(client, "gamma@startup.example")
    refused = await client.post(f"/api/events/asean/applications/{ids['gamma']}/confirm")
    assert refused.status_code == 409 and refused.json()["reason"] == "invalid_transition"
    assert "rejected" in refused.json()["detail"] and "confirmed" in refused.json()["detail"]
    event = await event_by_slug("asean")
    selected = await service.selected_startups(event["id"])
    assert [s["name"] for s in selected] == ["Alpha"]
    assert set(selected[0]) == {
        "organisation_id",
        "name",
        "country",
        "one_liner",
        "sectors",
        "stage",
        "funding_sought_usd",
        "women_led",
        "logo_url",
        "website",
    }
    facts = await service.candidates_facts(event["id"])
    assert {f["state"] for f in facts} == {"confirmed", "waitlisted", "rejected"}
    assert set(facts[0]) >= {"id", "country", "sectors", "incubator_id", "women_led", "state"}


async def test_a_decision_must_be_a_move_the_table_allows(client):
    await organiser_event(client, open_to_all=True)
    await as_applicant(client)
    draft = (await client.post("/api/events/asean/applications", json=COMPLETE)).json()
    client.cookies.clear()
    await sign_in(client, "admin@example.org")
    refused = await client.put(
        f"/api/events/asean/applications/{draft['id']}/decision", json={"decision": "accepted"}
    )
    assert (refused.status_code, refused.json()["reason"]) == (409, "invalid_transition")


async def test_a_decision_for_an_application_withdrawn_since_is_dropped_at_release(client):
    await organiser_event(client, open_to_all=True)
    await as_applicant(client)
    draft = (await client.post("/api/events/asean/applications", json=COMPLETE)).json()
    await client.post(f"/api/events/asean/applications/{draft['id']}/submit")
    client.cookies.clear()
    await sign_in(client, "admin@example.org")
    await client.put(
        f"/api/events/asean/applications/{draft['id']}/decision", json={"decision": "accepted"}
    )
    client.cookies.clear()
    await sign_in(client, "sari@padi.example")
    await client.post(f"/api/events/asean/applications/{draft['id']}/withdraw")
    client.cookies.clear()
    await sign_in(client, "admin@example.org")
    assert (await client.post("/api/events/asean/applications/release")).json() == {"released": 0}
    assert await OutboxMessage.count().where(OutboxMessage.kind == "application_decision") == 0


# --------------------------------------------------------------------------------------------------
# Without an account: the mailed link


def _link_token(text_body: str) -> str:
    return re.search(r"#resume=(\S+)", text_body).group(1)


async def test_a_draft_started_without_an_account_is_resumed_by_the_mailed_link(client):
    await organiser_event(client)
    code = await incubator_code(client)
    client.cookies.clear()
    started = await client.post(
        "/api/events/asean/applications/start",
        json={
            "contact_email": "Nam@Startup.example",
            "company_name": "Nam Robotics",
            "nomination_code": code["code"],
        },
    )
    assert started.status_code == 202, started.text
    mail = await OutboxMessage.select().where(OutboxMessage.kind == "application_link").first()
    assert mail["to_address"] == "nam@startup.example" and mail["secret"]
    token = _link_token(mail["text_body"])
    resumed = await client.post("/api/events/asean/applications/resume", json={"token": token})
    assert resumed.status_code == 200, resumed.text
    mine = (await client.get("/api/events/asean/applications/mine")).json()
    assert mine["company_name"] == "Nam Robotics" and mine["nominated"]
    reused = await client.post("/api/events/asean/applications/resume", json={"token": token})
    assert reused.status_code == 410

    client.cookies.clear()
    asked = await client.post(
        "/api/events/asean/applications/resume-link", json={"email": "nam@startup.example"}
    )
    assert asked.status_code == 202
    for _ in range(50):
        if await OutboxMessage.count().where(OutboxMessage.kind == "application_link") == 2:
            break
        await asyncio.sleep(0.02)
    assert await OutboxMessage.count().where(OutboxMessage.kind == "application_link") == 2
    unknown = await client.post(
        "/api/events/asean/applications/resume-link", json={"email": "nobody@example.org"}
    )
    assert unknown.status_code == 202 and unknown.json() == asked.json()


async def test_starting_without_an_account_on_a_closed_call_makes_no_account(client):
    await organiser_event(client)
    client.cookies.clear()
    refused = await client.post(
        "/api/events/asean/applications/start",
        json={"contact_email": "x@startup.example", "company_name": "X"},
    )
    assert (refused.status_code, refused.json()["reason"]) == (403, "nomination_required")
    from eventapp.accounts.tables import User

    assert not await User.exists().where(User.email == "x@startup.example")


# --------------------------------------------------------------------------------------------------
# CSV import


CSV_OK = """company_name,contact_email,country,sectors,one_liner,website,women_led
Kopi Cloud,ana@kopi.example,ID,Agritech;Fintech,Coffee farm finance,https://kopi.example,yes
Mekong Move,bao@mekong.example,VN,Logistics,Last-mile vans,,no
"""


async def test_a_spreadsheet_of_nominations_imports_whole_or_not_at_all(client):
    await organiser_event(client)
    code = await incubator_code(client, cap=3)
    bad = (
        CSV_OK
        + "Bad One,not-an-email,XX,Space,ok,ftp://x,maybe\n"
        + "Dup,ana@kopi.example,SG,,,,\n"
    )
    refused = await client.post(
        "/api/events/asean/nominations/import", json={"code_id": code["id"], "csv": bad}
    )
    assert refused.status_code == 409 and refused.json()["reason"] == "import_refused"
    rows = {r["row"]: r["reasons"] for r in refused.json()["rows"]}
    assert set(rows) == {4, 5}
    assert any("contact_email" in r for r in rows[4]) and any("country" in r for r in rows[4])
    assert any("sectors" in r for r in rows[4]) and any("women_led" in r for r in rows[4])
    assert any("repeats row 2" in r for r in rows[5])
    assert await Application.count() == 0 and await OutboxMessage.count() == 0

    imported = await client.post(
        "/api/events/asean/nominations/import", json={"code_id": code["id"], "csv": CSV_OK}
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["imported"] == 2
    listed = (await client.get("/api/events/asean/applications")).json()["items"]
    assert {(a["company_name"], a["state"], a["nominated"]) for a in listed} == {
        ("Kopi Cloud", "draft", True),
        ("Mekong Move", "draft", True),
    }
    assert await OutboxMessage.count().where(OutboxMessage.kind == "application_link") == 2

    over = "company_name,contact_email,country\nA,a@x.example,SG\nB,b@x.example,SG\n"
    capped = await client.post(
        "/api/events/asean/nominations/import", json={"code_id": code["id"], "csv": over}
    )
    assert capped.status_code == 409
    assert "allows 1 more" in capped.json()["rows"][0]["reasons"][0]
    missing = await client.post(
        "/api/events/asean/nominations/import",
        json={"code_id": code["id"], "csv": "name,email\nA,a@x.example\n"},
    )
    assert missing.json()["rows"][0]["row"] == 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_parses_into_rows_and_refusals_without_crashing(text):
    call = {"sectors": ["Fintech"]}
    good, refused = service.parse_nominations_csv(text, call)
    assert {r["row"] for r in good}.isdisjoint({r["row"] for r in refused})
    for row in good:
        assert row["company_name"] and "@" in row["contact_email"] and len(row["country"]) == 2


# --------------------------------------------------------------------------------------------------
# The organiser setup through the service (what the demo and part B use)


async def test_incubators_and_codes_through_the_service(client, app):
    await signed_in_admin(client)
    event = await make_event(client, "svc")
    await service.set_call(event["id"], CallIn(open_to_all=False))
    incubator = await service.register_incubator(
        event["id"], IncubatorIn(name="MaGIC", country="MY")
    )
    row, code = await service.create_nomination_code(
        event["id"], NominationCodeIn(incubator_id=incubator["id"], cap=2), None, app.state.secret
    )
    assert row["cap"] == 2 and row["used"] == 0 and len(code) == 16
    user = await user_with_role("svc", "r@example.org", Role.reviewer)
    made = await service.create_application(
        event["id"], user, ApplicationFields(), nomination_code=code, secret=app.state.secret
    )
    assert made["incubator_id"] == incubator["id"]
    rows, total = await service.list_applications(event["id"], page=_page(), state="draft")
    assert total == 1 and rows[0]["id"] == made["id"]


def _page():
    from eventapp.pagination import PageRequest

    return PageRequest()


# --------------------------------------------------------------------------------------------------
# The demo


async def test_the_demo_adds_150_nominated_applications_from_all_ten_countries(client):
    from eventapp.applications.demo import build_applications
    from eventapp.demo import DEMO_SLUG, seed_demo

    assert build_applications() == build_applications()
    await seed_demo(progress=lambda _: None)
    await seed_demo(progress=lambda _: None)  # a second run adds nothing
    event = await event_by_slug(DEMO_SLUG)
    facts = await service.candidates_facts(event["id"])
    assert len(facts) == 150 and {f["state"] for f in facts} == {"submitted"}
    assert len({f["country"] for f in facts}) == 10
    assert all(f["incubator_id"] and f["sectors"] for f in facts)
    assert 20 <= sum(f["women_led"] for f in facts) <= 70
    codes = await NominationCode.select().where(NominationCode.event == event["id"])
    assert all(code["used"] <= code["cap"] for code in codes)
    assert sum(code["used"] for code in codes) == 150
    call = await service.get_call(event["id"])
    assert service.window_refusal(call, datetime.now(UTC)) is None
    rows, total = await service.list_applications(event["id"], _page(), "submitted")
    assert total == 150 and all(not service.missing_fields(row) for row in rows)


# --------------------------------------------------------------------------------------------------
# Invariants under races and random paths


async def test_racing_changes_to_one_application_let_exactly_one_through(client):
    """A start-up withdrawing while organisers decide: one change wins, the rest are 409s."""
    await signed_in_admin(client)
    event = await make_event(client, "race")
    row = (await Application.insert(Application(event=event["id"], state="submitted")).run())[0]
    targets = [State.withdrawn, State.accepted, State.rejected, State.waitlisted] * 5
    results = await asyncio.gather(
        *(service.transition(event["id"], row["id"], to, None) for to in targets),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, dict)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) + len(losers) == len(targets), results
    log = await ApplicationStateChange.select().where(
        ApplicationStateChange.application == row["id"]
    )
    final = (await Application.select(Application.state).where(Application.id == row["id"]))[0]
    # Every logged move was allowed from the state before it, and they chain to the final state.
    state = "submitted"
    for entry in log:
        assert (
            entry["from_state"] == state and State(entry["to_state"]) in TRANSITIONS[State(state)]
        )
        state = entry["to_state"]
    assert state == final["state"] and len(log) == len(winners) >= 1


moves = st.lists(st.sampled_from(list(State)), max_size=12)


@given(moves)
def test_any_path_through_the_table_ends_where_its_allowed_moves_lead(path):
    """Following only allowed moves from a draft, a decided application is never withdrawn,
    and nothing leaves withdrawn or declined."""
    state = State.draft
    for target in path:
        if target not in TRANSITIONS[state]:
            continue
        if target == State.withdrawn:
            assert state in (State.draft, State.submitted, State.waitlisted)
        assert state not in (State.withdrawn, State.declined)
        state = target


async def test_random_paths_through_the_service_keep_the_log_and_the_state_in_step(client):
    import random

    await signed_in_admin(client)
    event = await make_event(client, "paths")
    rng = random.Random(8)
    for _ in range(12):
        row = (await Application.insert(Application(event=event["id"])).run())[0]
        expected = State.draft
        for _ in range(6):
            target = rng.choice(list(State))
            try:
                await service.transition(event["id"], row["id"], target, None)
            except Conflict:
                assert target not in TRANSITIONS[expected]
            else:
                assert target in TRANSITIONS[expected]
                expected = target
        log = await ApplicationStateChange.select(ApplicationStateChange.to_state).where(
            ApplicationStateChange.application == row["id"]
        )
        final = await Application.select(Application.state).where(Application.id == row["id"])
        assert final[0]["state"] == expected == (log[-1]["to_state"] if log else "draft")


async def test_a_nomination_link_can_be_checked_on_every_reload_but_codes_cannot_be_guessed(
    client,
):
    await organiser_event(client)
    code = await incubator_code(client)
    client.cookies.clear()
    url = "/api/events/asean/nomination-codes/check"
    for _ in range(10):
        assert (await client.post(url, json={"code": code["code"]})).status_code == 200
    answers = [(await client.post(url, json={"code": f"guess-{n}"})).status_code for n in range(60)]
    assert answers[:50] == [404] * 50 and answers[-1] == 429


async def test_an_import_racing_applicants_through_one_code_keeps_its_cap(client, app):
    await organiser_event(client)
    event = await event_by_slug("asean")
    code = await incubator_code(client, cap=4)
    owners = [await make_user(f"racer{i}@race.example") for i in range(4)]
    sheet = "company_name,contact_email,country\nA,a@sheet.example,SG\nB,b@sheet.example,MY\n"
    from eventapp.accounts.service import Mailing

    results = await asyncio.gather(
        service.import_nominations(
            event,
            code["id"],
            sheet,
            secret=app.state.secret,
            mailing=Mailing("http://x", False),
            actor_id=None,
        ),
        *(
            service.create_application(
                event["id"],
                owner,
                ApplicationFields(company_name="Racer"),
                nomination_code=code["code"],
                secret=app.state.secret,
            )
            for owner in owners
        ),
        return_exceptions=True,
    )
    assert all(isinstance(r, (dict, list, Conflict)) for r in results), results
    assert await Application.count().where(Application.nominated_by == code["id"]) <= 4
    used = await NominationCode.select(NominationCode.used).where(NominationCode.id == code["id"])
    assert used[0]["used"] == await Application.count().where(
        Application.nominated_by == code["id"]
    )


async def test_nobody_starts_a_draft_in_a_real_accounts_name_or_gets_it_a_long_link(client):
    """An address with a password (here the administrator's) gets the usual 15-minute sign-in
    link, and no draft is made in its name."""
    await organiser_event(client)
    code = await incubator_code(client)
    client.cookies.clear()
    started = await client.post(
        "/api/events/asean/applications/start",
        json={
            "contact_email": "admin@example.org",
            "company_name": "Not Theirs",
            "nomination_code": code["code"],
        },
    )
    assert started.status_code == 202, started.text
    assert await Application.count().where(Application.company_name == "Not Theirs") == 0
    assert await OutboxMessage.count().where(OutboxMessage.kind == "application_link") == 0
    link = await OutboxMessage.select().where(OutboxMessage.kind == "sign_in_link").first()
    assert link["to_address"] == "admin@example.org" and "15 minutes" in link["text_body"]
