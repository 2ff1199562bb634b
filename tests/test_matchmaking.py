"""Investor matchmaking through the API: the grid, requests and their answers, the database's
rules under racing clients, the scheduler run and publishing, calendars, feedback and the report.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import icalendar
from litestar import Litestar

from eventapp.accounts import service as accounts
from eventapp.accounts.schemas import Role
from eventapp.accounts.tables import Organisation, User
from eventapp.errors import Conflict
from eventapp.events.service import event_by_slug
from eventapp.mail.tables import OutboxMessage
from eventapp.matchmaking import service
from eventapp.matchmaking.tables import Meeting, MeetingCount
from tests.helpers import PASSWORD, make_event, sign_in, signed_in_admin

BOOKING_REASONS = {
    "slot_taken",
    "investor_busy",
    "startup_busy",
    "table_full",
    "cap_reached",
    "already_meeting",
}
FUTURE_DAY = "2030-03-18"


async def _org(name: str, kind: str, country: str = "SG", description: str = "") -> int:
    rows = await Organisation.insert(
        Organisation(name=name, kind=kind, country=country, description=description)
    ).run()
    return rows[0]["id"]


async def _person(email: str, role: Role, org_id: int, event_id: int, password=PASSWORD) -> int:
    user_id = await accounts.create_user(
        email, name=email.split("@")[0].title(), password=password, organisation_id=org_id
    )
    await accounts.grant_role(user_id, event_id, role)
    return user_id


async def setup_event(
    client: httpx.AsyncClient,
    *,
    tables: int = 2,
    day: str = FUTURE_DAY,
    start: str = "10:00",
    end: str = "11:00",
    **grid,
) -> dict:
    """An event with a grid of 20-minute slots, two start-ups, and investors from two firms."""
    await signed_in_admin(client)
    await make_event(client, "mm")
    event_id = (await event_by_slug("mm"))["id"]
    await client.post("/api/events/mm/tables/bulk", json={"count": tables, "prefix": "T"})
    body = {"slot_minutes": 20, "blocks": [{"day": day, "start": start, "end": end}], **grid}
    response = await client.put("/api/events/mm/meetings/grid", json=body)
    assert response.status_code == 200, response.text
    padi = await _org("Padily", "startup", "ID", "Agritech marketplace for rice farmers")
    pay = await _org("Payku", "startup", "VN", "Fintech payments for small shops")
    lion = await _org("Lion Ventures", "investor", "SG")
    sakura = await _org("Sakura Capital", "investor", "JP")
    people = {
        "sam": await _person("sam@padily.example", Role.startup, padi, event_id),
        "pia": await _person("pia@payku.example", Role.startup, pay, event_id),
        "ines": await _person("ines@lion.example", Role.investor, lion, event_id),
        "leo": await _person("leo@lion.example", Role.investor, lion, event_id),
        "kenji": await _person("kenji@sakura.example", Role.investor, sakura, event_id),
    }
    slots = (await client.get("/api/events/mm/meetings/slots")).json()["items"]
    return {
        "event_id": event_id,
        "padi": padi,
        "pay": pay,
        "lion": lion,
        "sakura": sakura,
        "people": people,
        "slots": [s["id"] for s in slots],
    }


async def as_user(client: httpx.AsyncClient, email: str) -> None:
    client.cookies.clear()
    await sign_in(client, email)


async def test_the_grid_makes_slots_from_blocks_with_breaks(client):
    await signed_in_admin(client)
    await make_event(client, "mm")
    body = {
        "slot_minutes": 20,
        "blocks": [
            {"day": FUTURE_DAY, "start": "10:00", "end": "11:00"},
            {"day": FUTURE_DAY, "start": "11:30", "end": "12:10"},
            {"day": "2030-03-19", "start": "09:00", "end": "09:40"},
        ],
    }
    grid = (await client.put("/api/events/mm/meetings/grid", json=body)).json()
    assert grid["slots"] == 3 + 2 + 2
    slots = (await client.get("/api/events/mm/meetings/slots")).json()["items"]
    # The event is in Asia/Singapore (UTC+8): 10:00 there is 02:00 UTC.
    assert slots[0]["starts_at"].startswith("2030-03-18T02:00")
    assert slots[3]["starts_at"].startswith("2030-03-18T03:30")  # after the break
    assert [s["day_index"] for s in slots] == [0, 0, 0, 0, 0, 1, 1]
    bad = await client.put(
        "/api/events/mm/meetings/grid",
        json={"blocks": [{"day": FUTURE_DAY, "start": "11:00", "end": "10:00"}]},
    )
    assert bad.status_code == 400


async def test_a_request_holds_the_slot_and_once_accepted_both_sides_see_it(client):
    ids = await setup_event(client)
    await as_user(client, "ines@lion.example")
    request = await client.post(
        "/api/events/mm/meetings/requests",
        json={"counterpart_id": ids["padi"], "slot_id": ids["slots"][0], "message": "Hello!"},
    )
    assert request.status_code == 201, request.text
    meeting = request.json()
    assert meeting["status"] == "pending" and meeting["table_label"] == "T01"
    # The pending request holds the slot for the start-up against another investor...
    await as_user(client, "kenji@sakura.example")
    busy = await client.post(
        "/api/events/mm/meetings/requests",
        json={"counterpart_id": ids["padi"], "slot_id": ids["slots"][0]},
    )
    assert busy.status_code == 409 and busy.json()["reason"] == "startup_busy"
    # ...and the start-up answers.
    await as_user(client, "sam@padily.example")
    mine = (await client.get("/api/events/mm/meetings/mine")).json()["items"]
    assert [(m["id"], m["status"], m["message"]) for m in mine] == [
        (meeting["id"], "pending", "Hello!")
    ]
    accepted = await client.post(f"/api/events/mm/meetings/{meeting['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert accepted.json()["sequence"] == 1
    await as_user(client, "ines@lion.example")
    again = await client.post(f"/api/events/mm/meetings/{meeting['id']}/accept")
    assert again.status_code == 409 and again.json()["reason"] == "not_your_turn"
    mine = (await client.get("/api/events/mm/meetings/mine")).json()["items"]
    assert [m["status"] for m in mine] == ["accepted"]
    nxt = (await client.get("/api/events/mm/meetings/next")).json()["meeting"]
    assert nxt["id"] == meeting["id"] and nxt["startup_name"] == "Padily"
    # What the live hub will push to each person concerned.
    live = await service.meeting_changes_for(ids["event_id"], ids["people"]["sam"])
    assert live["next"]["investor_name"] == "Ines" and live["waiting"] == 0
    assert "investor_email" not in live["next"]  # a person's topic shows what REST shows
    await as_user(client, "admin@example.org")
    found = (await client.get("/api/events/mm/meetings/?q=padi")).json()
    assert found["total"] == 1 and found["items"][0]["id"] == meeting["id"]
    assert (await client.get("/api/events/mm/meetings/?q=nobody")).json()["total"] == 0
    # Both sides were mailed, with the meeting's calendar attached.
    mails = await OutboxMessage.select().where(OutboxMessage.kind == "meeting_changed")
    assert {m["to_address"] for m in mails} == {"ines@lion.example", "sam@padily.example"}
    assert all("meeting.ics" in str(m["attachments"]) for m in mails)


async def test_every_conflict_is_a_409_with_its_reason(client):
    ids = await setup_event(client, tables=1, max_investor=2)
    s0, s1, s2 = ids["slots"]

    async def ask(email: str, counterpart: int, slot: int) -> httpx.Response:
        await as_user(client, email)
        return await client.post(
            "/api/events/mm/meetings/requests",
            json={"counterpart_id": counterpart, "slot_id": slot},
        )

    assert (await ask("ines@lion.example", ids["padi"], s0)).status_code == 201
    cases = [
        ("ines@lion.example", ids["pay"], s0, "investor_busy"),
        ("kenji@sakura.example", ids["padi"], s0, "startup_busy"),
        ("kenji@sakura.example", ids["pay"], s0, "slot_taken"),  # the one table is taken
        ("ines@lion.example", ids["padi"], s1, "already_meeting"),
        ("leo@lion.example", ids["padi"], s1, "already_meeting"),  # a firm meets a start-up once
    ]
    for email, counterpart, slot, reason in cases:
        response = await ask(email, counterpart, slot)
        assert response.status_code == 409, (reason, response.text)
        assert response.json()["reason"] == reason
    assert (await ask("ines@lion.example", ids["pay"], s1)).status_code == 201
    # Ines's cap is 2, and pending requests count.
    await _org("Third", "startup")
    third = await _org("Kargohub", "startup", "TH")
    await _person("tom@kargohub.example", Role.startup, third, ids["event_id"])
    capped = await ask("ines@lion.example", third, s2)
    assert capped.status_code == 409 and capped.json()["reason"] == "cap_reached"
    # A start-up asking an investor is held to the same rules.
    from_startup = await ask("sam@padily.example", ids["people"]["kenji"], s0)
    assert from_startup.status_code == 409 and from_startup.json()["reason"] == "startup_busy"


async def test_declining_cancelling_and_expiry_free_the_slot(client):
    ids = await setup_event(client, tables=1)
    s0 = ids["slots"][0]
    body = {"counterpart_id": ids["padi"], "slot_id": s0}
    await as_user(client, "ines@lion.example")
    first = (await client.post("/api/events/mm/meetings/requests", json=body)).json()
    await as_user(client, "sam@padily.example")
    declined = await client.post(f"/api/events/mm/meetings/{first['id']}/decline")
    assert declined.json()["status"] == "declined"
    await as_user(client, "ines@lion.example")
    second = await client.post("/api/events/mm/meetings/requests", json=body)
    assert second.status_code == 201
    cancelled = await client.post(f"/api/events/mm/meetings/{second.json()['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    third = (await client.post("/api/events/mm/meetings/requests", json=body)).json()
    # Nobody answers in time: the request expires, on the next read, and the slot is free.
    await (
        Meeting.update({Meeting.expires_at: datetime.now(UTC) - timedelta(minutes=1)})
        .where(Meeting.id == third["id"])
        .run()
    )
    mine = (await client.get("/api/events/mm/meetings/mine")).json()["items"]
    assert {m["id"]: m["status"] for m in mine}[third["id"]] == "expired"
    counts = await MeetingCount.select(MeetingCount.party_kind, MeetingCount.active)
    assert {c["party_kind"]: c["active"] for c in counts} == {"investor": 0, "startup": 0}
    fourth = await client.post("/api/events/mm/meetings/requests", json=body)
    assert fourth.status_code == 201
    late = await client.post(f"/api/events/mm/meetings/{third['id']}/accept")
    assert late.status_code == 409


async def test_a_reschedule_waits_for_the_other_side_and_the_organiser_moves_by_hand(client):
    ids = await setup_event(client, tables=2)
    s0, s1, _ = ids["slots"]
    await as_user(client, "ines@lion.example")
    made = (
        await client.post(
            "/api/events/mm/meetings/requests", json={"counterpart_id": ids["padi"], "slot_id": s0}
        )
    ).json()
    await as_user(client, "sam@padily.example")
    await client.post(f"/api/events/mm/meetings/{made['id']}/accept")
    moved = await client.post(
        f"/api/events/mm/meetings/{made['id']}/reschedule", json={"slot_id": s1}
    )
    assert moved.status_code == 200
    assert (moved.json()["status"], moved.json()["slot_id"]) == ("pending", s1)
    await as_user(client, "kenji@sakura.example")
    other = (
        await client.post(
            "/api/events/mm/meetings/requests", json={"counterpart_id": ids["pay"], "slot_id": s0}
        )
    ).json()
    await as_user(client, "admin@example.org")
    clash = await client.patch(
        f"/api/events/mm/meetings/{made['id']}",
        json={"slot_id": s0, "table_id": other["table_id"]},
    )
    assert clash.status_code == 409 and clash.json()["reason"] == "table_full"
    fine = await client.patch(f"/api/events/mm/meetings/{made['id']}", json={"slot_id": s0})
    assert fine.status_code == 200 and fine.json()["table_id"] != other["table_id"]


async def test_200_clients_racing_for_50_slots_never_double_book(client, app: Litestar):
    """Every request is either booked or a 409 with a reason; the database holds the rules."""
    await signed_in_admin(client)
    await make_event(client, "race")
    event_id = (await event_by_slug("race"))["id"]
    await client.post("/api/events/race/tables/bulk", json={"count": 3, "prefix": "T"})
    grid = {
        "slot_minutes": 10,
        "blocks": [{"day": FUTURE_DAY, "start": "08:00", "end": "16:20"}],
        "max_investor": 50,
        "max_startup": 50,
    }
    assert (await client.put("/api/events/race/meetings/grid", json=grid)).status_code == 200
    slots = [
        s["id"]
        for s in (await client.get("/api/events/race/meetings/slots?limit=200")).json()["items"]
    ]
    assert len(slots) == 50
    startups = []
    for n in range(10):
        org = await _org(f"Startup {n}", "startup")
        await _person(f"founder{n}@s{n}.example", Role.startup, org, event_id, password=None)
        startups.append(org)
    tokens = []
    for n in range(200):
        firm = await _org(f"Firm {n}", "investor")
        user_id = await _person(
            f"inv{n}@f{n}.example", Role.investor, firm, event_id, password=None
        )
        token, _ = await accounts.issue_token(user_id, kind="api", secret=app.state.secret)
        tokens.append(token)
    rng = random.Random(9)
    bodies = [
        {"counterpart_id": startups[n % 10], "slot_id": rng.choice(slots)} for n in range(200)
    ]

    async def book(token: str, body: dict) -> httpx.Response:
        return await client.post(
            "/api/events/race/meetings/requests",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )

    client.cookies.clear()
    answers = await asyncio.gather(*(book(t, b) for t, b in zip(tokens, bodies, strict=True)))
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, [a.text for a in answers if a.status_code not in {201, 409}]
    assert all(a.json()["reason"] in BOOKING_REASONS for a in answers if a.status_code == 409)
    active = await Meeting.select().where(
        (Meeting.event == event_id) & Meeting.status.is_in(["pending", "accepted"])
    )
    assert len(active) == statuses[201] > 0 and statuses[409] > 0
    for key in (("investor", "slot"), ("startup", "slot"), ("meeting_table", "slot")):
        pairs = Counter(tuple(m[k] for k in key) for m in active)
        assert max(pairs.values()) == 1, key
    assert max(Counter(m["slot"] for m in active).values()) <= 3


async def _mark(client, email: str, counterpart: int, mark: str | None) -> None:
    await as_user(client, email)
    response = await client.put(
        "/api/events/mm/meetings/marks", json={"counterpart_id": counterpart, "mark": mark}
    )
    assert response.status_code == 204, response.text


async def test_the_organiser_runs_the_scheduler_then_publishes(client):
    ids = await setup_event(client, tables=2)
    people = ids["people"]
    await _mark(client, "ines@lion.example", ids["padi"], "must")
    await _mark(client, "sam@padily.example", people["ines"], "must")
    await _mark(client, "kenji@sakura.example", ids["pay"], "happy")
    await _mark(client, "kenji@sakura.example", ids["padi"], "no_thanks")
    await _mark(client, "leo@lion.example", ids["padi"], "must")  # same firm as Ines
    await as_user(client, "admin@example.org")
    run = await client.post("/api/events/mm/meetings/schedule", json={})
    assert run.status_code == 201, run.text
    assert run.json()["status"] == "provisional" and run.json()["meetings"] == 2
    placed = (await client.get("/api/events/mm/meetings/")).json()["items"]
    assert sorted((m["investor_name"], m["startup_name"]) for m in placed) == [
        ("Ines", "Padily"),
        ("Kenji", "Payku"),
    ]
    assert not any(m["published"] for m in placed)
    await as_user(client, "sam@padily.example")
    assert (await client.get("/api/events/mm/meetings/mine")).json()["items"] == []
    await as_user(client, "admin@example.org")
    published = await client.post("/api/events/mm/meetings/schedule/publish")
    assert published.status_code == 200 and published.json()["status"] == "published"
    again = await client.post("/api/events/mm/meetings/schedule/publish")
    assert again.status_code == 409 and again.json()["reason"] == "nothing_to_publish"
    schedules = await OutboxMessage.select().where(OutboxMessage.kind == "meeting_schedule")
    assert {m["to_address"] for m in schedules} == {
        "ines@lion.example",
        "sam@padily.example",
        "kenji@sakura.example",
        "pia@payku.example",
    }
    await as_user(client, "sam@padily.example")
    assert [
        m["investor_name"]
        for m in (await client.get("/api/events/mm/meetings/mine")).json()["items"]
    ] == ["Ines"]
    # A re-run fills only free slots: what is there stays.
    await _mark(client, "pia@payku.example", people["leo"], "happy")
    await as_user(client, "admin@example.org")
    rerun = (await client.post("/api/events/mm/meetings/schedule", json={})).json()
    assert rerun["number"] == 2 and rerun["meetings"] == 1
    every = (await client.get("/api/events/mm/meetings/?status=accepted")).json()["items"]
    assert {m["id"] for m in placed} < {m["id"] for m in every}
    # Redo replaces every scheduled meeting, all at once or not at all: a booking made while it
    # solves makes it fail with nothing changed...
    booked = service._book

    async def someone_booked_meanwhile(*args, **kwargs):
        raise Conflict("The investor already has a meeting in that slot.", reason="investor_busy")

    service._book = someone_booked_meanwhile
    try:
        failed = await client.post("/api/events/mm/meetings/schedule", json={"redo": True})
    finally:
        service._book = booked
    assert failed.status_code == 409
    still = (await client.get("/api/events/mm/meetings/?status=accepted")).json()["items"]
    assert {m["id"] for m in placed} < {m["id"] for m in still}
    # ...and once it succeeds, the published meetings it cancelled are mailed as cancelled.
    redo = (await client.post("/api/events/mm/meetings/schedule", json={"redo": True})).json()
    assert redo["meetings"] == 3
    assert {m["id"] for m in placed}.isdisjoint(
        m["id"]
        for m in (await client.get("/api/events/mm/meetings/?status=accepted")).json()["items"]
    )
    off = await OutboxMessage.select().where(
        (OutboxMessage.kind == "meeting_changed") & OutboxMessage.subject.like("Meeting off%")
    )
    assert {m["to_address"] for m in off} >= {"ines@lion.example", "sam@padily.example"}


async def test_participants_ask_the_organiser_to_swap_or_drop(client):
    ids = await setup_event(client)
    await _mark(client, "ines@lion.example", ids["padi"], "must")
    await as_user(client, "admin@example.org")
    await client.post("/api/events/mm/meetings/schedule", json={})
    await client.post("/api/events/mm/meetings/schedule/publish")
    await as_user(client, "ines@lion.example")
    meeting = (await client.get("/api/events/mm/meetings/mine")).json()["items"][0]
    asked = await client.post(
        f"/api/events/mm/meetings/{meeting['id']}/change-requests",
        json={"kind": "swap", "note": "Later please"},
    )
    assert asked.status_code == 201
    await as_user(client, "admin@example.org")
    listed = (await client.get("/api/events/mm/meetings/change-requests")).json()["items"]
    assert [(r["kind"], r["note"], r["status"]) for r in listed] == [
        ("swap", "Later please", "open")
    ]
    assert (listed[0]["person_name"], listed[0]["startup_name"]) == ("Ines", "Padily")
    closed = await client.post(f"/api/events/mm/meetings/change-requests/{listed[0]['id']}/close")
    assert closed.json()["status"] == "done"


async def test_investor_profiles_give_fit_with_why_and_hard_gates(client):
    await setup_event(client)
    await as_user(client, "ines@lion.example")
    profile = {
        "investor_type": "vc",
        "country": "SG",
        "sectors": ["agritech"],
        "stages": ["seed"],
        "ticket_min_usd": 100000,
        "ticket_max_usd": 1000000,
        "countries_of_interest": ["ID", "SG"],
        "thesis": "Rice farmers and food supply chains",
    }
    saved = await client.put("/api/events/mm/meetings/investor-profile", json=profile)
    assert saved.status_code == 200, saved.text
    assert saved.json()["firm_name"] == "Lion Ventures"
    # Leo is of the same firm: one profile.
    await as_user(client, "leo@lion.example")
    assert (await client.get("/api/events/mm/meetings/investor-profile")).json()[
        "thesis"
    ] == profile["thesis"]
    found = (await client.get("/api/events/mm/meetings/startups")).json()["items"]
    by_name = {s["name"]: s for s in found}
    assert by_name["Padily"]["gate"] is None and by_name["Padily"]["fit"] > 0
    assert "geography" in by_name["Padily"]["why"] and "thesis" in by_name["Padily"]["why"]
    assert by_name["Payku"]["gate"] == "country" and by_name["Payku"]["fit"] == 0
    assert [s["name"] for s in found] == ["Padily", "Payku"]
    only_vn = (await client.get("/api/events/mm/meetings/startups?country=VN")).json()
    assert [s["name"] for s in only_vn["items"]] == ["Payku"]
    await as_user(client, "sam@padily.example")
    investors = (await client.get("/api/events/mm/meetings/investors")).json()["items"]
    assert investors[0]["firm_name"] == "Lion Ventures" and investors[0]["fit"] > 0
    bad = await client.put(
        "/api/events/mm/meetings/investor-profile", json={**profile, "ticket_min_usd": 5}
    )
    assert bad.status_code == 403  # start-ups have no investor profile


async def test_the_calendar_feed_parses_and_carries_changes_and_cancellations(client):
    ids = await setup_event(client)
    await as_user(client, "ines@lion.example")
    link = (await client.post("/api/events/mm/meetings/feed")).json()["url"]
    made = (
        await client.post(
            "/api/events/mm/meetings/requests",
            json={"counterpart_id": ids["padi"], "slot_id": ids["slots"][1]},
        )
    ).json()
    client.cookies.clear()
    feed = await client.get(link)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(feed.content)
    [event] = calendar.walk("VEVENT")
    assert str(event["uid"]) == f"meeting-{made['id']}@eventapp"
    assert str(event["status"]) == "TENTATIVE" and int(event["sequence"]) == 0
    assert event.decoded("dtstart").utcoffset() == timedelta(hours=8)  # Asia/Singapore
    assert event.decoded("dtstart").hour == 10 and event.decoded("dtstart").minute == 20
    await as_user(client, "ines@lion.example")
    await client.post(f"/api/events/mm/meetings/{made['id']}/cancel")
    client.cookies.clear()
    [event] = icalendar.Calendar.from_ical((await client.get(link)).content).walk("VEVENT")
    assert str(event["uid"]) == f"meeting-{made['id']}@eventapp"
    assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 1
    assert (await client.get("/api/calendar/not-a-token")).status_code == 404
    mails = await OutboxMessage.select().where(OutboxMessage.kind == "meeting_changed")
    assert any(
        "CANCEL" in str(m["attachments"]) or m["subject"].startswith("Meeting off") for m in mails
    )


async def test_the_calendar_feed_ends_with_the_role_or_the_account(client):
    """A feed link outlives no access: the role removed, or the account deactivated, it is gone."""
    ids = await setup_event(client)
    links = {}
    for email in ("sam@padily.example", "ines@lion.example"):
        await as_user(client, email)
        links[email] = (await client.post("/api/events/mm/meetings/feed")).json()["url"]
    client.cookies.clear()
    assert [(await client.get(link)).status_code for link in links.values()] == [200, 200]
    await accounts.revoke_role(ids["people"]["sam"], ids["event_id"], Role.startup)
    assert (await client.get(links["sam@padily.example"])).status_code == 404
    await User.update({User.is_active: False}).where(User.id == ids["people"]["ines"])
    assert (await client.get(links["ines@lion.example"])).status_code == 404


async def test_a_password_change_ends_the_calendar_links(client):
    """Whoever knew the old password may have made a feed link: it ends with the sessions."""
    await setup_event(client)
    await as_user(client, "ines@lion.example")
    link = (await client.post("/api/events/mm/meetings/feed")).json()["url"]
    changed = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "a whole new passphrase"},
    )
    assert changed.status_code in (200, 204), changed.text
    client.cookies.clear()
    assert (await client.get(link)).status_code == 404


async def test_feedback_after_the_meeting_makes_the_report_and_its_csv(client):
    past = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    ids = await setup_event(client, day=past)
    meetings = []
    for email, counterpart, slot in (
        ("ines@lion.example", ids["padi"], ids["slots"][0]),
        ("kenji@sakura.example", ids["pay"], ids["slots"][1]),
    ):
        await as_user(client, email)
        meetings.append(
            (
                await client.post(
                    "/api/events/mm/meetings/requests",
                    json={"counterpart_id": counterpart, "slot_id": slot},
                )
            ).json()
        )
    for email, meeting in (("sam@padily.example", meetings[0]), ("pia@payku.example", meetings[1])):
        await as_user(client, email)
        await client.post(f"/api/events/mm/meetings/{meeting['id']}/accept")
    await as_user(client, "ines@lion.example")
    given = await client.post(
        f"/api/events/mm/meetings/{meetings[0]['id']}/feedback",
        json={"happened": True, "interest": "due_diligence"},
    )
    assert given.status_code == 200, given.text
    await as_user(client, "pia@payku.example")
    await client.post(
        f"/api/events/mm/meetings/{meetings[1]['id']}/feedback",
        json={"happened": False, "interest": "none"},
    )
    await as_user(client, "admin@example.org")
    summary = (await client.get("/api/events/mm/meetings/report")).json()
    assert summary == {
        "meetings": 2,
        "held": 1,
        "no_shows": 1,
        "no_show_rate": 0.5,
        "follow_ups": 1,
    }
    rows = (await client.get("/api/events/mm/meetings/report/rows?kind=startup")).json()["items"]
    assert [(r["name"], r["held"], r["no_shows"], r["follow_ups"]) for r in rows] == [
        ("Padily", 1, 0, 1),
        ("Payku", 0, 1, 0),
    ]
    csv_text = await client.get("/api/events/mm/meetings/report.csv")
    assert csv_text.headers["content-type"].startswith("text/csv")
    lines = csv_text.text.strip().splitlines()
    assert lines[0] == "kind,id,name,meetings,held,no_shows,follow_ups"
    assert lines[-1] == "total,,,2,1,1,1"


async def test_feedback_waits_for_the_meeting_and_strangers_see_nothing(client):
    ids = await setup_event(client)
    await as_user(client, "ines@lion.example")
    made = (
        await client.post(
            "/api/events/mm/meetings/requests",
            json={"counterpart_id": ids["padi"], "slot_id": ids["slots"][0]},
        )
    ).json()
    await as_user(client, "sam@padily.example")
    await client.post(f"/api/events/mm/meetings/{made['id']}/accept")
    early = await client.post(
        f"/api/events/mm/meetings/{made['id']}/feedback", json={"happened": True}
    )
    assert early.status_code == 409 and early.json()["reason"] == "meeting_not_started"
    await as_user(client, "pia@payku.example")
    assert (await client.post(f"/api/events/mm/meetings/{made['id']}/cancel")).status_code == 404


async def test_caps_and_rules_hold_through_a_random_walk_of_changes(client):
    """Requests, answers, cancels, moves and expiries in random order: after each, every rule
    holds and each cap counter equals the party's active meetings."""
    ids = await setup_event(client, tables=2, max_investor=2, max_startup=2)
    event = await event_by_slug("mm")
    people = ids["people"]
    investors = [
        service.Party("investor", people[name], people[name], ids[firm])
        for name, firm in (("ines", "lion"), ("leo", "lion"), ("kenji", "sakura"))
    ]
    startups = [
        service.Party("startup", people["sam"], ids["padi"]),
        service.Party("startup", people["pia"], ids["pay"]),
    ]
    rng = random.Random(5)
    refused = Counter()
    for _ in range(80):
        action = rng.choice(["request", "request", "accept", "decline", "cancel", "move", "expire"])
        investor, startup = rng.choice(investors), rng.choice(startups)
        active = await Meeting.select().where(Meeting.status.is_in(["pending", "accepted"]))
        try:
            if action == "request":
                side = rng.choice([investor, startup])
                counterpart = startup.party_id if side is investor else investor.user_id
                await service.request_meeting(
                    event, side, counterpart, rng.choice(ids["slots"]), ""
                )
            elif active and action == "expire":
                await (
                    Meeting.update({Meeting.expires_at: datetime.now(UTC) - timedelta(seconds=1)})
                    .where(Meeting.id == rng.choice(active)["id"])
                    .run()
                )
                await service.expire_due(event["id"])
            elif active:
                m = rng.choice(active)
                party = rng.choice(
                    [
                        next(p for p in investors if p.user_id == m["investor"]),
                        next(p for p in startups if p.party_id == m["startup"]),
                    ]
                )
                if action == "move":
                    await service.move_meeting(event, party, m["id"], rng.choice(ids["slots"]))
                else:
                    await service.change_status(event, party, m["id"], action)
        except Exception as error:  # noqa: BLE001 - refusals are expected; their kind is checked
            assert getattr(error, "status_code", None) == 409, error
            refused[error.reason] += 1
        active = await Meeting.select().where(Meeting.status.is_in(["pending", "accepted"]))
        for key in (("investor", "slot"), ("startup", "slot"), ("meeting_table", "slot")):
            assert max(Counter(tuple(m[k] for k in key) for m in active).values(), default=1) == 1
        assert max(Counter((m["firm"], m["startup"]) for m in active).values(), default=1) == 1
        counts = {
            (c["party_kind"], c["party_id"]): c["active"] for c in await MeetingCount.select()
        }
        for kind, column, cap in (("investor", "investor", 2), ("startup", "startup", 2)):
            per_party = Counter(m[column] for m in active)
            for party_id in {*per_party, *(p for k, p in counts if k == kind)}:
                assert counts.get((kind, party_id), 0) == per_party[party_id] <= cap
    assert refused  # the walk did run into the rules


async def test_unavailable_slots_and_fixed_tables_shape_where_requests_go(client):
    ids = await setup_event(client, tables=3, fixed_tables=True)
    s0, s1, s2 = ids["slots"]
    await as_user(client, "sam@padily.example")
    marked = await client.put("/api/events/mm/meetings/unavailable", json={"slot_ids": [s0]})
    assert marked.json() == {"slot_ids": [s0]}
    await as_user(client, "ines@lion.example")
    free = await client.get(f"/api/events/mm/meetings/free-slots?counterpart_id={ids['padi']}")
    assert [s["id"] for s in free.json()["items"]] == [s1, s2]
    refused = await client.post(
        "/api/events/mm/meetings/requests", json={"counterpart_id": ids["padi"], "slot_id": s0}
    )
    assert refused.status_code == 409 and refused.json()["reason"] == "startup_busy"
    # With fixed tables each start-up keeps its own: Padily (the first) sits at T01, Payku at T02.
    padily = await client.post(
        "/api/events/mm/meetings/requests", json={"counterpart_id": ids["padi"], "slot_id": s1}
    )
    await as_user(client, "kenji@sakura.example")
    payku = await client.post(
        "/api/events/mm/meetings/requests", json={"counterpart_id": ids["pay"], "slot_id": s2}
    )
    assert (padily.json()["table_label"], payku.json()["table_label"]) == ("T01", "T02")
    other_slot = await client.put("/api/events/mm/meetings/unavailable", json={"slot_ids": [999]})
    assert other_slot.status_code == 404


async def test_a_pair_that_meets_in_one_event_may_meet_in_another(client):
    ids = await setup_event(client)
    await make_event(client, "mm2")
    other = (await event_by_slug("mm2"))["id"]
    await client.post("/api/events/mm2/tables/bulk", json={"count": 2, "prefix": "T"})
    grid = {"slot_minutes": 20, "blocks": [{"day": FUTURE_DAY, "start": "10:00", "end": "11:00"}]}
    assert (await client.put("/api/events/mm2/meetings/grid", json=grid)).status_code == 200
    await accounts.grant_role(ids["people"]["ines"], other, Role.investor)
    await accounts.grant_role(ids["people"]["sam"], other, Role.startup)
    slots = (await client.get("/api/events/mm2/meetings/slots")).json()["items"]
    await as_user(client, "ines@lion.example")
    for slug, slot in (("mm", ids["slots"][0]), ("mm2", slots[0]["id"])):
        made = await client.post(
            f"/api/events/{slug}/meetings/requests",
            json={"counterpart_id": ids["padi"], "slot_id": slot},
        )
        assert made.status_code == 201, (slug, made.text)


async def test_a_start_up_that_does_not_take_part_cannot_hold_investors_slots(client, monkeypatch):
    ids = await setup_event(client)

    async def only_padily(event_id: int) -> list[dict]:  # Payku was not selected
        return [{"organisation_id": ids["padi"]}]

    monkeypatch.setattr(service, "participating_startups", only_padily)
    await as_user(client, "pia@payku.example")
    refused = await client.post(
        "/api/events/mm/meetings/requests",
        json={"counterpart_id": ids["people"]["kenji"], "slot_id": ids["slots"][0]},
    )
    assert refused.status_code == 403 and refused.json()["reason"] == "not_taking_part"
    await as_user(client, "sam@padily.example")
    allowed = await client.post(
        "/api/events/mm/meetings/requests",
        json={"counterpart_id": ids["people"]["kenji"], "slot_id": ids["slots"][0]},
    )
    assert allowed.status_code == 201, allowed.text


def test_report_cells_are_never_spreadsheet_formulas():
    from eventapp.spreadsheets import safe_cell

    assert [safe_cell(v) for v in ("=HYPERLINK(1)", "+1", "-x", "@a", "Padily", 3, None)] == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-x",
        "'@a",
        "Padily",
        3,
        "",
    ]
