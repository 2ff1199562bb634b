"""Review: the event's weighted criteria, who reviews what, the scores, and what organisers see.

Reviewers score each criterion 1 to 5; a review's score is the criteria's weighted mean, and an
application's figures (mean, median, spread, count) are taken over its reviews that did not
abstain. Weights may change at any time (the figures follow them); the set of criteria may
not change once a review exists, since stored scores are keyed by criterion.

Reviewers never see each other's scores unless the organiser allows it, and even then only
after saving their own review of that application, so nobody anchors on the others.
"""

from __future__ import annotations

import asyncio
import csv
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from eventapp.accounts.tables import UserEventRole
from eventapp.applications.states import IN_REVIEW
from eventapp.applications.tables import Application
from eventapp.db import transaction
from eventapp.errors import Conflict, Forbidden, NotFound
from eventapp.pagination import PageRequest
from eventapp.review import assignment
from eventapp.review.tables import Review, ReviewAssignment, ReviewConflict, ReviewSettings
from eventapp.spreadsheets import safe_cell

SCORE_MIN, SCORE_MAX = 1, 5

DEFAULT_CRITERIA: tuple[dict[str, Any], ...] = (
    {"key": "team", "label": "Team", "weight": 1.0},
    {"key": "problem_market", "label": "Problem and market", "weight": 1.0},
    {"key": "innovation", "label": "Innovation", "weight": 1.0},
    {"key": "traction", "label": "Traction", "weight": 1.0},
    {"key": "investor_fit", "label": "Investor fit", "weight": 1.0},
)
DEFAULTS: dict[str, Any] = {
    "criteria": [dict(c) for c in DEFAULT_CRITERIA],
    "reviewers_per_application": 3,
    "anonymised": False,
    "reviewers_see_scores": False,
}
REVIEWABLE = tuple(sorted(IN_REVIEW))
"""States whose applications are reviewed and selected from (submitted, and decided since)."""

# What an anonymised review hides: who the start-up is, who nominated it, where to find it.
_HIDDEN_WHEN_ANONYMISED = ("company_name", "incubator_name", "website", "deck_url", "founders")


def now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------------
# Pure arithmetic (no database): a review's score and an application's figures


def weighted_score(scores: dict[str, int], criteria: list[dict[str, Any]]) -> float | None:
    """The weighted mean of a review's scores over the criteria (None if none apply)."""
    total = weight = 0.0
    for criterion in criteria:
        if criterion["key"] in scores:
            total += criterion["weight"] * scores[criterion["key"]]
            weight += criterion["weight"]
    return total / weight if weight else None


def summary(scores: Iterable[float]) -> dict[str, Any]:
    """Mean, median, spread (highest minus lowest) and count of review scores."""
    values = sorted(scores)
    if not values:
        return {"mean": None, "median": None, "spread": None, "count": 0}
    return {
        "mean": round(statistics.fmean(values), 4),
        "median": round(statistics.median(values), 4),
        "spread": round(values[-1] - values[0], 4),
        "count": len(values),
    }


# --------------------------------------------------------------------------------------------------
# Settings


async def get_settings(event_id: int) -> dict[str, Any]:
    rows = (
        await ReviewSettings.select()
        .where(ReviewSettings.event == event_id)
        .output(load_json=True)
        .first()
    )
    if rows is None:
        return {**DEFAULTS, "criteria": [dict(c) for c in DEFAULT_CRITERIA]}
    return {key: rows[key] for key in DEFAULTS}


async def save_settings(event_id: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Replace the event's review settings; the criteria's keys are fixed once a review exists."""
    keys = [c["key"] for c in settings["criteria"]]
    if len(set(keys)) != len(keys):
        raise Conflict("Two criteria share a key.", reason="criteria_duplicate")
    async with transaction():
        current = await get_settings(event_id)
        if {c["key"] for c in current["criteria"]} != set(keys) and await Review.exists().where(
            (Review.event == event_id) & (Review.abstained.eq(False))
        ):
            raise Conflict(
                "Reviews are already scored on the current criteria: change their labels and "
                "weights, not which criteria there are.",
                reason="reviews_started",
            )
        values = {**settings, "updated_at": now()}
        updated = (
            await ReviewSettings.update(values)
            .where(ReviewSettings.event == event_id)
            .returning(ReviewSettings.id)
            .run()
        )
        if not updated:
            await ReviewSettings.insert(ReviewSettings(event=event_id, **values)).run()
    return await get_settings(event_id)


# --------------------------------------------------------------------------------------------------
# Reviewers, conflicts, assignment


async def reviewers(event_id: int) -> list[dict[str, Any]]:
    """The event's reviewers with the incubator they belong to (their organisation if it is an
    incubator, else the incubator of their organisation)."""
    rows = await UserEventRole.select(
        UserEventRole.user.id.as_alias("id"),
        UserEventRole.user.name.as_alias("name"),
        UserEventRole.user.email.as_alias("email"),
        UserEventRole.user.organisation.id.as_alias("organisation"),
        UserEventRole.user.organisation.kind.as_alias("kind"),
        UserEventRole.user.organisation.incubator.as_alias("parent"),
    ).where((UserEventRole.event == event_id) & (UserEventRole.role == "reviewer"))
    for row in rows:
        row["incubator"] = row["organisation"] if row.pop("kind") == "incubator" else row["parent"]
        del row["parent"], row["organisation"]
    return sorted(rows, key=lambda r: r["id"])


async def reviewable_applications(event_id: int) -> list[dict[str, Any]]:
    return await Application.select(Application.id, Application.incubator).where(
        (Application.event == event_id) & Application.state.is_in(list(REVIEWABLE))
    )


async def _conflicts(event_id: int) -> dict[int, set[int]]:
    """Reviewer id -> the applications they may not review: those they declared a conflict
    with, and their own (an application they own, or their start-up's), declared or not."""
    conflicts: dict[int, set[int]] = defaultdict(set)
    for row in await ReviewConflict.select(
        ReviewConflict.reviewer, ReviewConflict.application
    ).where(ReviewConflict.event == event_id):
        conflicts[row["reviewer"]].add(row["application"])
    colleagues: dict[int, set[int]] = defaultdict(set)  # organisation -> its reviewers
    for row in await UserEventRole.select(
        UserEventRole.user, UserEventRole.user.organisation.as_alias("organisation")
    ).where((UserEventRole.event == event_id) & (UserEventRole.role == "reviewer")):
        if row["organisation"] is not None:
            colleagues[row["organisation"]].add(row["user"])
    for row in await Application.select(
        Application.id, Application.owner, Application.organisation
    ).where(Application.event == event_id):
        if row["owner"] is not None:
            conflicts[row["owner"]].add(row["id"])
        for reviewer in colleagues.get(row["organisation"], ()):
            conflicts[reviewer].add(row["id"])
    return conflicts


async def auto_assign(event_id: int) -> dict[str, Any]:
    """Bring every reviewable application to k reviewers (keeping existing assignments),
    balanced across reviewers, never from its incubator nor with a conflict (declared, or their
    own application).

    The solver runs in a worker thread outside any transaction (seconds for thousands of
    applications: neither the event loop nor SQLite's write lock waits for it); the write then
    drops any pair whose conflict was declared meanwhile, and the unique index turns a concurrent
    run's duplicate into a 409 with nothing written.
    """
    settings = await get_settings(event_id)
    k = settings["reviewers_per_application"]
    people = await reviewers(event_id)
    if not people:
        raise Conflict("The event has no reviewers yet.", reason="no_reviewers")
    conflicts = await _conflicts(event_id)
    existing = [
        (row["application"], row["reviewer"])
        for row in await ReviewAssignment.select(
            ReviewAssignment.application, ReviewAssignment.reviewer
        ).where(ReviewAssignment.event == event_id)
    ]
    applications = [
        assignment.Application(a["id"], a["incubator"])
        for a in await reviewable_applications(event_id)
    ]
    panel = [
        assignment.Reviewer(p["id"], p["incubator"], frozenset(conflicts[p["id"]])) for p in people
    ]
    try:
        pairs = await asyncio.to_thread(
            assignment.assign, applications, panel, k, existing=existing
        )
    except assignment.Unassignable as error:
        raise Conflict(
            f"{len(error.applications)} application(s) have fewer than {k} reviewers who are "
            "neither from their incubator nor conflicted: invite more reviewers or lower k.",
            reason="not_enough_reviewers",
            applications=error.applications,
        ) from None
    async with transaction():
        declared = await _conflicts(event_id)
        pairs = [(a, r) for a, r in pairs if a not in declared[r]]
        if pairs:
            await ReviewAssignment.insert(
                *(ReviewAssignment(event=event_id, application=a, reviewer=r) for a, r in pairs)
            ).run()
    return {"created": len(pairs), "reviewers_per_application": k}


async def reviewer_loads(event_id: int, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
    """Each reviewer with how many applications they have, reviewed and abstained on."""
    people = await reviewers(event_id)
    if page.q:
        needle = page.q.lower()
        people = [p for p in people if needle in p["name"].lower() or needle in p["email"].lower()]
    assigned = Counter(
        row["reviewer"]
        for row in await ReviewAssignment.select(ReviewAssignment.reviewer).where(
            ReviewAssignment.event == event_id
        )
    )
    reviewed, abstained = Counter(), Counter()
    for row in await Review.select(Review.reviewer, Review.abstained).where(
        Review.event == event_id
    ):
        (abstained if row["abstained"] else reviewed)[row["reviewer"]] += 1
    rows = [
        {
            "id": p["id"],
            "name": p["name"],
            "email": p["email"],
            "incubator": p["incubator"],
            "assigned": assigned[p["id"]],
            "reviewed": reviewed[p["id"]],
            "abstained": abstained[p["id"]],
        }
        for p in people
    ]
    return rows[page.offset : page.offset + page.limit], len(rows)


async def application_in_review(event_id: int, application_id: int) -> dict[str, Any]:
    row = (
        await Application.select(
            *Application.all_columns(exclude=[Application.owner, Application.nominated_by]),
            Application.incubator.name.as_alias("incubator_name"),
        )
        .where((Application.id == application_id) & (Application.event == event_id))
        .output(load_json=True)
        .first()
    )
    if row is None or row["state"] not in REVIEWABLE:
        raise NotFound("No application with that id is in review here.", reason="not_in_review")
    return row


async def declare_conflict(
    event_id: int, reviewer_id: int, application_id: int, note: str
) -> dict[str, Any]:
    """Record a reviewer's conflict of interest and take the application off their list."""
    await application_in_review(event_id, application_id)
    async with transaction():
        if await Review.exists().where(
            (Review.application == application_id) & (Review.reviewer == reviewer_id)
        ):
            raise Conflict(
                "You have already reviewed this application; ask an organiser to remove it.",
                reason="already_reviewed",
            )
        rows = (
            await ReviewConflict.insert(
                ReviewConflict(
                    event=event_id, application=application_id, reviewer=reviewer_id, note=note
                )
            )
            .returning(*ReviewConflict.all_columns())
            .run()
        )
        await ReviewAssignment.delete().where(
            (ReviewAssignment.application == application_id)
            & (ReviewAssignment.reviewer == reviewer_id)
        )
    return rows[0]


async def list_conflicts(
    event_id: int, page: PageRequest, reviewer_id: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    condition = ReviewConflict.event == event_id
    if reviewer_id is not None:
        condition &= ReviewConflict.reviewer == reviewer_id
    rows = await page.apply(
        ReviewConflict.select(*ReviewConflict.all_columns())
        .where(condition)
        .order_by(ReviewConflict.id)
    )
    return rows, await ReviewConflict.count().where(condition)


# --------------------------------------------------------------------------------------------------
# The reviewer's queue and scoring


async def _review_counts(event_id: int) -> Counter:
    return Counter(
        row["application"]
        for row in await Review.select(Review.application).where(Review.event == event_id)
    )


async def queue(
    event_id: int, reviewer_id: int, page: PageRequest
) -> tuple[list[dict[str, Any]], int]:
    """The reviewer's applications: those still to review first, fewest reviews first."""
    rows = await _queue_rows(event_id, reviewer_id)
    if page.q:
        needle = page.q.lower()
        rows = [
            r
            for r in rows
            if needle in r["company_name"].lower() or needle in r["one_liner"].lower()
        ]
    return rows[page.offset : page.offset + page.limit], len(rows)


async def _queue_rows(event_id: int, reviewer_id: int) -> list[dict[str, Any]]:
    assigned = await ReviewAssignment.select(
        ReviewAssignment.application.id.as_alias("id"),
        ReviewAssignment.application.company_name.as_alias("company_name"),
        ReviewAssignment.application.country.as_alias("country"),
        ReviewAssignment.application.one_liner.as_alias("one_liner"),
        ReviewAssignment.application.state.as_alias("state"),
    ).where(
        (ReviewAssignment.event == event_id)
        & (ReviewAssignment.reviewer == reviewer_id)
        & ReviewAssignment.application.state.is_in(list(REVIEWABLE))
    )
    mine = {
        row["application"]: row
        for row in await Review.select(
            Review.application, Review.abstained, Review.scores, Review.updated_at
        )
        .where((Review.event == event_id) & (Review.reviewer == reviewer_id))
        .output(load_json=True)
    }
    counts = await _review_counts(event_id)
    settings = await get_settings(event_id)
    rows = []
    for row in assigned:
        review = mine.get(row["id"])
        status = (
            "to_review" if review is None else "abstained" if review["abstained"] else "reviewed"
        )
        if settings["anonymised"]:
            row["company_name"] = f"Application {row['id']}"
        rows.append(
            {
                **row,
                "status": status,
                "reviews": counts[row["id"]],
                "my_score": None
                if review is None
                else weighted_score(review["scores"], settings["criteria"]),
            }
        )
    rows.sort(key=lambda r: (r["status"] != "to_review", r["reviews"], r["id"]))
    return rows


async def next_for(event_id: int, reviewer_id: int) -> tuple[int | None, int]:
    """The assigned application this reviewer has not reviewed that has the fewest reviews
    (None when done), and how many are left to review."""
    left = [row for row in await _queue_rows(event_id, reviewer_id) if row["status"] == "to_review"]
    return (left[0]["id"] if left else None), len(left)


async def _assigned(event_id: int, reviewer_id: int, application_id: int) -> None:
    if not await ReviewAssignment.exists().where(
        (ReviewAssignment.event == event_id)
        & (ReviewAssignment.application == application_id)
        & (ReviewAssignment.reviewer == reviewer_id)
    ):
        raise Forbidden("This application is not assigned to you.", reason="not_assigned")


async def for_reviewer(event_id: int, reviewer_id: int, application_id: int) -> dict[str, Any]:
    """An assigned application as its reviewer sees it: anonymised if the event says so, their
    own review, and the others' scores only if allowed and once their own review is saved."""
    await _assigned(event_id, reviewer_id, application_id)
    application = await application_in_review(event_id, application_id)
    settings = await get_settings(event_id)
    reviews = (
        await Review.select(
            Review.reviewer, Review.scores, Review.abstained, Review.comment, Review.updated_at
        )
        .where(Review.application == application_id)
        .output(load_json=True)
    )
    mine = next((r for r in reviews if r["reviewer"] == reviewer_id), None)
    others = None
    if settings["reviewers_see_scores"] and mine is not None:
        others = [
            {
                "scores": r["scores"],
                "score": weighted_score(r["scores"], settings["criteria"]),
                "abstained": r["abstained"],
            }
            for r in reviews
            if r["reviewer"] != reviewer_id
        ]
    return {
        "application": _shown(application, settings["anonymised"]),
        "criteria": settings["criteria"],
        "anonymised": settings["anonymised"],
        "my_review": None if mine is None else _review_out(mine, settings["criteria"]),
        "other_reviews": others,
    }


def _shown(application: dict[str, Any], anonymised: bool) -> dict[str, Any]:
    shown = {
        "id": application["id"],
        "company_name": application["company_name"],
        "country": application["country"],
        "incubator_name": application["incubator_name"],
        "sectors": application["sectors"],
        "stage": application["stage"],
        "year_founded": application["year_founded"],
        "team_size": application["team_size"],
        "women_led": application["women_led"],
        "founders": application["founders"],
        "one_liner": application["one_liner"],
        "description": application["description"],
        "traction": application["traction"],
        "funding_sought_usd": application["funding_sought_usd"],
        "website": application["website"],
        "deck_url": application["deck_url"],
    }
    if anonymised:
        for key in _HIDDEN_WHEN_ANONYMISED:
            shown[key] = [] if key == "founders" else None
        shown["company_name"] = f"Application {application['id']}"
    return shown


def _review_out(row: dict[str, Any], criteria: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "scores": row["scores"],
        "score": None if row["abstained"] else weighted_score(row["scores"], criteria),
        "abstained": row["abstained"],
        "comment": row["comment"],
        "updated_at": row["updated_at"],
    }


async def save_review(
    event_id: int,
    reviewer_id: int,
    application_id: int,
    *,
    scores: dict[str, int],
    comment: str,
    abstain: bool,
) -> dict[str, Any]:
    """Save (or replace) this reviewer's review: a score per criterion, or an abstention."""
    await _assigned(event_id, reviewer_id, application_id)
    await application_in_review(event_id, application_id)
    settings = await get_settings(event_id)
    keys = {c["key"] for c in settings["criteria"]}
    if abstain:
        if scores:
            raise Conflict("An abstention carries no scores.", reason="scores_invalid")
    else:
        if set(scores) != keys:
            missing = sorted(keys - set(scores))
            unknown = sorted(set(scores) - keys)
            raise Conflict(
                "Score every criterion of this event once: "
                + "; ".join(
                    part
                    for part in (
                        f"missing {', '.join(missing)}" if missing else "",
                        f"unknown {', '.join(unknown)}" if unknown else "",
                    )
                    if part
                ),
                reason="scores_invalid",
                missing=missing,
                unknown=unknown,
            )
        if any(not SCORE_MIN <= value <= SCORE_MAX for value in scores.values()):
            raise Conflict(f"Scores run from {SCORE_MIN} to {SCORE_MAX}.", reason="scores_invalid")
    values = {"scores": scores, "abstained": abstain, "comment": comment, "updated_at": now()}
    condition = (Review.application == application_id) & (Review.reviewer == reviewer_id)
    async with transaction():
        if not await Review.update(values).where(condition).returning(Review.id).run():
            await Review.insert(
                Review(event=event_id, application=application_id, reviewer=reviewer_id, **values)
            ).run()
        row = await Review.select().where(condition).output(load_json=True).first()
    return _review_out(row, settings["criteria"])


# --------------------------------------------------------------------------------------------------
# What organisers see


async def figures(event_id: int) -> dict[int, dict[str, Any]]:
    """Per application with reviews: mean, median, spread, count (abstentions apart)."""
    settings = await get_settings(event_id)
    scores: dict[int, list[float]] = defaultdict(list)
    abstained: Counter = Counter()
    for row in (
        await Review.select(Review.application, Review.scores, Review.abstained)
        .where(Review.event == event_id)
        .output(load_json=True)
    ):
        if row["abstained"]:
            abstained[row["application"]] += 1
            continue
        score = weighted_score(row["scores"], settings["criteria"])
        if score is not None:
            scores[row["application"]].append(score)
    return {
        application: {**summary(scores.get(application, [])), "abstained": abstained[application]}
        for application in set(scores) | set(abstained)
    }


_EMPTY = {"mean": None, "median": None, "spread": None, "count": 0, "abstained": 0}


async def scored_applications(event_id: int) -> list[dict[str, Any]]:
    """Every reviewable application with its figures, best mean first (unreviewed last)."""
    rows = (
        await Application.select(
            Application.id,
            Application.company_name,
            Application.country,
            Application.sectors,
            Application.women_led,
            Application.incubator,
            Application.incubator.name.as_alias("incubator_name"),
            Application.state,
            Application.pending_decision,
        )
        .where((Application.event == event_id) & Application.state.is_in(list(REVIEWABLE)))
        .output(load_json=True)
    )
    stats = await figures(event_id)
    assigned = Counter(
        row["application"]
        for row in await ReviewAssignment.select(ReviewAssignment.application).where(
            ReviewAssignment.event == event_id
        )
    )
    for row in rows:
        row.update(stats.get(row["id"], _EMPTY))
        row["assigned"] = assigned[row["id"]]
    rows.sort(key=lambda r: (r["mean"] is None, -(r["mean"] or 0), r["id"]))
    return rows


async def list_scores(event_id: int, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
    rows = await scored_applications(event_id)
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    if page.q:
        needle = page.q.lower()
        rows = [
            r for r in rows if needle in r["company_name"].lower() or needle == r["country"].lower()
        ]
    return rows[page.offset : page.offset + page.limit], len(rows)


async def reviews_of(
    event_id: int, application_id: int, page: PageRequest
) -> tuple[list[dict[str, Any]], int]:
    """An application's reviews with who wrote them (organisers only)."""
    await application_in_review(event_id, application_id)
    settings = await get_settings(event_id)
    condition = (Review.event == event_id) & (Review.application == application_id)
    rows = await page.apply(
        Review.select(
            Review.reviewer,
            Review.reviewer.name.as_alias("reviewer_name"),
            Review.scores,
            Review.abstained,
            Review.comment,
            Review.updated_at,
        )
        .where(condition)
        .order_by(Review.id)
        .output(load_json=True)
    )
    out = [
        {
            **_review_out(r, settings["criteria"]),
            "reviewer": r["reviewer"],
            "reviewer_name": r["reviewer_name"],
        }
        for r in rows
    ]
    return out, await Review.count().where(condition)


EXPORT_COLUMNS = (
    "id",
    "company_name",
    "country",
    "sectors",
    "women_led",
    "incubator",
    "state",
    "pending_decision",
    "mean",
    "median",
    "spread",
    "count",
    "abstained",
    "assigned",
)


async def export_csv(event_id: int) -> str:
    """The applications in review with their figures and per-criterion means, best first."""
    settings = await get_settings(event_id)
    rows = await scored_applications(event_id)
    per_criterion: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for review in (
        await Review.select(Review.application, Review.scores)
        .where((Review.event == event_id) & (Review.abstained.eq(False)))
        .output(load_json=True)
    ):
        for key, value in review["scores"].items():
            per_criterion[review["application"]][key].append(value)
    keys = [c["key"] for c in settings["criteria"]]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["rank", *EXPORT_COLUMNS, *(f"mean_{key}" for key in keys)])
    for rank, row in enumerate(rows, 1):
        values = {
            **row,
            "sectors": ";".join(row["sectors"]),
            "incubator": row["incubator_name"] or "",
            "pending_decision": row["pending_decision"] or "",
        }
        means = [
            round(statistics.fmean(v), 4) if (v := per_criterion[row["id"]][key]) else ""
            for key in keys
        ]
        writer.writerow([rank, *(safe_cell(values[c]) for c in EXPORT_COLUMNS), *means])
    return out.getvalue()
