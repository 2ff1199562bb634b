"""The demo's matchmaking: a meeting grid, investor profiles, both sides' marks, and a published
schedule over the participating start-ups. Deterministic (seeded), written once per database.

The demo investor login joins the first firm and the demo start-up login the first start-up;
nobody marks that pair, so the demo login pair is left free for a first request by hand.
"""

from __future__ import annotations

import random
from datetime import date, time

from eventapp.accounts.tables import Organisation, User
from eventapp.events.tables import Event
from eventapp.matchmaking import service
from eventapp.matchmaking.fit import ASEAN, STAGES
from eventapp.matchmaking.schemas import GridBlock, GridSettings, InvestorProfileIn
from eventapp.matchmaking.tables import MeetingMark, MeetingSettings

GRID = GridSettings(
    slot_minutes=20,
    blocks=[
        GridBlock(day=date(2027, 3, 18), start=time(10, 0), end=time(12, 0)),
        GridBlock(day=date(2027, 3, 18), start=time(14, 0), end=time(16, 0)),
        GridBlock(day=date(2027, 3, 19), start=time(10, 0), end=time(12, 0)),
    ],
    max_investor=8,
    max_startup=10,
    min_startup=2,
)
TYPES = ["vc", "vc", "angel", "corporate", "government", "development_fund"]


async def seed_meetings(
    event_id: int, sectors: list[str], investor_email: str, startup_email: str
) -> None:
    """Grid, profiles, marks, a scheduler run and its publication; nothing if already there."""
    if await MeetingSettings.exists().where(MeetingSettings.event == event_id):
        return
    rng = random.Random(2027)
    firms = (
        await Organisation.select(Organisation.id)
        .where(Organisation.kind == "investor")
        .order_by(Organisation.id)
    )
    startups = (
        await Organisation.select(Organisation.id)
        .where(Organisation.kind == "startup")
        .order_by(Organisation.id)
    )
    if not firms or not startups:
        return
    await User.update({User.organisation: firms[0]["id"]}).where(User.email == investor_email).run()
    await (
        User.update({User.organisation: startups[0]["id"]}).where(User.email == startup_email).run()
    )
    event = await Event.select().where(Event.id == event_id).first()
    await service.save_grid_settings(event, GRID)
    for firm in firms:
        low = rng.choice([50_000, 100_000, 250_000, 500_000])
        wanted = rng.sample(sectors, 3)
        profile = InvestorProfileIn(
            investor_type=rng.choice(TYPES),
            sectors=wanted,
            stages=sorted(rng.sample(STAGES[:5], 3), key=STAGES.index),
            ticket_min_usd=low,
            ticket_max_usd=low * rng.choice([5, 10, 20]),
            countries_of_interest=rng.choice([["ASEAN"], sorted(rng.sample(sorted(ASEAN), 4))]),
            thesis=f"{' and '.join(wanted)} companies scaling across South-East Asia",
        )
        await service.save_investor_profile(
            event_id, {"firm_id": firm["id"], "firm_name": ""}, profile
        )
    investors = await service.event_investors(event_id)
    startup_ids = [s["organisation_id"] for s in await service.participating_startups(event_id)]
    demo_pair = (firms[0]["id"], startups[0]["id"])
    marks = []
    for person in investors:
        for startup_id in rng.sample(startup_ids, min(8, len(startup_ids))):
            if (person["firm_id"], startup_id) == demo_pair:
                continue
            mark = rng.choices([2, 1, 0], [3, 5, 1])[0]
            marks.append(
                MeetingMark(
                    event=event_id,
                    side="investor",
                    investor=person["id"],
                    startup=startup_id,
                    mark=mark,
                )
            )
            if mark and rng.random() < 0.6:
                back = rng.choices([2, 1, 0], [3, 4, 1])[0]
                marks.append(
                    MeetingMark(
                        event=event_id,
                        side="startup",
                        investor=person["id"],
                        startup=startup_id,
                        mark=back,
                    )
                )
    await MeetingMark.insert(*marks).run()
    await service.run_scheduler(event, redo=False)
    await service.publish(event)  # nobody follows the demo's pages yet: nothing to announce
