"""Door check-in: pretix's answers and reasons, retries, offline uploads, races, undo, search."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventapp.db import fetch_all_off_loop
from eventapp.tickets import service
from eventapp.tickets.signer import ALPHABET, TicketSigner, generate_key
from tests.tickets_helpers import bearer, scan, ticket, venue


async def test_a_ticket_enters_once_and_the_second_scan_names_the_first(client):
    v = await venue(client)
    t = await ticket(client, v)
    first = await scan(client, v, t["secret"], gate="North")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "ok" and body["attendee"]["name"] == "Ana Santos"
    assert body["attendee"]["ticket_type"] == "Attendee" and body["list"] == "Day 1"
    again = await scan(client, v, t["secret"], gate="South")
    assert again.status_code == 400
    refused = again.json()
    assert refused["status"] == "error" and refused["reason"] == "already_redeemed"
    assert refused["earlier"]["gate"] == "North" and refused["earlier"]["staff"] == "Door"
    assert refused["earlier"]["scanned_at"] == body["scanned_at"]


async def test_unknown_and_forged_secrets_are_invalid_404(client):
    v = await venue(client)
    t = await ticket(client, v)
    forged = TicketSigner(generate_key()[0]).sign(t["id"], v.types["attendee"]["id"])
    for secret in ("hello", forged, t["secret"][:-1] + ("A" if t["secret"][-1] != "A" else "Q")):
        response = await scan(client, v, secret)
        assert response.status_code == 404
        assert response.json() == {
            "status": "error",
            "reason": "invalid",
            "detail": "This is not a ticket of this event.",
        }


async def test_canceled_blocked_and_reissued_tickets_are_refused_with_their_reason(client):
    v = await venue(client)
    canceled = await ticket(client, v, email="c@example.org")
    blocked = await ticket(client, v, email="b@example.org")
    reissued = await ticket(client, v, email="r@example.org")
    slug = v.slug
    assert (
        await client.post(f"/api/events/{slug}/tickets/{canceled['id']}/cancel")
    ).status_code == 200
    assert (
        await client.post(f"/api/events/{slug}/tickets/{blocked['id']}/block")
    ).status_code == 200
    fresh = (await client.post(f"/api/events/{slug}/tickets/{reissued['id']}/reissue")).json()
    assert fresh["secret"] != reissued["secret"]
    assert (await scan(client, v, canceled["secret"])).json()["reason"] == "canceled"
    assert (await scan(client, v, blocked["secret"])).json()["reason"] == "blocked"
    old = await scan(client, v, reissued["secret"])
    assert old.status_code == 400 and old.json()["reason"] == "revoked"
    assert old.json()["attendee"]["name"] == "Ana Santos"
    assert (await scan(client, v, fresh["secret"])).status_code == 201
    # Unblocked, the ticket passes again; the revocation list no longer names it.
    revoked = (await client.get(f"/api/events/{slug}/revocations", headers=v.door)).json()
    assert revoked["total"] == 3
    await client.post(f"/api/events/{slug}/tickets/{blocked['id']}/unblock")
    assert (await scan(client, v, blocked["secret"])).status_code == 201
    revoked = (await client.get(f"/api/events/{slug}/revocations", headers=v.door)).json()
    assert revoked["total"] == 2


async def test_the_wrong_list_and_the_wrong_day_are_product_and_invalid_time(client):
    v = await venue(client)
    t = await ticket(client, v)
    wrong_list = await scan(client, v, t["secret"], "Investor lounge")
    assert wrong_list.status_code == 400 and wrong_list.json()["reason"] == "product"
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    day2 = await client.post(
        f"/api/events/{v.slug}/checkin-lists",
        json={
            "name": "Day 2",
            "valid_from": tomorrow.isoformat(),
            "valid_until": (tomorrow + timedelta(hours=9)).isoformat(),
        },
    )
    v.lists["Day 2"] = day2.json()
    today = await scan(client, v, t["secret"], "Day 2")
    assert today.status_code == 400 and today.json()["reason"] == "invalid_time"
    # An online scan is dated by the server: a device saying "it is tomorrow" changes nothing.
    on_the_day = (tomorrow + timedelta(hours=1)).isoformat()
    claimed = await scan(client, v, t["secret"], "Day 2", scanned_at=on_the_day)
    assert claimed.status_code == 400 and claimed.json()["reason"] == "invalid_time"
    # A scan made offline on the day and uploaded now counts as made then.
    uploaded = await scan(client, v, t["secret"], "Day 2", scanned_at=on_the_day, offline=True)
    assert uploaded.status_code == 201 and not uploaded.json().get("conflict")


async def test_exit_and_re_entry(client):
    v = await venue(client)
    t = await ticket(client, v, kind="investor")
    lounge = "Investor lounge"
    assert (await scan(client, v, t["secret"], lounge, type="exit")).json()["reason"] == "rules"
    assert (await scan(client, v, t["secret"], lounge)).status_code == 201
    assert (await scan(client, v, t["secret"], lounge)).json()["reason"] == "already_redeemed"
    assert (await scan(client, v, t["secret"], lounge, type="exit")).status_code == 201
    assert (await scan(client, v, t["secret"], lounge)).status_code == 201
    # Day 1 scans no exits; the hall admits any number of times.
    assert (await scan(client, v, t["secret"], "Day 1", type="exit")).json()["reason"] == "rules"
    for _ in range(3):
        assert (await scan(client, v, t["secret"], "Hall")).status_code == 201
    counts = (await client.get(f"/api/events/{v.slug}/checkin-counts")).json()
    by_list = {row["list"]: row for row in counts["lists"]}
    assert by_list[lounge] == {
        "list_id": v.lists[lounge]["id"],
        "list": lounge,
        "inside": 1,
        "entries": 2,
        "exits": 1,
    }
    assert by_list["Hall"]["entries"] == 3
    assert sum(bucket["entries"] for bucket in counts["arrivals"]) == 5


async def test_a_retried_nonce_returns_the_first_answer_and_counts_once(client):
    v = await venue(client)
    t = await ticket(client, v)
    body = {"secret": t["secret"], "list": v.lists["Day 1"]["id"], "type": "entry", "nonce": "x1"}
    url = f"/api/events/{v.slug}/checkins"
    first = await client.post(url, json=body, headers=v.door)
    retry = await client.post(url, json=body, headers=v.door)
    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    refused = await client.post(url, json={**body, "nonce": "x2"}, headers=v.door)
    refused_again = await client.post(url, json={**body, "nonce": "x2"}, headers=v.door)
    assert refused.json() == refused_again.json() and refused.json()["reason"] == "already_redeemed"
    scans = (await client.get(f"/api/events/{v.slug}/checkins", headers=v.door)).json()
    assert scans["total"] == 2
    counts = (await client.get(f"/api/events/{v.slug}/checkin-counts")).json()
    assert counts["lists"][0]["entries"] == 1


async def test_offline_uploads_are_recorded_never_refused_and_flagged_on_conflict(client):
    v = await venue(client)
    t = await ticket(client, v)
    other = await ticket(client, v, email="b@example.org")
    earlier = datetime.now(UTC) - timedelta(minutes=30)
    online = await scan(client, v, t["secret"], gate="North")
    assert online.status_code == 201
    upload = await scan(
        client, v, t["secret"], gate="South", offline=True, scanned_at=earlier.isoformat()
    )
    assert upload.status_code == 201
    assert (
        upload.json()["conflict"] is True and upload.json()["conflict_reason"] == "already_redeemed"
    )
    clean = await scan(client, v, other["secret"], offline=True, scanned_at=earlier.isoformat())
    assert clean.status_code == 201 and clean.json()["conflict"] is False
    assert clean.json()["scanned_at"].startswith(earlier.isoformat()[:19])
    flagged = (
        await client.get(
            f"/api/events/{v.slug}/checkins", params={"conflicts": True}, headers=v.door
        )
    ).json()
    assert [row["gate"] for row in flagged["items"]] == ["South"]


async def test_an_organiser_undoes_an_admission_and_the_ticket_enters_again(client):
    v = await venue(client)
    t = await ticket(client, v)
    admitted = (await scan(client, v, t["secret"])).json()
    undo = await client.post(f"/api/events/{v.slug}/checkins/{admitted['checkin_id']}/undo")
    assert undo.status_code == 200 and undo.json()["undone"] is True
    again = await client.post(f"/api/events/{v.slug}/checkins/{admitted['checkin_id']}/undo")
    assert again.status_code == 409 and again.json()["reason"] == "not_undoable"
    assert (await scan(client, v, t["secret"])).status_code == 201
    # Door staff may scan but not undo.
    door_undo = await client.post(
        f"/api/events/{v.slug}/checkins/{admitted['checkin_id']}/undo", headers=v.door
    )
    assert door_undo.status_code == 403


async def test_door_staff_find_people_without_their_qr_by_name_or_email(client):
    v = await venue(client)
    await ticket(client, v, email="putri@example.org", name="Putri Wijaya")
    await ticket(client, v, email="budi@example.org", name="Budi Santoso")
    found = await client.get(f"/api/events/{v.slug}/tickets", params={"q": "putri"}, headers=v.door)
    assert found.status_code == 200
    [person] = found.json()["items"]
    assert person["name"] == "Putri Wijaya"
    assert (await scan(client, v, person["secret"])).status_code == 201


async def test_only_door_staff_and_organisers_of_that_event_check_in(client):
    from eventapp.accounts.schemas import Role
    from tests.helpers import make_event, user_with_role

    v = await venue(client)
    t = await ticket(client, v)
    await user_with_role(v.slug, "ines@example.org", Role.investor)
    investor = await bearer(client, "ines@example.org")
    body = {"secret": t["secret"], "list": v.lists["Day 1"]["id"], "nonce": "a"}
    url = f"/api/events/{v.slug}/checkins"
    assert (await client.post(url, json=body, headers=investor)).status_code == 403
    await make_event(client, "other", published=True)
    await user_with_role("other", "elsewhere@example.org", Role.door_staff)
    elsewhere = await bearer(client, "elsewhere@example.org")
    assert (await client.post(url, json=body, headers=elsewhere)).status_code == 403
    client.cookies.clear()
    assert (await client.post(url, json=body)).status_code == 401
    unknown_list = await client.post(url, json={**body, "list": 999}, headers=v.door)
    assert unknown_list.status_code == 404 and unknown_list.json()["reason"] == "list_unknown"


async def test_200_concurrent_scans_of_one_ticket_admit_exactly_one(client):
    v = await venue(client)
    t = await ticket(client, v)
    answers = await asyncio.gather(
        *(scan(client, v, t["secret"], gate=f"G{i % 4}") for i in range(200))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) == 1 and statuses.count(400) == 199, statuses
    assert {a.json()["reason"] for a in answers if a.status_code == 400} == {"already_redeemed"}


_alphabet = sorted(ALPHABET)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_mutated_and_forged_secrets_are_invalid_never_accepted_never_500(client, data):
    # One venue for all examples: hypothesis calls the test body once per example.
    global _property_venue
    if "_property_venue" not in globals() or _property_venue[0] is not client:
        v = await venue(client)
        _property_venue = (client, v, (await ticket(client, v))["secret"])
    _, v, secret = _property_venue
    mutation = data.draw(st.sampled_from(["char", "truncate", "extend", "garbage", "forged"]))
    if mutation == "char":
        at = data.draw(st.integers(0, len(secret) - 1))
        char = data.draw(st.sampled_from([c for c in _alphabet if c != secret[at]]))
        candidate = secret[:at] + char + secret[at + 1 :]
    elif mutation == "truncate":
        candidate = secret[: data.draw(st.integers(1, len(secret) - 1))]
    elif mutation == "extend":
        candidate = secret + data.draw(st.text(st.sampled_from(_alphabet), min_size=1, max_size=5))
    elif mutation == "garbage":
        candidate = data.draw(st.text(min_size=1, max_size=300).filter(lambda s: "\x00" not in s))
    else:
        candidate = TicketSigner(generate_key()[0]).sign(
            data.draw(st.integers(0, 2**32 - 1)), data.draw(st.integers(0, 2**16 - 1))
        )
    response = await scan(client, v, candidate)
    assert response.status_code == 404, (candidate, response.text)
    assert response.json()["reason"] == "invalid"


@pytest.mark.parametrize("path", ["/scanner-key", "/revocations", "/checkin-lists"])
async def test_scanners_download_the_public_key_lists_and_revocations(client, path):
    v = await venue(client)
    response = await client.get(f"/api/events/{v.slug}{path}", headers=v.door)
    assert response.status_code == 200
    if path == "/scanner-key":
        body = response.json()
        assert body["algorithm"] == "Ed25519" and len(body["public_key"]) == 44
        assert "private" not in response.text


async def test_a_blocked_ticket_re_issued_stays_on_the_revocation_list(client):
    from eventapp.tickets.signer import revocation_digest

    v = await venue(client)
    t = await ticket(client, v)
    await client.post(f"/api/events/{v.slug}/tickets/{t['id']}/block")
    fresh = (await client.post(f"/api/events/{v.slug}/tickets/{t['id']}/reissue")).json()
    digests = {
        row["digest"]
        for row in (await client.get(f"/api/events/{v.slug}/revocations", headers=v.door)).json()[
            "items"
        ]
    }
    assert {revocation_digest(t["secret"]), revocation_digest(fresh["secret"])} <= digests
    assert (await scan(client, v, fresh["secret"])).json()["reason"] == "blocked"


async def test_a_late_offline_upload_does_not_become_the_tickets_state(client):
    """Inside, then out; a gate that was offline uploads an entry from before both: the ticket's
    state is still what happened last (out), so it may enter again."""
    v = await venue(client)
    t = await ticket(client, v, kind="investor")
    lounge = "Investor lounge"
    assert (await scan(client, v, t["secret"], lounge)).status_code == 201
    assert (await scan(client, v, t["secret"], lounge, type="exit")).status_code == 201
    before = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    late = await scan(client, v, t["secret"], lounge, offline=True, scanned_at=before)
    assert late.status_code == 201
    again = await scan(client, v, t["secret"], lounge)
    assert again.status_code == 201, again.json()


async def _scans_arriving_together(client, v) -> list:
    """One of each kind of scan, all sent at once (a batch on PostgreSQL, a group on SQLite)."""
    twice = await ticket(client, v, email="twice@example.org")
    retried = await ticket(client, v, email="retry@example.org")
    replaced = await ticket(client, v, email="old@example.org")
    new_secret = (
        await client.post(f"/api/events/{v.slug}/tickets/{replaced['id']}/reissue")
    ).json()["secret"]
    nonce = f"together-{twice['id']}"
    answers = await asyncio.gather(
        scan(client, v, twice["secret"], gate="North"),
        scan(client, v, twice["secret"], gate="South"),
        scan(client, v, retried["secret"], nonce=nonce),
        scan(client, v, retried["secret"], nonce=nonce),
        scan(client, v, replaced["secret"]),
        scan(client, v, new_secret),
        scan(client, v, "no-such-ticket"),
    )
    return answers


def _check_together(answers: list) -> None:
    first, second, retry_a, retry_b, old, new, unknown = answers
    assert sorted([first.status_code, second.status_code]) == [201, 400]
    admitted_gate, refused = ("North", second) if first.status_code == 201 else ("South", first)
    assert refused.json()["reason"] == "already_redeemed"
    assert refused.json()["earlier"]["gate"] == admitted_gate  # names the scan that admitted
    assert refused.json()["earlier"]["staff"] == "Door"
    assert retry_a.status_code == retry_b.status_code == 201
    assert retry_a.json() == retry_b.json()  # the same answer, the same check-in
    assert old.status_code == 400 and old.json()["reason"] == "revoked"
    assert new.status_code == 201
    assert unknown.status_code == 404 and unknown.json()["reason"] == "invalid"


async def test_scans_arriving_together_are_answered_as_one_after_another(client):
    v = await venue(client)
    _check_together(await _scans_arriving_together(client, v))
    rows = (
        await client.get(f"/api/events/{v.slug}/checkins?q=retry@example.org", headers=v.door)
    ).json()
    assert rows["total"] == 1  # the retried nonce was written once
    counts = (await client.get(f"/api/events/{v.slug}/checkin-counts")).json()
    day_one = next(c for c in counts["lists"] if c["list"] == "Day 1")
    assert day_one["entries"] == 3  # twice (once), retry (once), the re-issued ticket


def _door_scan(event_id: int, door: int, list_id: int, secret: str, nonce: str, **more):
    """A scan straight into the service: scans started together arrive in one loop turn."""
    return service.check_in(
        event_id, secret=secret, list_id=list_id, kind="entry", nonce=nonce, staff_id=door, **more
    )


async def test_a_retry_arriving_with_other_scans_gets_its_first_answer_and_they_theirs(
    client, monkeypatch
):
    """A scanner retries a scan whose answer it lost while other doors scan (one batch on
    PostgreSQL, decided again knowing the nonce; one group on SQLite): the retry counts once and
    answers as the first time, and the scans beside it are decided in the order they came."""
    run_alone: list = []

    async def alone(scan):
        run_alone.append(scan)
        return await service._check_in_postgres_one(scan)

    monkeypatch.setattr(service._postgres_scans, "_alone", alone)
    v = await venue(client)
    event_id, door = await _ids_of(v.slug)
    day_one = v.lists["Day 1"]["id"]
    for round_ in range(5):  # had the order been left to chance, one round would show it
        lost = await ticket(client, v, email=f"lost{round_}@example.org")
        other = await ticket(client, v, email=f"other{round_}@example.org")
        first = await _door_scan(event_id, door, day_one, lost["secret"], f"lost-{round_}")
        retry, north, south = await asyncio.gather(
            _door_scan(event_id, door, day_one, lost["secret"], f"lost-{round_}"),
            _door_scan(event_id, door, day_one, other["secret"], f"n-{round_}", gate="North"),
            _door_scan(event_id, door, day_one, other["secret"], f"s-{round_}", gate="South"),
        )
        assert first[0] == retry[0] == 201 and retry == first
        assert north[0] == 201
        assert south[0] == 400 and south[1]["earlier"]["gate"] == "North"
    counts = (await client.get(f"/api/events/{v.slug}/checkin-counts")).json()
    entries = next(c for c in counts["lists"] if c["list_id"] == day_one)["entries"]
    assert entries == 10
    assert not run_alone  # the batch was decided again, not given up scan by scan


async def test_a_postgres_batch_one_scan_failed_answers_each_scan_on_its_own(
    client, engine_kind, monkeypatch
):
    _postgres_only(engine_kind)

    async def failing(scans, replays):
        raise asyncpg.exceptions.LockNotAvailableError("could not obtain lock on row")

    monkeypatch.setattr(service, "_decide_and_write", failing)
    v = await venue(client)
    _check_together(await _scans_arriving_together(client, v))


async def test_a_postgres_batch_that_lost_its_server_is_every_scans_error_once(
    client, engine_kind, monkeypatch
):
    """The database went away: each scan of the batch hears it at once, and none is tried
    again on its own (a batch of forty would wait forty connection timeouts)."""
    _postgres_only(engine_kind)
    v = await venue(client)
    t = await ticket(client, v)
    event_id, door = await _ids_of(v.slug)
    day_one = v.lists["Day 1"]["id"]
    await service._checkin_list(event_id, day_one)
    attempts, run_alone = [], []

    async def gone(scans, replays):
        attempts.append(len(scans))
        raise ConnectionResetError("the server closed the connection")

    async def alone(scan):
        run_alone.append(scan)

    monkeypatch.setattr(service, "_decide_and_write", gone)
    monkeypatch.setattr(service._postgres_scans, "_alone", alone)
    answers = await asyncio.gather(
        *(_door_scan(event_id, door, day_one, t["secret"], f"gone-{n}") for n in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(answer, ConnectionResetError) for answer in answers)
    assert attempts == [3] and not run_alone


# --------------------------------------------------------------------------------------------------
# PostgreSQL decides the scans arriving together in one batch: exactly as one after another.


def _postgres_only(engine_kind: str) -> None:
    if engine_kind != "postgres":
        pytest.skip("the batch is PostgreSQL's; SQLite groups its writes (test_db_sqlite)")


async def _ids_of(slug: str) -> tuple[int, int]:
    event = await fetch_all_off_loop("SELECT id FROM events WHERE slug = {}", slug)
    door = await fetch_all_off_loop("SELECT id FROM users WHERE email = {}", "door@example.org")
    return event[0]["id"], door[0]["id"]


def _comparable(result) -> object:
    if isinstance(result, Exception):
        return repr(result)
    status, answer = result
    answer = {key: value for key, value in answer.items() if key != "checkin_id"}
    if "attendee" in answer:
        answer["attendee"] = {k: v for k, v in answer["attendee"].items() if k != "ticket_id"}
    return status, answer


async def test_a_batch_answers_as_the_same_scans_one_after_another(client, engine_kind):
    """Random runs of scans (entries and exits, offline uploads early and late, old and new
    secrets of a re-issued ticket, unknown codes, nonces reused) on two identical sets of
    tickets: decided as one batch, and one by one through the single path."""
    _postgres_only(engine_kind)
    v = await venue(client, capacity=500)
    event_id, door = await _ids_of(v.slug)
    lists = {name: await service._checkin_list(event_id, v.lists[name]["id"]) for name in v.lists}
    rng = random.Random(7)
    base = datetime.now(UTC) - timedelta(hours=1)
    for round_ in range(12):
        copies = {}
        for copy in ("one", "batch"):
            secrets = []
            for i, kind in enumerate(("attendee", "vip", "vip")):
                t = await ticket(client, v, kind, email=f"{copy}{round_}x{i}@example.org")
                secrets.append(t["secret"])
            reissued = await client.post(f"/api/events/{v.slug}/tickets/{t['id']}/reissue")
            copies[copy] = [*secrets, reissued.json()["secret"], "not-a-ticket"]
        plan = [
            {
                "which": rng.randrange(5),
                "list": rng.choice(list(lists)),
                "kind": rng.choice(["entry", "entry", "exit"]),
                "offline": rng.random() < 0.3,
                "moment": base + timedelta(seconds=i * 10 + rng.choice([0, 0, -50, 200])),
                "nonce": rng.randrange(6),
                "gate": f"g{i}",
            }
            for i in range(rng.randint(2, 10))
        ]
        answers = {}
        for copy, secrets in copies.items():
            scans = [
                service._Scan(
                    event_id,
                    lists[p["list"]],
                    secrets[p["which"]],
                    p["kind"],
                    f"{copy}-{round_}-{p['nonce']}",
                    door,
                    p["moment"],
                    p["offline"],
                    p["gate"],
                )
                for p in plan
            ]
            if copy == "batch":
                results = await service._check_in_postgres_batch(scans)
            else:
                results = [await service._check_in_postgres_one(scan) for scan in scans]
            answers[copy] = [_comparable(result) for result in results]
        assert answers["batch"] == answers["one"], (round_, plan)


@contextlib.asynccontextmanager
async def _locked_elsewhere(database_url: str, ticket_ids: list[int]):
    """The tickets held FOR UPDATE by another connection (a re-issue, another process) until
    `release()` is awaited or the block ends."""
    other = await asyncpg.connect(database_url)
    try:
        holding = other.transaction()
        await holding.start()
        await other.execute(
            "SELECT 1 FROM tickets WHERE id = ANY($1::integer[]) FOR UPDATE", ticket_ids
        )
        yield holding.rollback
    finally:
        await other.close()


async def test_a_ticket_locked_elsewhere_does_not_hold_up_other_scans(
    client, engine_kind, database_url
):
    """A re-issue (or another process) holds tickets A and C: B, scanned with A in one batch,
    and D, scanned after both, are answered meanwhile."""
    _postgres_only(engine_kind)
    v = await venue(client)
    a, b, c, d = [await ticket(client, v, email=f"{name}@example.org") for name in "abcd"]
    event_id, door = await _ids_of(v.slug)
    day_one = v.lists["Day 1"]["id"]
    async with _locked_elsewhere(database_url, [a["id"], c["id"]]) as release:

        def scan_of(t: dict):
            return asyncio.ensure_future(
                _door_scan(event_id, door, day_one, t["secret"], f"locked-{t['id']}")
            )

        scan_a, scan_b = scan_of(a), scan_of(b)
        await asyncio.sleep(0.1)
        scan_c = scan_of(c)
        await asyncio.sleep(0.1)
        scan_d = scan_of(d)
        done, _ = await asyncio.wait({scan_b, scan_d}, timeout=1.5)
        waiting = not scan_a.done() and not scan_c.done()
        await release()
        assert len(done) == 2, "a scan waited for another ticket's lock"
        assert waiting  # A and C waited for their own locks
        answers = await asyncio.wait_for(asyncio.gather(scan_a, scan_b, scan_c, scan_d), 5)
        assert [status for status, _ in answers] == [201] * 4


async def test_a_batch_keeps_looking_up_last_admissions_by_index_as_checkins_grows(
    engine_kind, database_url
):
    """When the doors open, `checkins` is small and never analysed, and that is when a pooled
    connection settles on the plan it keeps for the batch's statement: the plan must still
    look each ticket up by index once thousands of scans are in, not read the whole table for
    every batch (the statement before it did, and the door slowed as the queue grew)."""
    _postgres_only(engine_kind)
    grow = (
        "INSERT INTO checkins (event, checkin_list, ticket, kind, nonce, successful, reason,"
        " scanned_at, created_at, gate, offline, conflict, answer)"
        " SELECT 1, 1, n, 'entry', n::text, true, '', now(), now(), '', false, false, '{}'"
        " FROM generate_series($1::integer, $2::integer) AS n"
    )
    pairs = "ARRAY[" + ",".join(["1"] * 16) + "]"
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            # This session's own `checkins` (temporary tables come first), never analysed.
            await connection.execute(
                "CREATE TEMP TABLE checkins (LIKE public.checkins INCLUDING ALL) ON COMMIT DROP"
            )
            await connection.execute(grow, 1, 20)
            await connection.execute(f"PREPARE last_admissions AS {service._PG_LAST}")
            for _ in range(8):  # after five runs the server may keep one generic plan
                await connection.execute(f"EXECUTE last_admissions({pairs}, {pairs})")
            await connection.execute(grow, 21, 5000)
            plan = "\n".join(
                row[0]
                for row in await connection.fetch(
                    f"EXPLAIN EXECUTE last_admissions({pairs}, {pairs})"
                )
            )
    finally:
        await connection.close()
    assert "Seq Scan on checkins" not in plan and "Index Scan" in plan, plan


async def test_a_retry_batch_finds_the_used_nonces_by_their_index_on_a_grown_table(
    engine_kind, database_url
):
    """The used nonces are read only after a retry failed a batch, planned afresh each time
    (`fresh_plan`): on a table grown to thousands of scans, never analysed, that plan reads the
    unique index, where the one kept from when the table was small read every row."""
    _postgres_only(engine_kind)
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            await connection.execute(
                "CREATE TEMP TABLE checkins (LIKE public.checkins INCLUDING ALL) ON COMMIT DROP"
            )
            await connection.execute(
                "INSERT INTO checkins (event, checkin_list, ticket, kind, nonce, successful,"
                " reason, scanned_at, created_at, gate, offline, conflict, answer)"
                " SELECT 1, 1, n, 'entry', n::text, true, '', now(), now(), '', false, false,"
                " '{}' FROM generate_series(1, 5000) AS n"
            )
            statement = await connection.prepare("EXPLAIN " + service._PG_USED_NONCES)
            plan = "\n".join(row[0] for row in await statement.fetch([1, 1], ["7", "8"]))
    finally:
        await connection.close()
    assert "Seq Scan on checkins" not in plan and "nonce" in plan.split("Index")[1], plan


async def test_a_ticket_scanned_while_its_batch_waits_for_a_lock_does_not_overtake_it(
    client, engine_kind, database_url
):
    """A re-issue (or another process) holds ticket T: its batch falls back to waiting for the
    lock, and a second scan of T, sent just after, is decided after the first, not before."""
    _postgres_only(engine_kind)
    v = await venue(client)
    t = await ticket(client, v)
    event_id, door = await _ids_of(v.slug)
    day_one = v.lists["Day 1"]["id"]
    async with _locked_elsewhere(database_url, [t["id"]]) as release:
        first = asyncio.ensure_future(
            _door_scan(event_id, door, day_one, t["secret"], "first", gate="North")
        )
        await asyncio.sleep(0.1)  # its batch failed NOWAIT; it now waits for the lock
        second = asyncio.ensure_future(
            _door_scan(event_id, door, day_one, t["secret"], "second", gate="South")
        )
        await asyncio.sleep(0.1)
        # The second waits for the first's answer, not in a batch of its own.
        assert [entry.item.nonce for entry in service._postgres_scans._queue] == ["second"]
        await release()
        (status_first, _), (status_second, answer) = await asyncio.wait_for(
            asyncio.gather(first, second), 5
        )
    assert status_first == 201
    assert status_second == 400 and answer["earlier"]["gate"] == "North"


async def test_a_tickets_old_and_new_secrets_never_sit_in_two_batches_in_flight(
    client, engine_kind, monkeypatch
):
    """One batch holds ticket A's new secret and B's old one (uploaded offline); B's new secret
    and A's old one, scanned meanwhile, wait for it: in a second batch they would lock each
    other's tickets (crosswise, a deadlock; else a failed batch)."""
    _postgres_only(engine_kind)
    v = await venue(client)
    event_id, door = await _ids_of(v.slug)
    day_one = v.lists["Day 1"]["id"]
    await service._checkin_list(event_id, day_one)  # cached: every scan goes straight in
    old, new = {}, {}
    for name in ("a", "b"):
        t = await ticket(client, v, email=f"{name}@example.org")
        old[name] = t["secret"]
        reissued = await client.post(f"/api/events/{v.slug}/tickets/{t['id']}/reissue")
        new[name] = reissued.json()["secret"]
    release, batches = asyncio.Event(), []
    decide = service._decide_and_write

    async def held_first(scans, replays):
        batches.append([scan.nonce for scan in scans])
        if len(batches) == 1:
            await release.wait()
        return await decide(scans, replays)

    monkeypatch.setattr(service, "_decide_and_write", held_first)
    offline = {"offline": True, "scanned_at": datetime.now(UTC) - timedelta(minutes=1)}

    def scan_of(secret: str, nonce: str, **more):
        return asyncio.ensure_future(_door_scan(event_id, door, day_one, secret, nonce, **more))

    first = [scan_of(new["a"], "a-new"), scan_of(old["b"], "b-old", **offline)]
    await asyncio.sleep(0.05)
    second = [scan_of(new["b"], "b-new"), scan_of(old["a"], "a-old", **offline)]
    await asyncio.sleep(0.05)
    assert batches == [["a-new", "b-old"]]  # the second lane is free, yet they wait
    release.set()
    answers = await asyncio.wait_for(asyncio.gather(*first, *second), 5)
    assert batches == [["a-new", "b-old"], ["b-new", "a-old"]]
    assert [status for status, _ in answers] == [201, 201, 400, 201]
    assert answers[1][1]["conflict_reason"] == answers[3][1]["conflict_reason"] == "revoked"
    assert answers[2][1]["reason"] == "already_redeemed"


def test_a_tickets_scans_share_a_key_whichever_of_its_secrets_they_carry():
    signer = TicketSigner(generate_key()[0])

    def keys_of(secret: str) -> tuple:
        moment = datetime.now(UTC)
        return service._scan_keys(
            service._Scan(1, {"id": 1}, secret, "entry", "n", None, moment, False, "")
        )

    old, new, other = signer.sign(42, 1), signer.sign(42, 1), signer.sign(43, 1)
    assert old != new and keys_of(old)[0] == keys_of(new)[0] != keys_of(other)[0]
    assert keys_of("not a secret")[0] == ("secret", 1, "not a secret")


async def test_text_that_is_no_secret_is_invalid_without_a_database_round_trip(client):
    """A crafted code (a NUL the database would refuse, say) is 404 at once, and cannot fail
    the batch of the scans beside it; a nonce or gate with a NUL is refused as bad input."""
    v = await venue(client)
    t = await ticket(client, v)
    crafted, good = await asyncio.gather(
        scan(client, v, t["secret"][:-1] + "\x00"), scan(client, v, t["secret"])
    )
    assert crafted.status_code == 404 and crafted.json()["reason"] == "invalid"
    assert good.status_code == 201
    for field in ("nonce", "gate"):
        refused = await scan(client, v, t["secret"], **{field: "x\x00"})
        assert refused.status_code == 400, refused.json()
