"""Registration, capacity, waiting lists, CSV import, role tickets, mail, QR codes and badges."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pypdf
import zxingcpp
from PIL import Image

from eventapp.accounts.schemas import Role
from eventapp.mail.service import attachments_of
from eventapp.mail.tables import OutboxMessage
from eventapp.tickets.badges import KINDS, Badge, badge_image, badge_png
from eventapp.tickets.signer import TicketSigner, generate_key
from eventapp.tickets.tables import TicketKey, TicketType, WaitlistEntry
from tests.helpers import user_with_role
from tests.tickets_helpers import ticket, venue

# Scanners read QR codes: a row of modules can also pass for a 1D barcode (ITF).
QR = zxingcpp.BarcodeFormat.QRCode


def decoded(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image, formats=QR)]


async def register(client, v, email: str, kind: str = "attendee", **fields):
    body = {
        "name": "Mei Ling Ng",
        "email": email,
        "organisation": "SGInnovate",
        "ticket_type": v.types[kind]["id"],
        **fields,
    }
    return await client.post(f"/api/events/{v.slug}/registrations", json=body)


async def test_registration_closes_at_capacity_and_offers_the_waiting_list(client):
    v = await venue(client, capacity=2)
    client.cookies.clear()  # registration is public
    answers = [await register(client, v, f"p{i}@example.org") for i in range(4)]
    assert [a.json()["status"] for a in answers] == ["registered"] * 2 + ["waitlisted"] * 2
    assert [a.json()["waitlist_position"] for a in answers[2:]] == [1, 2]
    again = await register(client, v, "P0@example.org")
    assert again.status_code == 409 and again.json()["reason"] == "already_registered"
    waiting_again = await register(client, v, "p3@example.org")
    assert waiting_again.status_code == 409 and waiting_again.json()["reason"] == "already_waiting"
    investor = await register(client, v, "i@example.org", kind="investor")
    assert investor.status_code == 409 and investor.json()["reason"] == "not_public"
    listed = (await client.get(f"/api/events/{v.slug}/ticket-types")).json()
    attendee = next(t for t in listed["items"] if t["kind"] == "attendee")
    assert (attendee["sold"], attendee["available"], attendee["waiting"]) == (2, 0, 2)
    assert "investor" not in {t["kind"] for t in listed["items"]}  # not public


async def test_canceling_a_ticket_gives_its_place_to_the_first_on_the_waiting_list(client):
    v = await venue(client, capacity=1)
    first = await ticket(client, v, email="first@example.org")
    await register(client, v, "waiting@example.org")
    await register(client, v, "later@example.org")
    assert (
        await client.post(f"/api/events/{v.slug}/tickets/{first['id']}/cancel")
    ).status_code == 200
    valid = (await client.get(f"/api/events/{v.slug}/tickets", params={"status": "valid"})).json()
    assert [t["email"] for t in valid["items"]] == ["waiting@example.org"]
    assert valid["items"][0]["source"] == "waitlist"


async def valid_tickets(client, v) -> dict[str, str]:
    """Email -> source of the event's valid tickets."""
    listed = await client.get(f"/api/events/{v.slug}/tickets", params={"status": "valid"})
    return {t["email"]: t["source"] for t in listed.json()["items"]}


async def attendees_waiting(client, v) -> int:
    listed = (await client.get(f"/api/events/{v.slug}/ticket-types")).json()
    return next(t["waiting"] for t in listed["items"] if t["kind"] == "attendee")


async def ticket_mails_to(email: str) -> int:
    return await OutboxMessage.count().where(
        (OutboxMessage.to_address == email) & (OutboxMessage.kind == "ticket")
    )


async def room_left_while_people_wait(v, capacity: int) -> None:
    """The state a capacity raise left before raises promoted the waiting list (databases
    hold it): more places, nobody promoted."""
    await TicketType.update({TicketType.capacity: capacity}).where(
        TicketType.id == v.types["attendee"]["id"]
    )


async def test_raising_a_capacity_gives_the_new_places_to_the_waiting_list_in_order(client):
    v = await venue(client, capacity=1)
    await ticket(client, v, email="holder@example.org")
    for name in ("first", "second", "third"):
        await register(client, v, f"{name}@example.org")
    raised = await client.patch(
        f"/api/events/{v.slug}/ticket-types/{v.types['attendee']['id']}", json={"capacity": 3}
    )
    assert raised.status_code == 200
    assert (raised.json()["sold"], raised.json()["waiting"]) == (3, 1)
    assert await valid_tickets(client, v) == {
        "holder@example.org": "organiser",
        "first@example.org": "waitlist",
        "second@example.org": "waitlist",
    }
    assert [await ticket_mails_to(f"{n}@example.org") for n in ("first", "second", "third")] == [
        1,
        1,
        0,
    ]


async def test_a_waiting_person_given_a_ticket_another_way_leaves_the_waiting_list(client):
    v = await venue(client, capacity=1)
    holder = await ticket(client, v, email="holder@example.org")
    for name in ("first", "second", "third"):
        await register(client, v, f"{name}@example.org")
    await room_left_while_people_wait(v, capacity=3)
    await ticket(client, v, email="second@example.org")  # the organiser issues one
    imported = await client.post(
        f"/api/events/{v.slug}/tickets/import",
        json={"csv": "name,email,ticket_type\nThird,third@example.org,Attendee\n", "send": False},
    )
    assert imported.status_code == 201, imported.text
    assert await attendees_waiting(client, v) == 1  # only first still waits
    canceled = await client.post(f"/api/events/{v.slug}/tickets/{holder['id']}/cancel")
    assert canceled.status_code == 200, canceled.text
    assert await valid_tickets(client, v) == {
        "first@example.org": "waitlist",
        "second@example.org": "organiser",
        "third@example.org": "import",
    }


async def test_promotion_passes_over_a_waiting_person_who_already_holds_the_ticket(client):
    v = await venue(client, capacity=2)
    holder = await ticket(client, v, email="holder@example.org")
    await ticket(client, v, email="first@example.org")
    # A wait that a ticket given another way did not end (databases hold such entries).
    event_id = (await TicketType.select(TicketType.event).first())["event"]
    await WaitlistEntry.insert(
        WaitlistEntry(
            event=event_id,
            ticket_type=v.types["attendee"]["id"],
            name="First",
            email="first@example.org",
        )
    )
    assert (await register(client, v, "second@example.org")).json()["waitlist_position"] == 2
    canceled = await client.post(f"/api/events/{v.slug}/tickets/{holder['id']}/cancel")
    assert canceled.status_code == 200, canceled.text
    assert await valid_tickets(client, v) == {
        "first@example.org": "organiser",
        "second@example.org": "waitlist",
    }
    assert await attendees_waiting(client, v) == 0  # first's entry is closed, not left waiting


async def test_a_newcomer_cannot_take_a_free_place_from_those_waiting(client):
    v = await venue(client, capacity=1)
    await ticket(client, v, email="holder@example.org")
    for name in ("first", "second", "third"):
        await register(client, v, f"{name}@example.org")
    await room_left_while_people_wait(v, capacity=5)  # four free places
    third_again = await register(client, v, "third@example.org")
    assert third_again.json()["status"] == "registered"  # with first and second before them
    answers = [await register(client, v, f"{n}@example.org") for n in ("new", "newer")]
    assert answers[0].json()["status"] == "registered"  # the fourth place
    assert answers[1].json() == {
        "status": "waitlisted",
        "ticket_id": None,
        "waitlist_position": 1,
    }
    assert await valid_tickets(client, v) == {
        "holder@example.org": "organiser",
        "first@example.org": "waitlist",
        "second@example.org": "waitlist",
        "third@example.org": "waitlist",
        "new@example.org": "public",
    }
    assert [await ticket_mails_to(f"{n}@example.org") for n in ("first", "second")] == [1, 1]


async def test_asking_again_while_waiting_keeps_the_place_and_serves_those_ahead(client):
    v = await venue(client, capacity=1)
    await ticket(client, v, email="holder@example.org")
    for name in ("first", "second"):
        await register(client, v, f"{name}@example.org")
    await room_left_while_people_wait(v, capacity=2)  # one free place, first's
    again = await register(client, v, "second@example.org")
    assert again.status_code == 409 and again.json()["reason"] == "already_waiting"
    assert await valid_tickets(client, v) == {
        "holder@example.org": "organiser",
        "first@example.org": "waitlist",
    }
    assert await attendees_waiting(client, v) == 1


async def test_sales_windows_are_kept(client):
    v = await venue(client)
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    await client.patch(
        f"/api/events/{v.slug}/ticket-types/{v.types['vip']['id']}", json={"sales_from": later}
    )
    refused = await register(client, v, "x@example.org", kind="vip")
    assert refused.status_code == 409 and refused.json()["reason"] == "not_on_sale"


async def test_capacity_holds_under_concurrent_registrations(client):
    v = await venue(client, capacity=10)
    client.cookies.clear()
    answers = await asyncio.gather(*(register(client, v, f"r{i}@example.org") for i in range(40)))
    statuses = [a.json()["status"] for a in answers]
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    assert statuses.count("registered") == 10 and statuses.count("waitlisted") == 30


async def test_a_registration_mails_the_ticket_with_its_qr_code(client):
    v = await venue(client)
    answer = (await register(client, v, "mail.me@example.org")).json()
    row = (
        await OutboxMessage.select()
        .where(OutboxMessage.to_address == "mail.me@example.org")
        .first()
    )
    assert row["kind"] == "ticket" and "Attendee ticket" in row["text_body"]
    [attachment] = attachments_of(row)
    assert attachment.content_type == "image/png"
    t = (await client.get(f"/api/events/{v.slug}/tickets/{answer['ticket_id']}")).json()
    assert decoded(Image.open(io.BytesIO(attachment.content))) == [t["secret"]]


async def test_csv_import_is_all_or_nothing_with_an_error_per_line(client):
    v = await venue(client, capacity=3)
    bad = (
        "name,email,organisation,ticket_type\n"
        "Ana,ana@example.org,Padiio,Attendee\n"
        ",nobody@example.org,,Attendee\n"
        "Budi,not-an-email,,Attendee\n"
        "Citra,citra@example.org,,Plenary\n"
    )
    refused = await client.post(f"/api/events/{v.slug}/tickets/import", json={"csv": bad})
    assert refused.status_code == 400 and refused.json()["reason"] == "import_invalid"
    assert [e["key"] for e in refused.json()["errors"]] == ["line 3", "line 4", "line 5"]
    assert (await client.get(f"/api/events/{v.slug}/tickets")).json()["total"] == 0
    too_many = "name,email,ticket_type\n" + "".join(
        f"P{i},p{i}@example.org,Attendee\n" for i in range(4)
    )
    refused = await client.post(f"/api/events/{v.slug}/tickets/import", json={"csv": too_many})
    assert "3 places left, the file has 4" in refused.text
    good = "name,email,ticket_type\nAna,ana@example.org,Attendee\nDewi,dewi@example.org,VIP\n"
    created = await client.post(f"/api/events/{v.slug}/tickets/import", json={"csv": good})
    assert created.status_code == 201 and created.json() == {"created": 2}
    again = await client.post(f"/api/events/{v.slug}/tickets/import", json={"csv": good})
    assert again.status_code == 400 and "already has this ticket" in again.text
    assert (await client.get(f"/api/events/{v.slug}/tickets")).json()["total"] == 2


async def test_investors_and_start_up_teams_get_their_tickets_once(client):
    v = await venue(client)
    for i in range(3):  # the event sells investor tickets: each gets one as the role is granted
        await user_with_role(v.slug, f"investor{i}@example.org", Role.investor)
    tickets = (await client.get(f"/api/events/{v.slug}/tickets")).json()
    assert sorted(t["kind"] for t in tickets["items"]) == ["investor"] * 3
    await user_with_role(v.slug, "founder@example.org", Role.startup)  # no start-up type yet
    first = (await client.post(f"/api/events/{v.slug}/tickets/for-roles")).json()
    assert first == {"issued": 0, "short": 0, "missing_types": ["startup"]}
    await client.post(
        f"/api/events/{v.slug}/ticket-types",
        json={"kind": "startup", "name": "Start-up team", "capacity": 100, "public": False},
    )  # issues the team's ticket at once
    again = (await client.post(f"/api/events/{v.slug}/tickets/for-roles")).json()
    assert again == {"issued": 0, "short": 0, "missing_types": []}
    tickets = (await client.get(f"/api/events/{v.slug}/tickets")).json()
    assert sorted(t["kind"] for t in tickets["items"]) == ["investor"] * 3 + ["startup"]
    assert {t["source"] for t in tickets["items"]} == {"auto"}


async def test_the_private_key_is_stored_but_never_answered(client):
    v = await venue(client)
    t = await ticket(client, v)
    key = await TicketKey.select().first()
    answers = [
        await client.get(f"/api/events/{v.slug}/scanner-key"),
        await client.get(f"/api/events/{v.slug}/tickets/{t['id']}"),
        await client.get(f"/api/events/{v.slug}/ticket-types"),
    ]
    assert answers[0].json()["public_key"] == key["public_key"]
    assert all(key["private_key"] not in a.text for a in answers)


async def test_qr_codes_badges_and_sheets_decode_to_exactly_the_secrets(client):
    v = await venue(client)
    people = [
        await ticket(
            client, v, kind=kind, email=f"{kind}{i}@example.org", name=f"Person {kind} {i}"
        )
        for i in range(3)
        for kind in ("attendee", "investor", "vip")
    ]
    secrets = {t["secret"] for t in people}
    t = people[0]
    qr = await client.get(f"/api/events/{v.slug}/tickets/{t['id']}/qr.png")
    assert qr.headers["content-type"] == "image/png"
    assert decoded(Image.open(io.BytesIO(qr.content))) == [t["secret"]]
    badge = await client.get(f"/api/events/{v.slug}/tickets/{t['id']}/badge.png")
    image = Image.open(io.BytesIO(badge.content))
    assert image.size == (620, 874) and decoded(image) == [t["secret"]]
    sheet = await client.get(f"/api/events/{v.slug}/badges.pdf", params={"limit": 200})
    assert sheet.headers["content-type"] == "application/pdf"
    pdf = pypdf.PdfReader(io.BytesIO(sheet.content))
    assert len(pdf.pages) == 3  # nine badges, four a page
    found = [text for page in pdf.pages for img in page.images for text in decoded(img.image)]
    assert sorted(found) == sorted(secrets)


def test_a_badge_png_holds_exactly_the_badge_drawn_for_every_kind():
    """Badge PNGs are written by hand (four bits a pixel, the rows every badge of an event and
    kind shares compressed once): read back, each has the very pixels and colours drawn, and its
    QR code reads as the secret; so has a badge whose longer code reaches the band."""
    signer = TicketSigner(generate_key()[0])
    people = [("Mei Ling Ng", "SGInnovate"), ("Srisuk-Nattapong " * 4, ""), ("Zoë Ångström", "Ça")]
    for number, kind in enumerate(KINDS, 1):
        name, organisation = people[number % len(people)]
        badge = Badge(
            name, organisation, kind, "ASEAN Start-up Showcase 2027", signer.sign(number, 1)
        )
        png = Image.open(io.BytesIO(badge_png(badge)))
        assert png.convert("RGB").tobytes() == badge_image(badge).convert("RGB").tobytes()
        assert decoded(png) == [badge.secret]
    longer = Badge("Ana Santos", "Padiio", "vip", "ASEAN Start-up Showcase 2027", "A1" * 300)
    png = Image.open(io.BytesIO(badge_png(longer)))
    assert png.convert("RGB").tobytes() == badge_image(longer).convert("RGB").tobytes()


async def test_a_badge_export_runs_in_the_background_with_progress(client):
    v = await venue(client)
    csv_text = "name,email,ticket_type\n" + "".join(
        f"Guest {i},g{i}@example.org,Attendee\n" for i in range(45)
    )
    await client.post(f"/api/events/{v.slug}/tickets/import", json={"csv": csv_text, "send": False})
    started = await client.post(f"/api/events/{v.slug}/badge-exports")
    assert started.status_code == 202 and started.json()["total"] == 45
    url = f"/api/events/{v.slug}/badge-exports/{started.json()['id']}"
    not_yet = await client.get(f"{url}/pdf")
    assert not_yet.status_code == 409 and not_yet.json()["reason"] == "not_ready"
    seen = set()
    for _ in range(300):
        job = (await client.get(url)).json()
        seen.add(job["done"])
        if job["status"] in ("done", "failed"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "done" and job["done"] == 45, job
    pdf = pypdf.PdfReader(io.BytesIO((await client.get(f"{url}/pdf")).content))
    assert len(pdf.pages) == 12
    first_page = [text for img in pdf.pages[0].images for text in decoded(img.image)]
    assert len(first_page) == 4


async def test_a_4000_row_import_fits_postgresql_s_parameter_limit(client):
    v = await venue(client, capacity=5000)
    rows = "".join(f"Guest {i},guest{i}@example.org,Attendee\n" for i in range(4000))
    created = await client.post(
        f"/api/events/{v.slug}/tickets/import",
        json={"csv": "name,email,ticket_type\n" + rows, "send": False},
    )
    assert created.status_code == 201, created.text
    assert (await client.get(f"/api/events/{v.slug}/tickets")).json()["total"] == 4000


async def test_registrations_for_one_email_are_throttled(client):
    v = await venue(client)
    client.cookies.clear()
    answers = [(await register(client, v, "same@example.org")).status_code for _ in range(4)]
    assert answers == [201, 409, 409, 429]


def test_the_demo_has_tickets_lists_and_a_printable_export(tmp_path):
    """`eventapp demo` seeds about 600 tickets and three lists; `eventapp export-badges` prints
    every valid one, four a page, each QR readable."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "EVENTAPP_VAR_DIR": str(tmp_path / "var"),
        "EVENTAPP_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}",
    }
    for args in (["migrate"], ["demo", "--json"]):
        subprocess.run(
            [sys.executable, "-m", "eventapp.cli", *args], env=env, check=True, capture_output=True
        )
    out = tmp_path / "badges.pdf"
    done = subprocess.run(
        [sys.executable, "-m", "eventapp.cli", "export-badges", "asean-showcase", str(out)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert "Wrote" in done.stdout
    pdf = pypdf.PdfReader(str(out))
    assert 150 <= len(pdf.pages) <= 170  # about 640 tickets, four a page
    first_page = [text for img in pdf.pages[0].images for text in decoded(img.image)]
    assert len(first_page) == 4


async def test_an_unreadable_csv_is_refused_not_a_server_error(client):
    v = await venue(client)
    url = f"/api/events/{v.slug}/tickets/import"
    huge = "name,email,ticket_type\n" + "x" * 200_000 + ",a@example.org,Attendee\n"
    refused = await client.post(url, json={"csv": huge})
    assert refused.status_code == 400 and refused.json()["reason"] == "import_invalid"
    nul = await client.post(
        url, json={"csv": "name,email,ticket_type\nA\x00,a@example.org,Attendee\n"}
    )
    assert nul.status_code in {201, 400}, nul.text  # PostgreSQL stores no NUL: a 400, never a 500
