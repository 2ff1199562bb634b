"""The selection board: the event's rules and locks, the optimiser over the reviewed
applications, its proposal turned into pending decisions, and replacements after a decline.

The optimiser itself is the pure `eventapp.applications.selection`; this module only feeds it
(applications as candidates, scored by their weighted review mean; rules; locks) and keeps its
last proposal so the board shows the same thing to every organiser until someone runs it again.
Applications already accepted or confirmed are held in (they have been told); declined and
withdrawn ones are not candidates.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from eventapp.applications import service as applications
from eventapp.applications.selection import (
    Candidate,
    Infeasible,
    Rules,
    Selection,
    replacement_for,
    select,
)
from eventapp.applications.states import SELECTED, TRANSITIONS, State
from eventapp.db import lock_row, transaction
from eventapp.errors import Conflict
from eventapp.events.tables import Event
from eventapp.pagination import PageRequest
from eventapp.review import service as review
from eventapp.review.tables import SelectionBoard, SelectionLock

DEFAULT_RULES: dict[str, Any] = {
    "size": 32,
    "min_women_led": 7,
    "min_per_country": 1,
    "max_per_country": 5,
    "max_per_sector": 6,
    "max_per_incubator": 3,
    "min_countries": 0,
}
"""The ASEAN showcase's rules: 32 places, at least 7 women-led, 1 to 5 per country, at most 6
per sector and 3 per incubator."""

_HELD = frozenset(state.value for state in SELECTED)


async def _board(event_id: int) -> dict[str, Any] | None:
    return (
        await SelectionBoard.select()
        .where(SelectionBoard.event == event_id)
        .output(load_json=True)
        .first()
    )


async def get_rules(event_id: int) -> dict[str, Any]:
    board = await _board(event_id)
    return {**DEFAULT_RULES, **(board["rules"] if board else {})}


async def save_rules(event_id: int, rules: dict[str, Any]) -> dict[str, Any]:
    async with transaction():
        await lock_row(Event, event_id)
        if (
            not await SelectionBoard.update({SelectionBoard.rules: rules})
            .where(SelectionBoard.event == event_id)
            .returning(SelectionBoard.id)
        ):
            await SelectionBoard.insert(SelectionBoard(event=event_id, rules=rules)).run()
    return await get_rules(event_id)


async def set_lock(
    event_id: int, application_id: int, lock: str | None, actor_id: int | None
) -> dict[str, Any]:
    """Lock an application in (`include`) or out (`exclude`) of every proposal, or unlock it."""
    await review.application_in_review(event_id, application_id)
    async with transaction():
        await SelectionLock.delete().where(SelectionLock.application == application_id)
        if lock is not None:
            await SelectionLock.insert(
                SelectionLock(
                    event=event_id, application=application_id, lock_kind=lock, created_by=actor_id
                )
            ).run()
    return {"application_id": application_id, "lock": lock}


async def locks(event_id: int) -> dict[int, str]:
    return {
        row["application"]: row["lock_kind"]
        for row in await SelectionLock.select(
            SelectionLock.application, SelectionLock.lock_kind
        ).where(SelectionLock.event == event_id)
    }


def _rules(settings: dict[str, Any], include: set[int], exclude: set[int]) -> Rules:
    return Rules(
        size=settings["size"],
        min_women_led=settings["min_women_led"],
        min_per_country=settings["min_per_country"],
        max_per_country=settings["max_per_country"],
        max_per_sector=settings["max_per_sector"],
        max_per_incubator=settings["max_per_incubator"],
        min_countries=settings["min_countries"],
        must_include=frozenset(include),
        must_exclude=frozenset(exclude),
    )


def _candidate(row: dict[str, Any]) -> Candidate:
    return Candidate(
        id=row["id"],
        score=row["mean"] or 0.0,
        country=row["country"],
        sectors=tuple(row["sectors"]),
        incubator=None if row["incubator"] is None else str(row["incubator"]),
        women_led=bool(row["women_led"]),
    )


async def _inputs(event_id: int) -> tuple[list[dict[str, Any]], Rules]:
    """The candidates (reviewable applications, best mean first) and the rules with the locks;
    accepted and confirmed applications are held in, whatever their lock says."""
    rows = await review.scored_applications(event_id)
    settings, locked = await get_rules(event_id), await locks(event_id)
    held = {row["id"] for row in rows if row["state"] in _HELD}
    include = {a for a, lock in locked.items() if lock == "include"} | held
    exclude = {a for a, lock in locked.items() if lock == "exclude"} - held
    known = {row["id"] for row in rows}
    return rows, _rules(settings, include & known, exclude & known)


def _infeasible(error: Infeasible, reason: str = "selection_infeasible") -> Conflict:
    return Conflict(
        f"The rules cannot all be met: {error.detail} (rule {error.rule}).",
        reason=reason,
        rule=error.rule,
    )


async def run(event_id: int) -> dict[str, Any]:
    """Run the optimiser over the reviewed applications and keep its proposal."""
    rows, rules = await _inputs(event_id)
    try:
        # Seconds of CPU for thousands of applications: off the event loop.
        selection = await asyncio.to_thread(
            select, [_candidate(row) for row in rows], rules, time_limit=30
        )
    except Infeasible as error:
        raise _infeasible(error) from None
    proposal = {
        "selected": list(selection.selected),
        "waitlist": list(selection.waitlist),
        "explanations": {str(k): v for k, v in selection.explanations.items()},
        "objective": round(selection.objective, 4),
        "optimal": selection.optimal,
        "rules": await get_rules(event_id),
        "run_at": review.now().isoformat(),
    }
    async with transaction():
        await lock_row(Event, event_id)
        if (
            not await SelectionBoard.update({SelectionBoard.proposal: proposal})
            .where(SelectionBoard.event == event_id)
            .returning(SelectionBoard.id)
        ):
            await SelectionBoard.insert(
                SelectionBoard(event=event_id, rules=await get_rules(event_id), proposal=proposal)
            ).run()
    return await proposal_of(event_id)


def _balance(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "by_country": dict(sorted(Counter(r["country"] for r in rows).items())),
        "by_sector": dict(sorted(Counter(s for r in rows for s in r["sectors"]).items())),
        "women_led": sum(bool(r["women_led"]) for r in rows),
        "total": len(rows),
    }


async def proposal_of(event_id: int) -> dict[str, Any]:
    """The last proposal with the selected set's balance by country, sector and women-led."""
    board = await _board(event_id)
    proposal = board["proposal"] if board else None
    if not proposal:
        return {
            "selected": [],
            "waitlist": [],
            "objective": None,
            "optimal": None,
            "run_at": None,
            "rules": await get_rules(event_id),
            "balance": _balance([]),
        }
    rows = {row["id"]: row for row in await review.scored_applications(event_id)}
    chosen = [rows[i] for i in proposal["selected"] if i in rows]
    return {
        **{k: proposal[k] for k in ("selected", "waitlist", "objective", "optimal", "run_at")},
        "rules": proposal["rules"],
        "balance": _balance(chosen),
    }


async def ranked(event_id: int, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
    """The board's list: every candidate by score, with its lock and the last proposal's line."""
    rows = await review.scored_applications(event_id)
    board = await _board(event_id)
    proposal = (board or {}).get("proposal") or {}
    selected, waitlist = set(proposal.get("selected", ())), proposal.get("waitlist", [])
    explanations = proposal.get("explanations", {})
    locked = await locks(event_id)
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
        row["lock"] = locked.get(row["id"])
        row["proposed"] = (
            "selected"
            if row["id"] in selected
            else f"waitlist {waitlist.index(row['id']) + 1}"
            if row["id"] in waitlist
            else "out"
            if proposal
            else None
        )
        row["explanation"] = explanations.get(str(row["id"]), "")
    if page.q:
        needle = page.q.lower()
        rows = [
            r for r in rows if needle in r["company_name"].lower() or needle == r["country"].lower()
        ]
    return rows[page.offset : page.offset + page.limit], len(rows)


def _decision_for(application_id: int, proposal: dict[str, Any]) -> State:
    if application_id in proposal["selected"]:
        return State.accepted
    if application_id in proposal["waitlist"]:
        return State.waitlisted
    return State.rejected


async def propose_decisions(event_id: int, actor_id: int | None) -> dict[str, int]:
    """Turn the last proposal into pending decisions (selected: accepted, waitlist: waitlisted,
    the rest: rejected) for every application the decision is a move for; nobody is told until
    the organiser releases them. Applications already in that state are left alone."""
    board = await _board(event_id)
    proposal = (board or {}).get("proposal")
    if not proposal:
        raise Conflict("Run the optimiser first.", reason="no_proposal")
    counts: Counter = Counter()
    async with transaction():
        for row in await review.scored_applications(event_id):
            if row["state"] in _HELD:
                continue  # told already; a stale proposal must not undo that
            decision = _decision_for(row["id"], proposal)
            if decision not in TRANSITIONS[State(row["state"])]:
                if row["pending_decision"] is not None:  # it stays as it is
                    await applications.set_pending_decision(event_id, row["id"], None, actor_id)
                continue
            await applications.set_pending_decision(event_id, row["id"], decision.value, actor_id)
            counts[decision.value] += 1
    return {
        state.value: counts[state.value]
        for state in (State.accepted, State.waitlisted, State.rejected)
    }


async def replacement(event_id: int, declined_id: int) -> dict[str, Any]:
    """The best-ranked candidate who can take a declined start-up's place keeping every rule,
    the others on stage staying as they are."""
    declined = await applications.get_application(event_id, declined_id)
    if declined["state"] not in (State.declined, *SELECTED):
        raise Conflict(
            "Only an accepted start-up that declines (or is about to) needs a replacement.",
            reason="not_selected",
        )
    rows, rules = await _inputs(event_id)
    by_id = {row["id"]: row for row in rows}
    if declined_id not in by_id:
        by_id[declined_id] = {
            **declined,
            "mean": (await review.figures(event_id)).get(declined_id, {}).get("mean"),
        }
    candidates = [_candidate(row) for row in by_id.values()]
    on_stage = [row["id"] for row in rows if row["state"] in _HELD and row["id"] != declined_id]
    chosen = tuple([*on_stage, declined_id])
    rules = _rules(
        {**(await get_rules(event_id)), "size": len(chosen)},
        set(rules.must_include) - {declined_id},
        set(rules.must_exclude) - {declined_id},
    )
    current = Selection(
        selected=chosen,
        waitlist=(),
        explanations={},
        objective=0.0,
        optimal=False,
        candidates=tuple(candidates),
        rules=rules,
    )
    try:
        found = replacement_for(current, declined_id)
    except Infeasible as error:
        raise _infeasible(error, reason="no_replacement") from None
    row = by_id[found.replacement]
    return {
        "declined_id": declined_id,
        "replacement_id": found.replacement,
        "company_name": row["company_name"],
        "country": row["country"],
        "mean": row["mean"],
        "explanation": found.explanation,
    }
