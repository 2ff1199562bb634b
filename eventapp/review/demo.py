"""The demo's review: a few reviewer accounts (no passwords), every application in review given
k reviewers, and scores from all but the demo reviewer login, so the selection board is alive
on first start while the demo reviewer still has a queue to work through.

`build_scores` is pure (the same seed gives the same scores); `seed_review_demo` writes once:
an event that already has reviews is left alone.
"""

from __future__ import annotations

import random

from eventapp.accounts import service as accounts
from eventapp.accounts.schemas import Role
from eventapp.accounts.tables import Organisation, User
from eventapp.db import transaction
from eventapp.review import service
from eventapp.review.tables import Review, ReviewAssignment

DEMO_REVIEWERS = (
    ("Mei Ling Tan", "mei-ling.tan"),
    ("Arif Rahman", "arif.rahman"),
    ("Siriporn Chaiyaporn", "siriporn.chaiyaporn"),
    ("Nguyen Minh Anh", "minh-anh.nguyen"),
)
"""Reviewers besides the demo login; the first two belong to incubators (the assignment keeps
them off their own incubator's start-ups)."""


def build_scores(
    pairs: list[tuple[int, int]], criteria: list[str], seed: int = 2019
) -> list[tuple[int, int, dict[str, int]]]:
    """Scores 1..5 per criterion for each (application, reviewer): each application has a hidden
    quality the reviewers roughly agree on, so the ranking means something."""
    scores = []
    for application, reviewer in pairs:
        quality = random.Random(seed * 7919 + application).uniform(1.6, 4.8)
        noise = random.Random(seed * 104729 + application * 31 + reviewer)
        scores.append(
            (
                application,
                reviewer,
                {key: max(1, min(5, round(quality + noise.gauss(0, 0.7)))) for key in criteria},
            )
        )
    return scores


async def _demo_reviewers(event_id: int, domain: str) -> list[int]:
    incubators = (
        await Organisation.select(Organisation.id)
        .where(Organisation.kind == "incubator")
        .order_by(Organisation.id)
        .limit(2)
    )
    ids = []
    for index, (name, local) in enumerate(DEMO_REVIEWERS):
        email = f"{local}@{domain}"
        user = await accounts.user_by_email(email)
        user_id = user["id"] if user else await accounts.create_user(email, name=name)
        if index < len(incubators):
            await User.update({User.organisation: incubators[index]["id"]}).where(
                User.id == user_id
            )
        await accounts.grant_role(user_id, event_id, Role.reviewer)
        ids.append(user_id)
    return ids


async def seed_review_demo(event_id: int, domain: str, demo_login: str) -> int:
    """Reviewers, assignments and reviews for the demo event; returns how many reviews were
    written (0 when the event already has some)."""
    if await Review.exists().where(Review.event == event_id):
        return 0
    async with transaction():
        await _demo_reviewers(event_id, domain)
        if not (await service.reviewable_applications(event_id)):
            return 0
        await service.auto_assign(event_id)
        login = await accounts.user_by_email(demo_login)
        keep_for_login = login["id"] if login else None
        pairs = [
            (row["application"], row["reviewer"])
            for row in await ReviewAssignment.select(
                ReviewAssignment.application, ReviewAssignment.reviewer
            ).where(ReviewAssignment.event == event_id)
            if row["reviewer"] != keep_for_login
        ]
        criteria = [c["key"] for c in (await service.get_settings(event_id))["criteria"]]
        reviews = build_scores(sorted(pairs), criteria)
        if reviews:
            await Review.insert(
                *(
                    Review(event=event_id, application=a, reviewer=r, scores=scores)
                    for a, r, scores in reviews
                )
            ).run()
    return len(reviews)
