"""The programme through the API: generating a day, editing, releases, every stage action,
versions (409 stale_version), undo, and concurrent organisers racing on both engines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventapp.accounts.schemas import Role
from eventapp.accounts.service import create_user, grant_role
from eventapp.accounts.tables import Organisation
from eventapp.errors import IntegrityConflict
from eventapp.events.service import event_by_slug
from eventapp.events.tables import Event
from eventapp.programme.routes import ACTION_REFUSALS
from eventapp.programme.tables import ProgrammeItem
from tests.helpers import make_event, sign_in, signed_in_admin, user_with_role

pytestmark = pytest.mark.anyio

DAY = "2027-03-18"
BASE = "/api/events/showcase/programme"
NINE_SGT = datetime(2027, 3, 18, 1, 0, tzinfo=UTC)


async def _event_with_startups(client, count: int = 6) -> dict:
    """An event with two stages and `count` start-ups (alternating SG / TH) signed up."""
    await signed_in_admin(client)
    await make_event(
        client,
        days=[{"day": DAY, "opens_at": "09:00:00", "closes_at": "18:00:00"}],
        published=True,
    )
    event = await event_by_slug("showcase")
    stages = []
    for name in ("Main Stage", "Pitch Theatre"):
        response = await client.post(
            "/api/events/showcase/stages", json={"name": name, "capacity": 100}
        )
        stages.append(response.json()["id"])
    orgs = []
    for index in range(count):
        country = "SG" if index % 2 else "TH"
        rows = await Organisation.insert(
            Organisation(
                name=f"Startup {chr(65 + index)}",
                kind="startup",
                country=country,
                description=f"One-liner {index}",
            )
        ).run()
        org_id = rows[0]["id"]
        user_id = await create_user(f"founder{index}@example.org", name=f"F{index}")
        await Organisation.raw("UPDATE users SET organisation = {} WHERE id = {}", org_id, user_id)
        await grant_role(user_id, event["id"], Role.startup)
        orgs.append(org_id)
    return {"event": event, "stages": stages, "orgs": orgs}


async def _generate(client, stage: int, **fields) -> list[dict]:
    body = {"stage_id": stage, "day": DAY, "starts_at": "09:00:00", **fields}
    response = await client.post(f"{BASE}/generate", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def _programme(client) -> dict:
    response = await client.get(BASE)
    assert response.status_code == 200, response.text
    return response.json()


async def _act(client, version: int, stage: int, action: str, expect: int = 200, **fields):
    body = {"version": version, "stage_id": stage, "day": DAY, "action": action, **fields}
    response = await client.post(f"{BASE}/actions", json=body)
    assert response.status_code == expect, response.text
    return response.json()


def _stage_items(programme: dict, stage: int) -> list[dict]:
    return [item for item in programme["items"] if item["stage_id"] == stage]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_day_is_generated_from_the_startups_grouped_with_breaks(client):
    setup = await _event_with_startups(client)
    stage = setup["stages"][0]
    items = await _generate(
        client,
        stage,
        group_by="country",
        break_every=2,
        break_minutes=10,
        pitch_minutes=5,
        qa_minutes=3,
    )
    kinds = [item["kind"] for item in items]
    assert kinds == ["pitch", "pitch", "break", "pitch", "pitch", "break", "pitch", "pitch"]
    countries = [item["startup"]["country"] for item in items if item["kind"] == "pitch"]
    assert countries == sorted(countries)  # grouped: SG first, then TH
    assert _at(items[0]["planned_start"]) == NINE_SGT  # 09:00 in Singapore
    assert _at(items[1]["planned_start"]) == NINE_SGT + timedelta(minutes=8)
    assert items[2]["absorbs_delay"] is True
    assert items[0]["startup"]["one_liner"].startswith("One-liner")
    again = await client.post(
        f"{BASE}/generate", json={"stage_id": stage, "day": DAY, "starts_at": "09:00:00"}
    )
    assert again.status_code == 409 and again.json()["reason"] == "programme_not_empty"
    replaced = await _generate(client, stage, replace=True, group_by="none")
    assert [item["kind"] for item in replaced] == ["pitch"] * 6


async def test_organisers_add_edit_and_remove_items(client):
    setup = await _event_with_startups(client, 1)
    stage = setup["stages"][1]
    keynote = {
        "stage_id": stage,
        "day": DAY,
        "kind": "keynote",
        "title": "Opening keynote",
        "planned_start": "2027-03-18T01:00:00Z",
        "minutes": 20,
    }
    response = await client.post(f"{BASE}/items", json=keynote)
    assert response.status_code == 201, response.text
    item = response.json()
    pitch = {
        "stage_id": stage,
        "day": DAY,
        "kind": "pitch",
        "title": "Startup A",
        "organisation_id": setup["orgs"][0],
        "planned_start": "2027-03-18T01:20:00Z",
        "pitch_minutes": 5,
        "qa_minutes": 5,
    }
    response = await client.post(f"{BASE}/items", json=pitch)
    assert response.status_code == 201 and response.json()["planned_minutes"] == 10
    duplicate = await client.post(f"{BASE}/items", json=pitch)
    assert duplicate.status_code == 409 and duplicate.json()["reason"] == "already_pitching"
    assert duplicate.json()["detail"] == "This start-up already has a pitch in the programme."
    stranger = await client.post(f"{BASE}/items", json={**pitch, "organisation_id": 999_999})
    assert stranger.status_code == 400 and stranger.json()["reason"] == "startup_unknown"
    response = await client.patch(f"{BASE}/items/{item['id']}", json={"minutes": 30})
    assert response.status_code == 200 and response.json()["planned_minutes"] == 30
    assert (await client.delete(f"{BASE}/items/{item['id']}")).status_code == 204
    assert (await client.delete(f"{BASE}/items/{item['id']}")).status_code == 404
    assert [i["title"] for i in (await _programme(client))["items"]] == ["Startup A"]


async def test_releases_record_new_moved_and_cancelled_items(client):
    setup = await _event_with_startups(client, 3)
    stage = setup["stages"][0]
    items = await _generate(client, stage, group_by="none")
    first = (await client.post(f"{BASE}/releases", json={"note": "First"})).json()
    assert first["number"] == 1 and len(first["changelog"]["new"]) == 3
    version = (await _programme(client))["version"]
    await _act(client, version, stage, "swap", item_id=items[0]["id"], other_item_id=items[1]["id"])
    await _act(client, version + 1, stage, "cancel", item_id=items[2]["id"])
    second = (await client.post(f"{BASE}/releases", json={})).json()
    log = second["changelog"]
    assert second["number"] == 2 and log["new"] == []
    assert {entry["item_id"] for entry in log["moved"]} == {items[0]["id"], items[1]["id"]}
    assert [entry["item_id"] for entry in log["cancelled"]] == [items[2]["id"]]
    listed = (await client.get(f"{BASE}/releases")).json()
    assert [r["number"] for r in listed["items"]] == [2, 1]


async def test_every_stage_action_raises_the_version_and_is_recorded(client):
    setup = await _event_with_startups(client, 5)
    stage = setup["stages"][0]
    items = await _generate(client, stage, group_by="none", pitch_minutes=5, qa_minutes=5)
    ids = [item["id"] for item in items]
    version = (await _programme(client))["version"]

    state = await _act(client, version, stage, "start_next")
    assert state["version"] == version + 1
    running = _stage_items(state, stage)[0]
    assert running["status"] == "running" and state["current"][0]["item_id"] == ids[0]

    state = await _act(client, state["version"], stage, "extend", minutes=5)
    assert _stage_items(state, stage)[0]["extra_minutes"] == 5
    started = _at(running["actual_start"])
    assert _at(_stage_items(state, stage)[1]["projected_start"]) >= started + timedelta(minutes=15)

    state = await _act(client, state["version"], stage, "delay", minutes=7)
    assert _stage_items(state, stage)[1]["delay_minutes"] == 7

    state = await _act(
        client, state["version"], stage, "swap", item_id=ids[1], other_item_id=ids[2]
    )
    assert [i["id"] for i in _stage_items(state, stage)][:3] == [ids[0], ids[2], ids[1]]

    state = await _act(client, state["version"], stage, "move", item_id=ids[4], position=0)
    assert [i["id"] for i in _stage_items(state, stage)][1] == ids[4]

    state = await _act(client, state["version"], stage, "no_show", item_id=ids[2])
    no_show = next(i for i in _stage_items(state, stage) if i["id"] == ids[2])
    assert no_show["status"] == "no_show" and no_show["projected_start"] is None

    state = await _act(client, state["version"], stage, "insert_break", minutes=10)
    assert _stage_items(state, stage)[1]["kind"] == "break"

    state = await _act(client, state["version"], stage, "cancel", item_id=ids[3])
    assert next(i for i in _stage_items(state, stage) if i["id"] == ids[3])["status"] == "cancelled"

    state = await _act(client, state["version"], stage, "end")
    assert _stage_items(state, stage)[0]["status"] == "done" and state["current"] == []

    refused = await _act(client, state["version"], stage, "extend", expect=409, minutes=1)
    assert refused["reason"] == "no_current_item"
    refused = await _act(client, state["version"], stage, "cancel", expect=409, item_id=ids[0])
    assert refused["reason"] == "item_not_planned"
    refused = await _act(client, state["version"], stage, "delay", expect=400)
    assert refused["reason"] == "missing_argument"

    log = (await client.get(f"{BASE}/actions")).json()
    assert [a["kind"] for a in log["items"]][:3] == ["end", "cancel", "insert_break"]
    assert all(a["actor_id"] is not None and a["acted_at"] for a in log["items"])
    assert log["total"] == 9


async def test_an_action_against_an_older_version_is_refused(client):
    setup = await _event_with_startups(client, 2)
    stage = setup["stages"][0]
    await _generate(client, stage)
    version = (await _programme(client))["version"]
    await _act(client, version, stage, "start_next")
    refused = await _act(client, version, stage, "delay", expect=409, minutes=5)
    assert refused["reason"] == "stale_version"
    assert (await _programme(client))["version"] == version + 1


def _without_projections(programme: dict) -> list[dict]:
    """Every item as stored (projected times move with the clock)."""
    strip = ("projected_start", "projected_end")
    return [{k: v for k, v in item.items() if k not in strip} for item in programme["items"]]


async def test_stage_actions_are_undone_one_by_one_back_to_the_last_edit(client):
    setup = await _event_with_startups(client, 3)
    stage = setup["stages"][0]
    await _generate(client, stage, group_by="none")
    generated = await _programme(client)
    before = await _act(client, generated["version"], stage, "start_next")
    after = await _act(client, before["version"], stage, "insert_break", minutes=10)
    assert len(_stage_items(after, stage)) == 4
    response = await client.post(f"{BASE}/undo", json={"version": after["version"]})
    assert response.status_code == 200, response.text
    undone = response.json()
    assert undone["version"] == after["version"] + 1
    assert _without_projections(undone) == _without_projections(before)  # the break is gone
    response = await client.post(f"{BASE}/undo", json={"version": undone["version"]})
    assert response.status_code == 200, response.text
    assert _without_projections(response.json()) == _without_projections(generated)
    again = await client.post(f"{BASE}/undo", json={"version": response.json()["version"]})
    assert again.status_code == 409 and again.json()["reason"] == "nothing_to_undo"
    stale = await client.post(f"{BASE}/undo", json={"version": 1})
    assert stale.status_code == 409 and stale.json()["reason"] == "stale_version"
    log = (await client.get(f"{BASE}/actions")).json()["items"]
    assert [(a["kind"], a["undone"]) for a in log] == [
        ("undo", False),
        ("undo", False),
        ("insert_break", True),
        ("start_next", True),
    ]


async def test_an_edit_or_a_release_after_a_stage_action_ends_the_undo_trail(client):
    setup = await _event_with_startups(client, 3)
    stage = setup["stages"][0]
    items = await _generate(client, stage, group_by="none")
    version = (await _programme(client))["version"]
    await _act(client, version, stage, "start_next")
    patched = await client.patch(f"{BASE}/items/{items[2]['id']}", json={"pitch_minutes": 7})
    assert patched.status_code == 200, patched.text
    edited = await _programme(client)
    refused = await client.post(f"{BASE}/undo", json={"version": edited["version"]})
    assert refused.status_code == 409 and refused.json()["reason"] == "nothing_to_undo"
    assert "edited or released" in refused.json()["detail"]
    assert _stage_items(await _programme(client), stage)[0]["status"] == "running"
    delayed = await _act(client, edited["version"], stage, "delay", minutes=5)
    assert (await client.post(f"{BASE}/releases", json={})).status_code == 201
    released = await _programme(client)
    refused = await client.post(f"{BASE}/undo", json={"version": released["version"]})
    assert refused.status_code == 409 and refused.json()["reason"] == "nothing_to_undo"
    assert _without_projections(await _programme(client)) == _without_projections(delayed)


async def test_only_organisers_act_and_anyone_reads_a_published_programme(client):
    setup = await _event_with_startups(client, 2)
    stage = setup["stages"][0]
    await _generate(client, stage)
    await user_with_role("showcase", "investor@example.org", Role.investor)
    await client.post("/api/auth/logout")
    client.cookies.clear()
    public = await _programme(client)
    assert len(public["items"]) == 2 and public["timezone"] == "Asia/Singapore"
    await sign_in(client, "investor@example.org")
    refused = await _act(client, public["version"], stage, "start_next", expect=403)
    assert refused["reason"] == "role_required"


async def test_concurrent_actions_on_one_version_let_exactly_one_through(client):
    setup = await _event_with_startups(client, 3)
    stage = setup["stages"][0]
    await _generate(client, stage)
    version = (await _programme(client))["version"]
    body = {"version": version, "stage_id": stage, "day": DAY}
    answers = await asyncio.gather(
        *(
            client.post(f"{BASE}/actions", json={**body, "action": action, "minutes": 5})
            for action in ("start_next", "delay", "start_next", "delay")
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 409, 409, 409], [a.text for a in answers]
    assert all(a.json()["reason"] == "stale_version" for a in answers if a.status_code == 409)
    assert (await _programme(client))["version"] == version + 1


async def test_the_live_demo_plays_the_first_day_forward(client):
    from eventapp.programme.demo import play

    setup = await _event_with_startups(client, 3)
    stage = setup["stages"][0]
    await _generate(client, stage, group_by="none")
    player = asyncio.create_task(play(setup["event"]["id"], 0.05))
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            items = _stage_items(await _programme(client), stage)
            if sum(item["status"] == "done" for item in items) >= 2:
                break
    finally:
        player.cancel()
    assert sum(item["status"] == "done" for item in items) >= 2
    first = _at(items[0]["planned_start"])
    assert abs((first - datetime.now(UTC)).total_seconds()) < 600  # the day moved to now


async def test_undo_after_the_second_start_puts_the_first_pitch_back_on_stage(client):
    # Start next twice ends the first pitch and starts the second; undo must bring the first
    # back on stage and the second back to planned, not trip "one item runs per stage".
    setup = await _event_with_startups(client, 3)
    stage = setup["stages"][1]
    ids = [item["id"] for item in await _generate(client, stage, group_by="none")]
    version = (await _programme(client))["version"]
    first = await _act(client, version, stage, "start_next")
    second = await _act(client, first["version"], stage, "start_next")
    assert [i["status"] for i in _stage_items(second, stage)][:2] == ["done", "running"]
    response = await client.post(f"{BASE}/undo", json={"version": second["version"]})
    assert response.status_code == 200, response.text
    undone = response.json()
    assert undone["current"] == [{"stage_id": stage, "day": DAY, "item_id": ids[0]}]
    assert _without_projections(undone) == _without_projections(first)


async def test_a_second_item_on_stage_is_refused_in_plain_words(client):
    # The stage actions never try it (see the tests above); should a write ever do, the organiser
    # reads what happened, and programs still get the stable reason.
    setup = await _event_with_startups(client, 2)
    stage = setup["stages"][0]
    ids = [item["id"] for item in await _generate(client, stage, group_by="none")]
    await _act(client, (await _programme(client))["version"], stage, "start_next")
    with pytest.raises(IntegrityConflict) as refused:
        await ProgrammeItem.update({ProgrammeItem.status: "running"}).where(
            ProgrammeItem.id == ids[1]
        )
    assert refused.value.reason == "already_running"
    assert refused.value.detail.startswith("Something is already on stage")
    assert refused.value.status_code == 409


async def test_organisers_undoing_at_once_undo_one_action_each_version(client):
    setup = await _event_with_startups(client, 3)
    stage = setup["stages"][0]
    await _generate(client, stage, group_by="none")
    generated = await _programme(client)
    first = await _act(client, generated["version"], stage, "start_next")
    second = await _act(client, first["version"], stage, "start_next")
    body = {"version": second["version"], "stage_id": stage, "day": DAY}
    answers = await asyncio.gather(
        *(client.post(f"{BASE}/undo", json={"version": second["version"]}) for _ in range(3)),
        client.post(f"{BASE}/actions", json={**body, "action": "start_next"}),
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409], [a.text for a in answers]
    assert all(a.json()["reason"] == "stale_version" for a in answers if a.status_code == 409)
    now = await _programme(client)
    assert now["version"] == second["version"] + 1
    winner = next(a for a in answers if a.status_code == 200).json()
    assert _without_projections(now) == _without_projections(winner)
    assert len(now["current"]) == 1  # one item on stage, whoever won
    if answers[3].status_code == 409:  # an undo won: the first pitch is back on stage
        assert _without_projections(now) == _without_projections(first)
        answers = await asyncio.gather(
            *(client.post(f"{BASE}/undo", json={"version": now["version"]}) for _ in range(2))
        )
        assert sorted(a.status_code for a in answers) == [200, 409]
        assert _without_projections(await _programme(client)) == _without_projections(generated)


# A stage action as drawn: what, on which stage, two picks among its items, minutes, and
# whether an inserted break names the item it follows.
ACTION_KINDS = ("start_next", "start_next", "start_next", "end", "extend", "delay", "move")
ACTION_KINDS += ("swap", "no_show", "cancel", "insert_break")
steps = st.lists(
    st.tuples(
        st.sampled_from(ACTION_KINDS),
        st.integers(0, 1),
        st.integers(0, 9),
        st.integers(0, 9),
        st.integers(1, 15),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


async def _fresh_day(client) -> tuple[dict, list[int]]:
    """The event (made on the first example), with both stages' day generated afresh: three
    pitches and a break on one, three pitches on the other."""
    if not await Event.exists().where(Event.slug == "showcase"):
        await _event_with_startups(client, 6)
    event = await event_by_slug("showcase")
    await ProgrammeItem.delete().where(ProgrammeItem.event == event["id"])
    stages = [stage["id"] for stage in (await _programme(client))["stages"]]
    orgs = sorted(
        row["id"]
        for row in await Organisation.select(Organisation.id).where(Organisation.kind == "startup")
    )
    await _generate(client, stages[0], organisation_ids=orgs[:3], break_every=2, group_by="none")
    await _generate(client, stages[1], organisation_ids=orgs[3:], group_by="none")
    return await _programme(client), stages


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
async def test_undoing_every_action_in_reverse_brings_back_each_state_and_is_never_refused(
    client, steps
):
    """Any actions on two stages (refused ones change nothing), then undo pressed once per action
    that went through: each undo answers the programme exactly as it was before that action, no
    undo is refused, and after the last one the generated day is back and undo stops there."""
    state, stages = await _fresh_day(client)
    start = state
    history = []
    for kind, stage_index, pick, other_pick, minutes, names_item in steps:
        stage = stages[stage_index]
        ids = [item["id"] for item in _stage_items(state, stage)]
        body = {"version": state["version"], "stage_id": stage, "day": DAY, "action": kind}
        if kind in ("move", "swap", "no_show", "cancel") or (kind == "insert_break" and names_item):
            body["item_id"] = ids[pick % len(ids)]
        if kind == "swap":
            body["other_item_id"] = ids[other_pick % len(ids)]
        if kind == "move":
            body["position"] = other_pick % 4
        if kind in ("extend", "delay", "insert_break"):
            body["minutes"] = minutes
        response = await client.post(f"{BASE}/actions", json=body)
        if response.status_code == 409:
            reason = response.json()["reason"]
            assert reason in ACTION_REFUSALS and reason != "stale_version", response.text
            continue
        assert response.status_code == 200, response.text
        history.append(state)
        state = response.json()
        assert len([c for c in state["current"] if c["stage_id"] == stage]) <= 1
    for was in reversed(history):
        response = await client.post(f"{BASE}/undo", json={"version": state["version"]})
        assert response.status_code == 200, response.text
        state = response.json()
        assert _without_projections(state) == _without_projections(was)
        assert state["current"] == was["current"]
    assert _without_projections(state) == _without_projections(start)
    response = await client.post(f"{BASE}/undo", json={"version": state["version"]})
    assert response.status_code == 409 and response.json()["reason"] == "nothing_to_undo"
