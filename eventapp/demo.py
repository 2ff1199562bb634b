"""A deterministic, realistic demo event modelled on the ASEAN start-up showcase in Singapore.

`build_demo()` is pure: the same people and organisations every run (seeded RNG), so screenshots,
tests and bug reports agree. `seed_demo()` writes them once; every run then sets fresh random
passwords on the five demo logins (one per role) and returns them to print.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from eventapp.accounts import service as accounts
from eventapp.accounts.schemas import Role
from eventapp.accounts.tables import Organisation, User, UserEventRole
from eventapp.db import transaction
from eventapp.events.schemas import DayIn, EventCreate, MeetingTablesBulk
from eventapp.events.service import add_numbered_tables, add_stage, create_event
from eventapp.events.tables import Event
from eventapp.programme.demo import seed_programme
from eventapp.review.demo import seed_review_demo

DEMO_SLUG = "asean-showcase"
DEMO_DOMAIN = "demo.eventapp.example"

# (ISO code, capital or main start-up city, incubators, given names, family names)
ASEAN = [
    (
        "BN",
        "Bandar Seri Begawan",
        ["DARe Incubator", "iCentre Brunei"],
        ["Aisyah", "Hafiz", "Nurul", "Amin"],
        ["Abdullah", "Rahman", "Yusof", "Hamid"],
    ),
    (
        "KH",
        "Phnom Penh",
        ["Impact Hub Phnom Penh", "Techo Startup Center"],
        ["Sokha", "Dara", "Sreymom", "Vannak"],
        ["Chan", "Sok", "Heng", "Pich"],
    ),
    (
        "ID",
        "Jakarta",
        ["Skystar Ventures", "Bandung Techno Park", "Block71 Jakarta"],
        ["Putri", "Budi", "Ayu", "Rizky"],
        ["Santoso", "Wijaya", "Pratama", "Hartono"],
    ),
    (
        "LA",
        "Vientiane",
        ["Toh Lao Innovation Hub", "Lao Business Incubator"],
        ["Keo", "Noy", "Somchai", "Malay"],
        ["Phommachanh", "Sisavath", "Vongsa", "Keomany"],
    ),
    (
        "MY",
        "Kuala Lumpur",
        ["MaGIC Accelerator", "Cradle Fund Incubator", "UM Innovation Centre"],
        ["Siti", "Wei Jie", "Priya", "Farid"],
        ["Ismail", "Tan", "Raj", "Lim"],
    ),
    (
        "MM",
        "Yangon",
        ["Phandeeyar", "Yangon Innovation Centre"],
        ["Thiri", "Kyaw", "Su", "Zaw"],
        ["Aung", "Win", "Htun", "Myint"],
    ),
    (
        "PH",
        "Manila",
        ["QBO Innovation Hub", "UP Enterprise Center", "IdeaSpace"],
        ["Maria", "Jose", "Andrea", "Paolo"],
        ["Santos", "Reyes", "Cruz", "Garcia"],
    ),
    (
        "SG",
        "Singapore",
        ["NUS Enterprise Incubator", "SGInnovate", "Block71 Singapore"],
        ["Mei Ling", "Arjun", "Hui Min", "Daniel"],
        ["Ng", "Menon", "Goh", "Lee"],
    ),
    (
        "TH",
        "Bangkok",
        ["True Digital Park Incubator", "Chula Innovation Hub"],
        ["Ploy", "Nattapong", "Kanya", "Somsak"],
        ["Srisuk", "Wongsawat", "Chaiyaporn", "Thongchai"],
    ),
    (
        "VN",
        "Ho Chi Minh City",
        ["SIHUB", "Vietnam Silicon Valley", "Hatch! Ventures"],
        ["Linh", "Minh", "Thu", "Quang"],
        ["Nguyen", "Tran", "Le", "Pham"],
    ),
]

JAPAN = (
    "JP",
    "Tokyo",
    ["Haruka", "Kenji", "Yui", "Takeshi"],
    ["Sato", "Suzuki", "Takahashi", "Ito"],
)

SECTORS = {
    "agritech": ["Farm", "Padi", "Harvest", "Sawah", "Agro"],
    "fintech": ["Pay", "Ledger", "Coin", "Kredit", "Remit"],
    "healthtech": ["Care", "Medi", "Klinik", "Pulse", "Sehat"],
    "edtech": ["Learn", "Guru", "Skill", "Tutor", "Kelas"],
    "logistics": ["Ship", "Route", "Kargo", "Fleet", "Hub"],
    "cleantech": ["Solar", "Green", "Hijau", "Enviro", "Tide"],
    "e-commerce": ["Shop", "Pasar", "Mart", "Bazaar", "Cart"],
    "mobility": ["Ride", "Moto", "Go", "Transit", "Wheel"],
}
NAME_ENDINGS = ["ly", "io", "ku", "ify", "hub", "wise", "nest", "go", "lab", "ra"]
INVESTOR_FIRMS = [
    ("SG", "Singapore", "Lion City Ventures"),
    ("SG", "Singapore", "Straits Capital"),
    ("SG", "Singapore", "Merlion Angels"),
    ("MY", "Kuala Lumpur", "Petaling Partners"),
    ("ID", "Jakarta", "Nusantara Ventures"),
    ("ID", "Jakarta", "Garuda Growth Fund"),
    ("TH", "Bangkok", "Chao Phraya Capital"),
    ("VN", "Ho Chi Minh City", "Mekong Seed Fund"),
    ("PH", "Manila", "Archipelago Ventures"),
    ("JP", "Tokyo", "Sakura Frontier Capital"),
    ("JP", "Tokyo", "Shibuya Impact Partners"),
    ("JP", "Osaka", "Kansai Innovation Fund"),
    ("JP", "Tokyo", "Fuji Corporate Ventures"),
    ("JP", "Fukuoka", "Hakata Seed Partners"),
]


@dataclass(frozen=True)
class DemoOrganisation:
    key: str
    name: str
    kind: str
    country: str
    city: str
    description: str = ""
    incubator_key: str | None = None


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    role: Role
    organisation_key: str | None


@dataclass
class Demo:
    organisations: list[DemoOrganisation] = field(default_factory=list)
    people: list[DemoPerson] = field(default_factory=list)


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def build_demo(seed: int = 2019, startups_per_country: int = 6, investors: int = 40) -> Demo:
    """Incubators and start-ups from all ten ASEAN countries; investors from ASEAN and Japan."""
    rng = random.Random(seed)
    demo = Demo()
    used_names: set[str] = set()
    for country, city, incubators, given, family in ASEAN:
        incubator_keys = []
        for name in incubators:
            key = f"inc-{_slug(name)}"
            incubator_keys.append(key)
            demo.organisations.append(
                DemoOrganisation(
                    key, name, "incubator", country, city, "Technology business incubator"
                )
            )
        for _ in range(startups_per_country):
            sector = rng.choice(list(SECTORS))
            name = ""
            while not name or name in used_names:
                name = rng.choice(SECTORS[sector]) + rng.choice(NAME_ENDINGS)
            used_names.add(name)
            key = f"su-{_slug(name)}"
            demo.organisations.append(
                DemoOrganisation(
                    key,
                    name,
                    "startup",
                    country,
                    city,
                    f"{sector.capitalize()} start-up from {city}",
                    rng.choice(incubator_keys),
                )
            )
            founder = f"{rng.choice(given)} {rng.choice(family)}"
            demo.people.append(
                DemoPerson(f"{_slug(founder)}@{_slug(name)}.example", founder, Role.startup, key)
            )
    for index in range(investors):
        country, city, firm = INVESTOR_FIRMS[index % len(INVESTOR_FIRMS)]
        key = f"inv-{_slug(firm)}"
        if index < len(INVESTOR_FIRMS):
            demo.organisations.append(
                DemoOrganisation(key, firm, "investor", country, city, "Investor")
            )
        if country == "JP":
            given, family = JAPAN[2], JAPAN[3]
        else:
            row = next(entry for entry in ASEAN if entry[0] == country)
            given, family = row[3], row[4]
        person = f"{rng.choice(given)} {rng.choice(family)}"
        email = f"{_slug(person)}{index}@{_slug(firm)}.example"
        demo.people.append(DemoPerson(email, person, Role.investor, key))
    return demo


DEMO_LOGINS = [
    (Role.organiser, "Olivia Organiser"),
    (Role.reviewer, "Ravi Reviewer"),
    (Role.investor, "Ines Investor"),
    (Role.startup, "Sam Startup"),
    (Role.door_staff, "Dana Door"),
]


def demo_event() -> EventCreate:
    return EventCreate(
        slug=DEMO_SLUG,
        name="ASEAN Start-up Showcase 2027",
        tagline=(
            "Start-ups nominated by business incubators across the ten ASEAN countries pitch to "
            "investors from ASEAN and Japan, then meet them one to one."
        ),
        venue="Suntec Singapore Convention Centre",
        city="Singapore",
        country="SG",
        timezone="Asia/Singapore",
        published=True,
        days=[
            DayIn(day=date(2027, 3, 18), opens_at=time(9, 0), closes_at=time(18, 0)),
            DayIn(day=date(2027, 3, 19), opens_at=time(9, 0), closes_at=time(17, 0)),
        ],
    )


SEED_STEPS = 8


async def seed_demo(progress: Callable[[str], None] = print) -> list[tuple[Role, str, str]]:
    """Write the demo once; return (role, email, fresh password) for the five demo logins.

    `progress` is called SEED_STEPS times with what was just done.
    """
    existing = await Event.select(Event.id).where(Event.slug == DEMO_SLUG).first().run()
    organiser_email = f"organiser@{DEMO_DOMAIN}"
    if existing is None:
        async with transaction():  # all of the demo, or none of it: a failed run is simply rerun
            event_id = await _seed_event(organiser_email)
            progress("event, days, stages and meeting tables")
            await _seed_people(event_id, build_demo())
        progress("incubators, start-ups and investors")
        await seed_programme(event_id)
        progress("the programme: two stages, two days")
    else:
        progress("demo event already there")
        progress("its people already there")
        progress("its programme already there")
    event_id = (await Event.select(Event.id).where(Event.slug == DEMO_SLUG).first().run())["id"]
    logins = []
    for role, name in DEMO_LOGINS:
        email = f"{role.value.replace('_', '-')}@{DEMO_DOMAIN}"
        password = secrets.token_urlsafe(12)
        user = await accounts.user_by_email(email)
        user_id = user["id"] if user else await accounts.create_user(email, name=name)
        await accounts.set_password(user_id, password)
        await accounts.verify_email(user_id)  # the demo's own made-up domain: nobody to prove it
        await accounts.grant_role(user_id, event_id, role)
        logins.append((role, email, password))
    progress("demo logins with fresh passwords")
    await _seed_applications(event_id, progress)
    await _seed_meetings(event_id)
    progress("meeting grid, investor profiles and marks, a published meeting schedule")
    reviews = await seed_review_demo(event_id, DEMO_DOMAIN, f"reviewer@{DEMO_DOMAIN}")
    progress(
        f"reviewers and {reviews} reviews" if reviews else "reviews already there, or none due"
    )
    await seed_tickets(event_id)
    progress("tickets, check-in lists and a morning of check-ins")
    return logins


async def _seed_applications(event_id: int, progress: Callable[[str], None]) -> None:
    from eventapp.applications.demo import seed_applications

    added = await seed_applications(event_id)
    progress(
        f"{added} applications nominated by incubators" if added else "applications already there"
    )


async def _seed_meetings(event_id: int) -> None:
    from eventapp.matchmaking.demo import seed_meetings  # matchmaking builds on this module

    await seed_meetings(
        event_id, list(SECTORS), f"investor@{DEMO_DOMAIN}", f"startup@{DEMO_DOMAIN}"
    )


DEMO_ATTENDEES = 480
# (kind, name, capacity, public, how many the demo issues from its CSV)
DEMO_TICKET_TYPES = [
    ("attendee", "Attendee", 800, True, DEMO_ATTENDEES),
    ("investor", "Investor", 120, False, 0),
    ("startup", "Start-up team", 150, False, 0),
    ("media", "Media", 40, True, 24),
    ("staff", "Staff", 60, False, 20),
    ("vip", "VIP", 30, False, 16),
]


async def seed_tickets(event_id: int) -> None:
    """Ticket types, about 600 tickets (attendees from CSV, investors and start-up teams from
    their roles), the lists Day 1, Day 2 and Investor lounge, and a morning of Day 1 arrivals.
    Written once; the role tickets are topped up on every run (the demo logins get theirs)."""
    from eventapp.tickets import service as tickets
    from eventapp.tickets.tables import TicketType

    if not await TicketType.exists().where(TicketType.event == event_id):
        type_ids = {}
        for kind, name, capacity, public, _ in DEMO_TICKET_TYPES:
            row = await tickets.create_ticket_type(
                event_id,
                {
                    "kind": kind,
                    "name": name,
                    "capacity": capacity,
                    "public": public,
                    "sales_from": None,
                    "sales_until": None,
                },
                send=False,
            )
            type_ids[kind] = row["id"]
        await tickets.import_csv(event_id, _demo_csv(), send=False)
        opening = [
            (datetime(2027, 3, 18, 1, 0, tzinfo=UTC), datetime(2027, 3, 18, 10, 0, tzinfo=UTC)),
            (datetime(2027, 3, 19, 1, 0, tzinfo=UTC), datetime(2027, 3, 19, 9, 0, tzinfo=UTC)),
        ]
        day_1 = await tickets.create_list(
            event_id,
            {
                "name": "Day 1",
                "ticket_types": [],
                "valid_from": opening[0][0],
                "valid_until": opening[0][1],
                "multi_entry": False,
                "allow_exit": True,
            },
        )
        await tickets.create_list(
            event_id,
            {
                "name": "Day 2",
                "ticket_types": [],
                "valid_from": opening[1][0],
                "valid_until": opening[1][1],
                "multi_entry": False,
                "allow_exit": True,
            },
        )
        await tickets.create_list(
            event_id,
            {
                "name": "Investor lounge",
                "ticket_types": [type_ids["investor"], type_ids["startup"], type_ids["vip"]],
                "valid_from": None,
                "valid_until": None,
                "multi_entry": False,
                "allow_exit": True,
            },
        )
        await tickets.issue_role_tickets(event_id, send=False)
        await _seed_arrivals(event_id, day_1["id"], opening[0][0])
    await tickets.issue_role_tickets(event_id, send=False)


def _demo_csv() -> str:
    rng = random.Random(2027)
    people = [row for row in ASEAN]
    lines = ["name,email,organisation,ticket_type"]
    organisations = [name for _, _, incubators, _, _ in ASEAN for name in incubators]
    organisations += [firm for _, _, firm in INVESTOR_FIRMS]
    n = 0
    for kind, type_name, _, _, count in DEMO_TICKET_TYPES:
        for _ in range(count):
            _, _, _, given, family = rng.choice(people)
            name = f"{rng.choice(given)} {rng.choice(family)}"
            organisation = (
                rng.choice(organisations)
                if kind != "media"
                else rng.choice(
                    ["The Straits Times", "Tech in Asia", "e27", "Nikkei Asia", "DealStreetAsia"]
                )
            )
            n += 1
            lines.append(
                f'"{name}",{_slug(name)}.{n}@{kind}.{DEMO_DOMAIN},"{organisation}",{type_name}'
            )
    return "\n".join(lines) + "\n"


async def _seed_arrivals(event_id: int, list_id: int, doors_open: datetime) -> None:
    """A morning at the Day 1 doors: a rush at opening, tailing off (for the dashboard's chart)."""
    from eventapp.tickets import service as tickets
    from eventapp.tickets.tables import Ticket

    door = await accounts.user_by_email(f"door-staff@{DEMO_DOMAIN}")
    rng = random.Random(318)
    rows = await Ticket.select(Ticket.secret).where(Ticket.event == event_id).order_by(Ticket.id)
    chosen = rng.sample(rows, k=min(260, len(rows)))
    for index, row in enumerate(chosen):
        minutes = min(rng.expovariate(1 / 35), 170)
        await tickets.check_in(
            event_id,
            secret=row["secret"],
            list_id=list_id,
            kind="entry",
            nonce=f"demo-{index}",
            staff_id=door["id"] if door else None,
            scanned_at=doors_open + timedelta(minutes=minutes),
            gate=rng.choice(["Hall A North", "Hall A South"]),
        )


async def _seed_event(organiser_email: str) -> int:
    organiser = await accounts.user_by_email(organiser_email)
    if organiser:
        organiser_id = organiser["id"]
    else:
        organiser_id = await accounts.create_user(
            organiser_email, name=DEMO_LOGINS[0][1], is_admin=True
        )
    event = await create_event(demo_event(), organiser_id=organiser_id)
    await add_stage(event["id"], name="Main Stage", capacity=400)
    await add_stage(event["id"], name="Pitch Theatre", capacity=150)
    lounge = MeetingTablesBulk(prefix="T", count=24, area="Business Matching Lounge")
    await add_numbered_tables(event["id"], lounge)
    return event["id"]


async def _seed_people(event_id: int, demo: Demo) -> None:
    async with transaction():
        ids: dict[str, int] = {}
        for kind in ("incubator", "investor", "startup"):
            batch = [org for org in demo.organisations if org.kind == kind]
            rows = await Organisation.insert(
                *(
                    Organisation(
                        name=org.name,
                        kind=org.kind,
                        country=org.country,
                        city=org.city,
                        description=org.description,
                        incubator=ids.get(org.incubator_key or ""),
                    )
                    for org in batch
                )
            ).run()
            ids.update({org.key: row["id"] for org, row in zip(batch, rows, strict=True)})
        users = await User.insert(
            *(
                User(email=p.email, name=p.name, organisation=ids.get(p.organisation_key or ""))
                for p in demo.people
            )
        ).run()
        await UserEventRole.insert(
            *(
                UserEventRole(user=row["id"], event=event_id, role=person.role.value)
                for person, row in zip(demo.people, users, strict=True)
            )
        ).run()
