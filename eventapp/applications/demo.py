"""The demo's call for applications: ~150 start-ups from all ten ASEAN countries, each nominated
by one of its country's incubators and submitted, so review and selection have a field to work on.

`build_applications` is pure and deterministic (seeded RNG) like `eventapp.demo.build_demo`, whose
60 start-ups apply first; the rest are made up the same way. `seed_applications` writes them.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from eventapp.accounts.tables import Organisation, User
from eventapp.applications.schemas import CallIn
from eventapp.applications.service import set_call
from eventapp.applications.tables import (
    Application,
    ApplicationStateChange,
    EventIncubator,
    NominationCode,
)
from eventapp.db import transaction

DEMO_SECTORS = [
    "Agritech",
    "Fintech",
    "Healthtech",
    "Edtech",
    "Logistics",
    "Cleantech",
    "E-commerce",
    "Mobility",
    "AI and data",
    "Proptech",
    "Deep tech",
    "Media and creative",
]
STAGES = ["idea", "pre_seed", "seed", "seed", "series_a", "series_a", "series_b_plus"]
FUNDING = {
    "idea": (50_000, 250_000),
    "pre_seed": (150_000, 750_000),
    "seed": (500_000, 2_500_000),
    "series_a": (2_000_000, 10_000_000),
    "series_b_plus": (8_000_000, 30_000_000),
}
ROLES = ["CEO", "CTO", "COO", "CPO", "Head of Growth"]
PITCHES = {
    "agritech": "tells smallholder farmers when to plant, water and sell",
    "fintech": "lets micro-merchants take payments and borrow against their sales",
    "healthtech": "brings a clinic's follow-up care to patients' phones",
    "edtech": "matches vocational students with the employers who train them",
    "logistics": "routes small shippers' parcels across islands at a fixed price",
    "cleantech": "puts rooftop solar on factories with no money down",
    "e-commerce": "turns neighbourhood shops into next-day delivery points",
    "mobility": "electrifies motorbike taxi fleets with battery swapping",
}


@dataclass(frozen=True)
class DemoApplication:
    company_name: str
    country: str
    city: str
    incubator_name: str
    founder_name: str
    founder_email: str
    sectors: list[str]
    stage: str
    year_founded: int
    team_size: int
    women_led: bool
    co_founder: str
    funding_sought_usd: int
    one_liner: str
    existing: bool


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def build_applications(seed: int = 2027, total: int = 150) -> list[DemoApplication]:
    """The demo start-ups first, then made-up ones, round-robin over the ten countries."""
    from eventapp.demo import ASEAN, NAME_ENDINGS, SECTORS, build_demo

    rng = random.Random(seed)
    demo = build_demo()
    by_key = {org.key: org for org in demo.organisations}
    founders = {person.organisation_key: person for person in demo.people}
    countries = {row[0]: row for row in ASEAN}
    used = {org.name for org in demo.organisations}
    made: list[DemoApplication] = []

    def one(name, country, city, incubator, founder_name, founder_email, sector, existing):
        stage = rng.choice(STAGES)
        low, high = FUNDING[stage]
        sectors = [_sector(sector)]
        if rng.random() < 0.3:
            sectors.append(rng.choice([s for s in DEMO_SECTORS if s not in sectors]))
        given, family = countries[country][3], countries[country][4]
        made.append(
            DemoApplication(
                company_name=name,
                country=country,
                city=city,
                incubator_name=incubator,
                founder_name=founder_name,
                founder_email=founder_email,
                sectors=sectors,
                stage=stage,
                year_founded=rng.randint(2016, 2025),
                team_size=rng.randint(2, 60),
                women_led=rng.random() < 0.3,
                co_founder=f"{rng.choice(given)} {rng.choice(family)}",
                funding_sought_usd=rng.randrange(low, high, 50_000),
                one_liner=f"{name} {PITCHES.get(sector, 'serves a market nobody else serves')}."[
                    :140
                ],
                existing=existing,
            )
        )

    for org in demo.organisations:
        if org.kind != "startup" or len(made) >= total:
            continue
        sector = org.description.split(" ")[0].lower()
        person = founders[org.key]
        incubator = by_key[org.incubator_key].name if org.incubator_key else ""
        one(org.name, org.country, org.city, incubator, person.name, person.email, sector, True)
    codes = list(countries)
    while len(made) < total:
        country = codes[len(made) % len(codes)]
        _, city, incubators, given, family = countries[country]
        sector = rng.choice(list(SECTORS))
        name = ""
        while not name or name in used:
            name = rng.choice(SECTORS[sector]) + rng.choice(NAME_ENDINGS)
            if name in used:
                name += f" {rng.choice(['Labs', 'Asia', 'Tech', 'Works', 'Co'])}"
        used.add(name)
        founder = f"{rng.choice(given)} {rng.choice(family)}"
        email = f"{_slug(founder)}@{_slug(name)}.example"
        one(name, country, city, rng.choice(incubators), founder, email, sector, False)
    return made


def _sector(demo_sector: str) -> str:
    for sector in DEMO_SECTORS:
        if sector.lower() == demo_sector:
            return sector
    return "Deep tech"


async def seed_applications(event_id: int) -> int:
    """Open the demo's call and write its applications, once (nothing if the call exists)."""
    from eventapp.applications.tables import ApplicationCall

    if await ApplicationCall.exists().where(ApplicationCall.event == event_id):
        return 0
    now = datetime.now(UTC)
    applications = build_applications()
    async with transaction():
        await set_call(
            event_id,
            CallIn(
                opens_at=now - timedelta(days=21),
                closes_at=now + timedelta(days=45),
                open_to_all=False,
                sectors=DEMO_SECTORS,
            ),
        )
        incubators = {
            row["name"]: row
            for row in await Organisation.select(
                Organisation.id, Organisation.name, Organisation.country
            ).where(Organisation.kind == "incubator")
        }
        counts = Counter(a.incubator_name for a in applications)
        await EventIncubator.insert(
            *(
                EventIncubator(
                    event=event_id,
                    organisation=row["id"],
                    contact_name="Programme manager",
                    contact_email=f"programmes@{_slug(name)}.example",
                )
                for name, row in incubators.items()
            )
        ).run()
        codes = {}
        for name, row in incubators.items():
            inserted = await NominationCode.insert(
                NominationCode(
                    event=event_id,
                    incubator=row["id"],
                    # A code nobody holds: organisers make new ones to hand out.
                    code_hash=secrets.token_hex(32),
                    label="Demo nominations",
                    cap=max(8, counts[name]),
                    used=counts[name],
                )
            ).run()
            codes[name] = inserted[0]["id"]
        startups = {
            row["name"]: row["id"]
            for row in await Organisation.select(Organisation.id, Organisation.name).where(
                Organisation.kind == "startup"
            )
        }
        users = {
            row["email"]: row["id"]
            for row in await User.select(User.id, User.email).where(
                User.email.is_in([a.founder_email for a in applications])
            )
        }
        fresh = [a for a in applications if a.company_name not in startups]
        if fresh:
            rows = await Organisation.insert(
                *(
                    Organisation(
                        name=a.company_name,
                        kind="startup",
                        country=a.country,
                        city=a.city,
                        website=f"https://{_slug(a.company_name)}.example",
                        description=a.one_liner,
                        incubator=incubators[a.incubator_name]["id"],
                    )
                    for a in fresh
                )
            ).run()
            startups.update({a.company_name: row["id"] for a, row in zip(fresh, rows, strict=True)})
        new_people = [a for a in applications if a.founder_email not in users]
        if new_people:
            rows = await User.insert(
                *(
                    User(
                        email=a.founder_email,
                        name=a.founder_name,
                        organisation=startups[a.company_name],
                    )
                    for a in new_people
                )
            ).run()
            users.update(
                {a.founder_email: row["id"] for a, row in zip(new_people, rows, strict=True)}
            )
        submitted_at = now - timedelta(days=7)
        rows = await Application.insert(
            *(
                Application(
                    event=event_id,
                    organisation=startups[a.company_name],
                    owner=users[a.founder_email],
                    incubator=incubators[a.incubator_name]["id"],
                    nominated_by=codes[a.incubator_name],
                    state="submitted",
                    company_name=a.company_name,
                    country=a.country,
                    sectors=a.sectors,
                    stage=a.stage,
                    year_founded=a.year_founded,
                    team_size=a.team_size,
                    women_led=a.women_led,
                    founders=[
                        {"name": a.founder_name, "role": "CEO"},
                        {"name": a.co_founder, "role": "CTO"},
                    ],
                    one_liner=a.one_liner,
                    description=(
                        f"{a.company_name} is a {a.stage.replace('_', '-')} start-up from "
                        f"{a.city} with {a.team_size} people, founded in {a.year_founded}."
                    ),
                    traction=f"{a.team_size * 7} paying customers; revenue growing month on month.",
                    funding_sought_usd=a.funding_sought_usd,
                    website=f"https://{_slug(a.company_name)}.example",
                    deck_url=f"https://{_slug(a.company_name)}.example/deck.pdf",
                    contact_email=a.founder_email,
                    submitted_at=submitted_at,
                )
                for a in applications
            )
        ).run()
        owners = [users[a.founder_email] for a in applications]
        await ApplicationStateChange.insert(
            *(
                change
                for row, owner in zip(rows, owners, strict=True)
                for change in (
                    ApplicationStateChange(
                        application=row["id"],
                        event=event_id,
                        from_state=None,
                        to_state="draft",
                        actor=owner,
                        at=submitted_at - timedelta(days=3),
                    ),
                    ApplicationStateChange(
                        application=row["id"],
                        event=event_id,
                        from_state="draft",
                        to_state="submitted",
                        actor=owner,
                        at=submitted_at,
                    ),
                )
            )
        ).run()
    return len(applications)
