"""Review through the API: criteria, assignment, save and next, abstain, anonymity, who sees
which scores, the organisers' figures, the CSV export, and the one-review-per-reviewer rule
under concurrent saves on both engines."""

from __future__ import annotations

import asyncio
import csv
import io

import httpx
import pytest

from eventapp.accounts.schemas import Role
from eventapp.accounts.tables import Organisation, User
from eventapp.applications.tables import Application
from eventapp.review import service
from tests.helpers import make_event, sign_in, signed_in_admin, user_with_role

SCORES = {"team": 5, "problem_market": 4, "innovation": 4, "traction": 3, "investor_fit": 4}


async def make_applications(event_id: int, count: int, **fields) -> list[int]:
    """Submitted applications straight in the table (the applicant's path is tested elsewhere)."""
    rows = await Application.insert(
        *(
            Application(
                event=event_id,
                state="submitted",
                company_name=f"Startup {i}",
                country=["SG", "VN", "TH", "ID"][i % 4],
                sectors=[["ai", "fintech", "agri"][i % 3]],
                one_liner=f"Pitch {i}",
                website=f"https://startup{i}.example",
                women_led=i % 3 == 0,
                **fields,
            )
            for i in range(count)
        )
    ).run()
    return [row["id"] for row in rows]


async def incubator(name: str) -> int:
    rows = await Organisation.insert(Organisation(name=name, kind="incubator", country="SG")).run()
    return rows[0]["id"]


@pytest.fixture
async def event(client):
    await signed_in_admin(client)
    event = await make_event(client, "showcase")
    return event


async def reviewer(email: str, organisation: int | None = None) -> int:
    user_id = await user_with_role("showcase", email, Role.reviewer)
    if organisation is not None:
        await User.update({User.organisation: organisation}).where(User.id == user_id)
    return user_id


BASE = "/api/events/showcase/review"


async def test_the_default_criteria_are_the_five_of_the_call(client, event):
    body = (await client.get(f"{BASE}/settings")).json()
    assert [c["key"] for c in body["criteria"]] == [
        "team",
        "problem_market",
        "innovation",
        "traction",
        "investor_fit",
    ]
    assert body["reviewers_per_application"] == 3
    assert body["anonymised"] is False and body["reviewers_see_scores"] is False


async def test_assignment_gives_k_balanced_reviewers_never_from_the_incubator(client, event):
    nus = await incubator("NUS Enterprise")
    ids = await make_applications(event["id"], 6, incubator=nus)
    ids += await make_applications(event["id"], 6)
    insider = await reviewer("insider@example.org", nus)
    others = [await reviewer(f"r{i}@example.org") for i in range(3)]
    settings = (await client.get(f"{BASE}/settings")).json()
    response = await client.put(
        f"{BASE}/settings", json={**settings, "reviewers_per_application": 2}
    )
    assert response.status_code == 200, response.text

    response = await client.post(f"{BASE}/assignments")
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 24
    loads = {
        r["id"]: r["assigned"] for r in (await client.get(f"{BASE}/reviewers")).json()["items"]
    }
    assert sorted(loads.values()) == [6, 6, 6, 6]
    from eventapp.review.tables import ReviewAssignment

    insiders = await ReviewAssignment.select(ReviewAssignment.application).where(
        ReviewAssignment.reviewer == insider
    )
    assert {row["application"] for row in insiders}.isdisjoint(ids[:6])
    # Again: nothing new, and nobody gets a second copy.
    assert (await client.post(f"{BASE}/assignments")).json()["created"] == 0
    assert set(loads) == {insider, *others}


async def test_nobody_is_assigned_their_own_application_or_their_start_ups(client, event):
    """A reviewer who also applied, or whose company applied, never reviews it (undeclared)."""
    company = (
        await Organisation.insert(Organisation(name="Padily", kind="startup", country="ID")).run()
    )[0]["id"]
    applicant = await reviewer("founder@padily.example")
    colleague = await reviewer("cto@padily.example", company)
    for i in range(2):
        await reviewer(f"r{i}@example.org")
    [own] = await make_applications(event["id"], 1, owner=applicant)
    [theirs] = await make_applications(event["id"], 1, organisation=company)
    rest = await make_applications(event["id"], 4)
    settings = (await client.get(f"{BASE}/settings")).json()
    await client.put(f"{BASE}/settings", json={**settings, "reviewers_per_application": 2})
    assert (await client.post(f"{BASE}/assignments")).status_code == 200
    from eventapp.review.tables import ReviewAssignment

    pairs = {
        (row["application"], row["reviewer"])
        for row in await ReviewAssignment.select(
            ReviewAssignment.application, ReviewAssignment.reviewer
        )
    }
    assert (own, applicant) not in pairs
    assert (theirs, colleague) not in pairs
    assert len(pairs) == 2 * len([own, theirs, *rest])  # everyone else still gets two reviewers


async def test_too_few_allowed_reviewers_is_a_409_naming_the_applications(client, event):
    nus = await incubator("NUS Enterprise")
    ids = await make_applications(event["id"], 2, incubator=nus)
    await reviewer("insider@example.org", nus)
    response = await client.post(f"{BASE}/assignments")
    assert response.status_code == 409
    assert response.json()["reason"] == "not_enough_reviewers"
    assert sorted(response.json()["applications"]) == ids


async def test_save_and_next_serves_the_assigned_application_with_the_fewest_reviews(client, event):
    ids = await make_applications(event["id"], 3)
    alice = await reviewer("alice@example.org")
    bob = await reviewer("bob@example.org")
    settings = (await client.get(f"{BASE}/settings")).json()
    await client.put(f"{BASE}/settings", json={**settings, "reviewers_per_application": 2})
    await client.post(f"{BASE}/assignments")
    # Bob has reviewed the first two already: Alice's next is the third (no reviews yet).
    for application in ids[:2]:
        await service.save_review(
            event["id"], bob, application, scores=SCORES, comment="", abstain=False
        )
    await sign_in(client, "alice@example.org")
    first = (await client.get(f"{BASE}/next")).json()
    assert first["next"]["application"]["id"] == ids[2]
    assert first["remaining"] == 3

    response = await client.put(
        f"{BASE}/applications/{ids[2]}/review", json={"scores": SCORES, "comment": "Strong team"}
    )
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["review"]["score"] == pytest.approx(4.0)
    assert saved["next"]["remaining"] == 2
    following = saved["next"]["next"]["application"]["id"]
    assert following in ids[:2]

    # Abstaining counts as done and carries no score.
    response = await client.put(f"{BASE}/applications/{following}/review", json={"abstain": True})
    assert response.status_code == 200, response.text
    assert response.json()["review"]["score"] is None
    queue = (await client.get(f"{BASE}/queue")).json()["items"]
    assert [item["status"] for item in queue] == ["to_review", "reviewed", "abstained"] or [
        item["status"] for item in queue
    ].count("to_review") == 1
    assert alice != bob


async def test_scores_must_cover_every_criterion_1_to_5(client, event):
    [application] = await make_applications(event["id"], 1)
    await reviewer("alice@example.org")
    await client.put(
        f"{BASE}/settings",
        json={**(await client.get(f"{BASE}/settings")).json(), "reviewers_per_application": 1},
    )
    await client.post(f"{BASE}/assignments")
    await sign_in(client, "alice@example.org")
    url = f"{BASE}/applications/{application}/review"
    missing = await client.put(url, json={"scores": {"team": 5}})
    assert missing.status_code == 409
    assert missing.json()["reason"] == "scores_invalid"
    assert "problem_market" in missing.json()["missing"]
    assert (await client.put(url, json={"scores": {**SCORES, "team": 6}})).status_code == 400
    assert (await client.put(url, json={"scores": {**SCORES, "team": 0}})).status_code == 400
    assert (await client.put(url, json={"scores": SCORES, "abstain": True})).status_code == 409
    assert (await client.put(url, json={"scores": {**SCORES, "charm": 5}})).status_code == 409


async def test_a_reviewer_sees_only_assigned_applications(client, event):
    [application] = await make_applications(event["id"], 1)
    await reviewer("alice@example.org")
    await sign_in(client, "alice@example.org")
    response = await client.get(f"{BASE}/applications/{application}")
    assert response.status_code == 403
    assert response.json()["reason"] == "not_assigned"
    response = await client.put(
        f"{BASE}/applications/{application}/review", json={"scores": SCORES}
    )
    assert response.status_code == 403
    # Nor the organisers' figures.
    assert (await client.get(f"{BASE}/scores")).status_code == 403


async def test_anonymised_review_hides_names_incubator_and_links(client, event):
    nus = await incubator("NUS Enterprise")
    [application] = await make_applications(event["id"], 1, incubator=nus)
    await reviewer("alice@example.org")
    settings = (await client.get(f"{BASE}/settings")).json()
    await client.put(
        f"{BASE}/settings",
        json={**settings, "reviewers_per_application": 1, "anonymised": True},
    )
    await client.post(f"{BASE}/assignments")
    await sign_in(client, "alice@example.org")
    task = (await client.get(f"{BASE}/applications/{application}")).json()
    shown = task["application"]
    assert shown["company_name"] == f"Application {application}"
    assert shown["incubator_name"] is None and shown["website"] is None
    assert shown["deck_url"] is None and shown["founders"] == []
    assert shown["one_liner"] == "Pitch 0"
    queue = (await client.get(f"{BASE}/queue")).json()["items"]
    assert queue[0]["company_name"] == f"Application {application}"


async def test_reviewers_see_others_scores_only_when_allowed_and_after_their_own(client, event):
    [application] = await make_applications(event["id"], 1)
    alice = await reviewer("alice@example.org")
    bob = await reviewer("bob@example.org")
    settings = (await client.get(f"{BASE}/settings")).json()
    await client.put(f"{BASE}/settings", json={**settings, "reviewers_per_application": 2})
    await client.post(f"{BASE}/assignments")
    await service.save_review(
        event["id"], bob, application, scores={**SCORES, "team": 1}, comment="", abstain=False
    )
    await sign_in(client, "alice@example.org")
    url = f"{BASE}/applications/{application}"
    assert (await client.get(url)).json()["other_reviews"] is None
    await client.put(f"{url}/review", json={"scores": SCORES})
    assert (await client.get(url)).json()["other_reviews"] is None  # not allowed

    await sign_in(client, "admin@example.org")
    await client.put(f"{BASE}/settings", json={**settings, "reviewers_see_scores": True})
    await sign_in(client, "alice@example.org")
    others = (await client.get(url)).json()["other_reviews"]
    assert [o["scores"]["team"] for o in others] == [1]
    assert alice != bob


async def test_organisers_see_mean_median_spread_and_count(client, event):
    [application, quiet] = await make_applications(event["id"], 2)
    people = [await reviewer(f"r{i}@example.org") for i in range(4)]
    settings = (await client.get(f"{BASE}/settings")).json()
    # Team weighs three times the rest.
    criteria = [{**c, "weight": 3.0 if c["key"] == "team" else 1.0} for c in settings["criteria"]]
    await client.put(
        f"{BASE}/settings",
        json={**settings, "criteria": criteria, "reviewers_per_application": 4},
    )
    await client.post(f"{BASE}/assignments")
    every = dict.fromkeys(SCORES, 2)
    await service.save_review(
        event["id"], people[0], application, scores=every, comment="", abstain=False
    )
    await service.save_review(
        event["id"], people[1], application, scores={**every, "team": 5}, comment="", abstain=False
    )
    await service.save_review(
        event["id"],
        people[2],
        application,
        scores=dict.fromkeys(SCORES, 4),
        comment="",
        abstain=False,
    )
    await service.save_review(
        event["id"], people[3], application, scores={}, comment="", abstain=True
    )
    rows = (await client.get(f"{BASE}/scores")).json()["items"]
    assert [row["id"] for row in rows] == [application, quiet]
    top = rows[0]
    # Weighted: 2; (3*5 + 4*2)/7 = 23/7; 4.
    assert top["mean"] == pytest.approx((2 + 23 / 7 + 4) / 3, abs=1e-3)
    assert top["median"] == pytest.approx(23 / 7, abs=1e-3)
    assert top["spread"] == pytest.approx(2.0)
    assert top["count"] == 3 and top["abstained"] == 1 and top["assigned"] == 4
    assert rows[1]["mean"] is None and rows[1]["count"] == 0

    reviews = (await client.get(f"{BASE}/applications/{application}/reviews")).json()
    assert reviews["total"] == 4
    assert {r["reviewer_name"] for r in reviews["items"]} == {"R0", "R1", "R2", "R3"}

    export = await client.get(f"{BASE}/export.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert [int(r["id"]) for r in table] == [application, quiet]
    assert float(table[0]["mean_team"]) == pytest.approx(11 / 3, abs=1e-3)
    assert table[0]["count"] == "3" and table[1]["mean"] == ""


async def test_the_csv_export_defuses_spreadsheet_formulas(client, event):
    await make_applications(event["id"], 1)
    await Application.update({Application.company_name: '=HYPERLINK("x")'}).where(
        Application.event == event["id"]
    )
    export = await client.get(f"{BASE}/export.csv")
    row = next(csv.DictReader(io.StringIO(export.text)))
    assert row["company_name"].startswith("'=")


async def test_the_set_of_criteria_is_fixed_once_a_review_is_scored(client, event):
    [application] = await make_applications(event["id"], 1)
    alice = await reviewer("alice@example.org")
    settings = (await client.get(f"{BASE}/settings")).json()
    await client.put(f"{BASE}/settings", json={**settings, "reviewers_per_application": 1})
    await client.post(f"{BASE}/assignments")
    await service.save_review(
        event["id"], alice, application, scores=SCORES, comment="", abstain=False
    )
    fewer = {**settings, "criteria": settings["criteria"][:4]}
    response = await client.put(f"{BASE}/settings", json=fewer)
    assert response.status_code == 409
    assert response.json()["reason"] == "reviews_started"
    heavier = [{**c, "weight": 2.0} if c["key"] == "team" else c for c in settings["criteria"]]
    response = await client.put(f"{BASE}/settings", json={**settings, "criteria": heavier})
    assert response.status_code == 200


async def test_a_declared_conflict_takes_the_application_off_the_queue_for_good(client, event):
    [application] = await make_applications(event["id"], 1)
    await reviewer("alice@example.org")
    await reviewer("bob@example.org")
    settings = (await client.get(f"{BASE}/settings")).json()
    await client.put(f"{BASE}/settings", json={**settings, "reviewers_per_application": 1})
    await client.post(f"{BASE}/assignments")
    from eventapp.review.tables import ReviewAssignment

    [assigned] = await ReviewAssignment.select(ReviewAssignment.reviewer.email.as_alias("email"))
    await sign_in(client, assigned["email"])
    response = await client.post(
        f"{BASE}/conflicts", json={"application_id": application, "note": "I advise them"}
    )
    assert response.status_code == 201, response.text
    assert (await client.get(f"{BASE}/queue")).json()["total"] == 0
    again = await client.post(f"{BASE}/conflicts", json={"application_id": application})
    assert again.status_code == 409 and again.json()["reason"] == "conflict_declared"

    await sign_in(client, "admin@example.org")
    await client.post(f"{BASE}/assignments")
    [now] = await ReviewAssignment.select(ReviewAssignment.reviewer.email.as_alias("email"))
    assert now["email"] != assigned["email"]


async def test_concurrent_saves_make_one_review(app, client, event):
    """Two tabs saving the same review at once: one row, and the loser (if any) is a 409."""
    [application] = await make_applications(event["id"], 1)
    await reviewer("alice@example.org")
    settings = (await client.get(f"{BASE}/settings")).json()
    await client.put(f"{BASE}/settings", json={**settings, "reviewers_per_application": 1})
    await client.post(f"{BASE}/assignments")
    await sign_in(client, "alice@example.org")
    cookies = client.cookies
    transport = httpx.ASGITransport(app=app)

    async def save(team: int) -> int:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver.local", cookies=cookies
        ) as tab:
            response = await tab.put(
                f"{BASE}/applications/{application}/review",
                json={"scores": {**SCORES, "team": team}},
            )
            return response.status_code

    statuses = await asyncio.gather(*(save(1 + i % 5) for i in range(12)))
    assert set(statuses) <= {200, 409}
    assert 200 in statuses
    from eventapp.review.tables import Review

    assert await Review.count().where(Review.application == application) == 1


async def test_the_demo_seeds_reviewers_assignments_and_reviews_once(client, event):
    from eventapp.review.demo import DEMO_REVIEWERS, build_scores, seed_review_demo
    from eventapp.review.tables import Review, ReviewAssignment

    ids = await make_applications(event["id"], 20)
    login = await reviewer("reviewer@demo.example")
    written = await seed_review_demo(event["id"], "demo.example", "reviewer@demo.example")
    people = await service.reviewers(event["id"])
    assert len(people) == 1 + len(DEMO_REVIEWERS)
    assigned = await ReviewAssignment.select(
        ReviewAssignment.application, ReviewAssignment.reviewer
    )
    assert sorted(ids) == sorted({row["application"] for row in assigned})
    assert len(assigned) == 3 * len(ids)
    mine = [row for row in assigned if row["reviewer"] == login]
    assert mine, "the demo reviewer login has a queue"
    assert written == len(assigned) - len(mine)
    assert not await Review.exists().where(Review.reviewer == login)
    rows = (await client.get(f"{BASE}/scores")).json()["items"]
    assert all(row["count"] >= 2 for row in rows)
    assert await seed_review_demo(event["id"], "demo.example", "reviewer@demo.example") == 0
    pairs = [(1, 2), (1, 3)]
    assert build_scores(pairs, ["team"]) == build_scores(pairs, ["team"])


async def test_concurrent_assignments_never_duplicate_a_pair(app, client, event):
    """Two organisers pressing "Assign reviewers" at once: k per application, not 2k."""
    ids = await make_applications(event["id"], 8)
    for i in range(3):
        await reviewer(f"r{i}@example.org")
    cookies = client.cookies
    transport = httpx.ASGITransport(app=app)

    async def assign() -> int:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver.local", cookies=cookies
        ) as tab:
            return (await tab.post(f"{BASE}/assignments")).status_code

    statuses = await asyncio.gather(*(assign() for _ in range(4)))
    assert set(statuses) <= {200, 409} and 200 in statuses
    from eventapp.review.tables import ReviewAssignment

    assert await ReviewAssignment.count() == 3 * len(ids)
