"""The selection board through the API: rules, locks, the optimiser's proposal with its
explanations and balance, pending decisions and their release, and a replacement after a
start-up declines."""

from __future__ import annotations

import pytest

from eventapp.accounts.schemas import Role
from eventapp.applications import service as applications
from eventapp.applications.tables import Application
from eventapp.review.tables import Review
from tests.helpers import make_event, sign_in, signed_in_admin, user_with_role

BASE = "/api/events/showcase/selection"
CRITERIA = ("team", "problem_market", "innovation", "traction", "investor_fit")


@pytest.fixture
async def board(client):
    """Eight reviewed applications scored 5.0 down to 1.5, two per country (SG, VN, TH, ID),
    the sixth women-led; four places, one per country, at least one women-led."""
    await signed_in_admin(client)
    event = await make_event(client, "showcase")
    judge = await user_with_role("showcase", "judge@example.org", Role.reviewer)
    rows = await Application.insert(
        *(
            Application(
                event=event["id"],
                state="submitted",
                company_name=f"Startup {i}",
                country=["SG", "VN", "TH", "ID"][i // 2],
                sectors=[["ai", "fintech"][i % 2]],
                women_led=i == 5,
                contact_email=f"founder{i}@example.org",
            )
            for i in range(8)
        )
    ).run()
    ids = [row["id"] for row in rows]
    for i, application in enumerate(ids):
        score = 5 - i * 0.5
        await Review.insert(
            Review(
                event=event["id"],
                application=application,
                reviewer=judge,
                scores=dict.fromkeys(CRITERIA, score),
            )
        ).run()
    rules = {
        "size": 4,
        "min_women_led": 1,
        "min_per_country": 0,
        "max_per_country": 1,
        "max_per_sector": None,
        "max_per_incubator": None,
        "min_countries": 4,
    }
    response = await client.put(f"{BASE}/rules", json=rules)
    assert response.status_code == 200, response.text
    return {"event": event, "ids": ids, "rules": rules}


async def test_the_showcase_rules_are_the_default(client):
    await signed_in_admin(client)
    await make_event(client, "showcase")
    rules = (await client.get(f"{BASE}/rules")).json()
    assert rules == {
        "size": 32,
        "min_women_led": 7,
        "min_per_country": 1,
        "max_per_country": 5,
        "max_per_sector": 6,
        "max_per_incubator": 3,
        "min_countries": 0,
    }


async def test_the_optimiser_proposes_the_best_set_keeping_every_rule(client, board):
    ids = board["ids"]
    response = await client.post(f"{BASE}/run")
    assert response.status_code == 200, response.text
    proposal = response.json()
    assert proposal["optimal"] is True
    # One per country; the women-led minimum pulls in the sixth over Thailand's best.
    assert proposal["selected"] == [ids[0], ids[2], ids[5], ids[6]]
    assert proposal["balance"]["by_country"] == {"ID": 1, "SG": 1, "TH": 1, "VN": 1}
    assert proposal["balance"]["women_led"] == 1
    assert proposal["waitlist"] == [ids[1], ids[3], ids[7]]
    assert proposal["balance"]["total"] == 4
    rows = (await client.get(f"{BASE}/board")).json()["items"]
    assert [row["rank"] for row in rows] == list(range(1, 9))
    assert all(row["explanation"] for row in rows)
    first = rows[0]
    assert first["proposed"] == "selected"
    assert first["explanation"].startswith("in: rank 1")
    outs = [row for row in rows if row["proposed"] != "selected"]
    assert any("country cap" in row["explanation"] for row in outs)
    assert "women-led" in next(r for r in rows if r["id"] == ids[5])["explanation"]
    # The same proposal is there for the next organiser.
    assert (await client.get(f"{BASE}/proposal")).json()["selected"] == proposal["selected"]


async def test_locks_hold_in_and_out(client, board):
    ids = board["ids"]
    best = ids[0]
    assert (await client.put(f"{BASE}/locks/{best}", json={"lock": "exclude"})).status_code == 200
    response = await client.put(f"{BASE}/locks/{ids[1]}", json={"lock": "include"})
    assert response.status_code == 200
    proposal = (await client.post(f"{BASE}/run")).json()
    assert best not in proposal["selected"] and ids[1] in proposal["selected"]
    rows = {row["id"]: row for row in (await client.get(f"{BASE}/board")).json()["items"]}
    assert rows[best]["lock"] == "exclude"
    assert "excluded by the organiser" in rows[best]["explanation"]
    assert "locked in" in rows[ids[1]]["explanation"]
    await client.put(f"{BASE}/locks/{best}", json={"lock": None})
    await client.put(f"{BASE}/locks/{ids[1]}", json={"lock": None})
    assert best in (await client.post(f"{BASE}/run")).json()["selected"]


async def test_an_impossible_rule_set_names_the_rule(client, board):
    await client.put(f"{BASE}/rules", json={**board["rules"], "min_women_led": 3})
    response = await client.post(f"{BASE}/run")
    assert response.status_code == 409
    assert response.json()["reason"] == "selection_infeasible"
    assert response.json()["rule"] == "min_women_led"


async def test_decisions_are_pending_until_released_then_a_decline_gets_a_replacement(
    client, board
):
    event_id, ids = board["event"]["id"], board["ids"]
    assert (await client.post(f"{BASE}/decisions")).json()["reason"] == "no_proposal"
    proposal = (await client.post(f"{BASE}/run")).json()
    counts = (await client.post(f"{BASE}/decisions")).json()
    assert counts == {
        "accepted": 4,
        "waitlisted": len(proposal["waitlist"]),
        "rejected": 4 - len(proposal["waitlist"]),
    }
    states = {
        row["id"]: (row["state"], row["pending_decision"])
        for row in await Application.select(
            Application.id, Application.state, Application.pending_decision
        )
    }
    assert all(state == "submitted" for state, _ in states.values())
    assert {i for i, (_, d) in states.items() if d == "accepted"} == set(proposal["selected"])

    released = await client.post("/api/events/showcase/applications/release")
    assert released.status_code == 200, released.text
    assert released.json()["released"] == 8
    accepted = {
        row["id"]
        for row in await Application.select(Application.id).where(Application.state == "accepted")
    }
    assert accepted == set(proposal["selected"])

    # The Singapore pick declines: the best replacement keeps one per country and a woman-led.
    leaving = ids[0]
    await applications.transition(event_id, leaving, "declined", None)
    response = await client.get(f"{BASE}/replacement/{leaving}")
    assert response.status_code == 200, response.text
    replacement = response.json()
    assert replacement["declined_id"] == leaving
    assert replacement["country"] == "SG"
    assert replacement["replacement_id"] == ids[1]
    assert replacement["explanation"].startswith(f"in for {leaving}")

    # Held in from now on: a new run keeps those told.
    proposal = (await client.post(f"{BASE}/run")).json()
    assert accepted - {leaving} <= set(proposal["selected"])
    assert leaving not in proposal["selected"]


async def test_a_replacement_is_only_for_a_start_up_on_stage(client, board):
    response = await client.get(f"{BASE}/replacement/{board['ids'][0]}")
    assert response.status_code == 409
    assert response.json()["reason"] == "not_selected"


async def test_the_board_is_for_organisers_only(client, board):
    await sign_in(client, "judge@example.org")
    for path in ("/rules", "/board", "/proposal"):
        assert (await client.get(f"{BASE}{path}")).status_code == 403
    assert (await client.post(f"{BASE}/run")).status_code == 403
