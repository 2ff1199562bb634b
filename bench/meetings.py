"""How good and how fast is the meeting scheduler? Two deterministic instances, made in the run.

- seed:  32 start-ups, 60 investors, 16 slots over two days, 80 % availability, 10 tables;
- large: 500 start-ups, 400 investors, 24 slots over two days, 70 % availability, 150 tables.

Marks follow popularity (a few start-ups and investors draw most interest), start-ups answer
the investors who marked them more often than others, so mutual must-meets cluster on popular
start-ups, as they do at real events. Every start-up has a minimum of 3 meetings.

For each instance: quality is the scheduler's objective over the best known upper bound (on seed
the exact time-indexed MILP solved in the same run; on large the pair model's proven dual bound,
a relaxation of the whole problem). The minimum bonus is subtracted from both sides first, so it
does not flatter the ratio. Then seconds, peak memory (the process's peak RSS, large runs first),
and the mutual must-meets scheduled over those a first-come-first-served simulation gets:
investors' requests in random order, each booked in the first slot both are free with a free table.

Usage: python bench/meetings.py
The last line is JSON: {"bench": "meetings", "seed_quality", "seed_seconds", "large_quality",
"large_seconds", "large_peak_mb", "seed_vs_fcfs", "large_vs_fcfs"}.
"""

from __future__ import annotations

import json
import os
import random
import resource
import time

from eventapp.matchmaking.scheduler import (
    MINIMUM_BONUS,
    Investor,
    Meeting,
    Preference,
    Problem,
    Slot,
    schedule,
    solve_exact,
    violations,
)

MINIMUM = 3


def make_instance(
    seed: int,
    startups: int,
    investors: int,
    slots: int,
    availability: float,
    tables: int,
    max_investor: int,
    max_startup: int,
) -> Problem:
    """A deterministic event of the given size."""
    rng = random.Random(seed)
    startup_ids = [f"s{n}" for n in range(startups)]
    firms = [f"f{n}" for n in range(investors * 2 // 3)]
    people = [Investor(f"i{n}", rng.choice(firms)) for n in range(investors)]
    slot_list = [Slot(f"t{n}", day=0 if n < slots // 2 else 1) for n in range(slots)]
    startup_pop = [1.0 / (rank + 1) ** 0.7 for rank in range(startups)]
    investor_pop = [1.0 / (rank + 1) ** 0.5 for rank in range(investors)]
    investor_marks: dict[tuple[str, str], Preference] = {}
    startup_marks: dict[tuple[str, str], Preference] = {}
    for inv in people:
        wanted = {rng.choices(startup_ids, startup_pop)[0] for _ in range(rng.randint(8, 16))}
        for s in sorted(wanted):
            must = rng.random() < 0.35
            investor_marks[(inv.id, s)] = Preference.MUST if must else Preference.HAPPY
        for s in rng.sample(startup_ids, 2):
            investor_marks.setdefault((inv.id, s), Preference.NO_THANKS)
    for s in startup_ids:
        asked = [inv.id for inv in people if (inv.id, s) in investor_marks]
        for i in asked:
            if rng.random() < 0.6:
                must = rng.random() < 0.5
                startup_marks[(i, s)] = Preference.MUST if must else Preference.HAPPY
            elif rng.random() < 0.15:
                startup_marks[(i, s)] = Preference.NO_THANKS
        for _ in range(rng.randint(3, 8)):
            i = rng.choices(people, investor_pop)[0].id
            startup_marks.setdefault((i, s), rng.choice([Preference.HAPPY, Preference.MUST]))
    fit = {key: round(rng.random(), 3) for key in sorted({*investor_marks, *startup_marks})}
    every = [inv.id for inv in people] + startup_ids
    avail = {
        person: frozenset(t.id for t in slot_list if rng.random() < availability)
        for person in every
    }
    return Problem(
        investors=people,
        startups=startup_ids,
        slots=slot_list,
        tables=tables,
        investor_marks=investor_marks,
        startup_marks=startup_marks,
        fit=fit,
        availability=avail,
        max_investor=max_investor,
        max_startup=max_startup,
        min_startup=MINIMUM,
    )


def mutual_musts(problem: Problem, meetings: list[Meeting]) -> int:
    return sum(
        problem.investor_marks.get((m.investor, m.startup)) == Preference.MUST
        and problem.startup_marks.get((m.investor, m.startup)) == Preference.MUST
        for m in meetings
    )


def first_come_first_served(problem: Problem, seed: int) -> list[Meeting]:
    """Self-service booking: investors' requests in random order, first free slot, any table."""
    rng = random.Random(seed)
    requests = [
        key for key, mark in sorted(problem.investor_marks.items()) if mark != Preference.NO_THANKS
    ]
    rng.shuffle(requests)
    firm = {inv.id: inv.firm for inv in problem.investors}
    busy: set[tuple[str, str]] = set()
    tables_used: dict[str, int] = {}
    degree: dict[str, int] = {}
    firm_met: set[tuple[str, str]] = set()
    meetings = []
    for investor, startup in requests:
        if problem.startup_marks.get((investor, startup)) == Preference.NO_THANKS:
            continue
        if (firm[investor], startup) in firm_met:
            continue
        if degree.get(investor, 0) >= problem.max_investor:
            continue
        if degree.get(startup, 0) >= problem.max_startup:
            continue
        for slot in problem.slots:
            t = slot.id
            if (
                t in problem.availability[investor]
                and t in problem.availability[startup]
                and (investor, t) not in busy
                and (startup, t) not in busy
                and tables_used.get(t, 0) < problem.tables
            ):
                meetings.append(Meeting(investor, startup, t, tables_used.get(t, 0)))
                busy |= {(investor, t), (startup, t)}
                tables_used[t] = tables_used.get(t, 0) + 1
                degree[investor] = degree.get(investor, 0) + 1
                degree[startup] = degree.get(startup, 0) + 1
                firm_met.add((firm[investor], startup))
                break
    return meetings


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(name: str, problem: Problem, exact: bool) -> dict:
    started = time.perf_counter()
    result = schedule(problem)
    seconds = time.perf_counter() - started
    peak = peak_mb()
    broken = violations(problem, result.meetings)
    assert not broken, broken[:5]
    best, best_kind = result.bound, "pair-model dual bound"
    if exact:
        started = time.perf_counter()
        yardstick = solve_exact(problem)
        exact_seconds = time.perf_counter() - started
        assert not violations(problem, yardstick.meetings)
        best, best_kind = yardstick.bound, f"exact MILP ({exact_seconds:.1f} s)"
    floor = MINIMUM_BONUS * MINIMUM * len(problem.startups)
    fcfs = first_come_first_served(problem, seed=7)
    mutual = sum(
        mark == Preference.MUST and problem.startup_marks.get(key) == Preference.MUST
        for key, mark in problem.investor_marks.items()
    )
    return {
        "name": name,
        "meetings": len(result.meetings),
        "value": result.value,
        "best": best,
        "best_kind": best_kind,
        "quality": (result.value - floor) / (best - floor),
        "seconds": seconds,
        "peak_mb": peak,
        "shortfall": sum(result.shortfall.values()),
        "mutual": mutual,
        "musts": mutual_musts(problem, result.meetings),
        "fcfs_meetings": len(fcfs),
        "fcfs_musts": mutual_musts(problem, fcfs),
    }


def main() -> None:
    load = os.getloadavg()[0]
    large = make_instance(2, 500, 400, 24, 0.7, 150, max_investor=12, max_startup=12)
    seed = make_instance(1, 32, 60, 16, 0.8, 10, max_investor=8, max_startup=10)
    rows = [measure("large", large, exact=False), measure("seed", seed, exact=True)]
    print(f"load average at start: {load:.2f} (2 cores)")
    header = (
        f"{'instance':8} {'meetings':>8} {'value':>9} {'bound':>9} {'quality':>7} {'seconds':>7} "
        f"{'peak MB':>7} {'short':>5} {'musts':>11} {'FCFS':>9} {'vs FCFS':>7}  bound from"
    )
    print(header)
    for r in rows:
        print(
            f"{r['name']:8} {r['meetings']:8d} {r['value']:9.1f} {r['best']:9.1f} "
            f"{r['quality']:7.4f} {r['seconds']:7.2f} {r['peak_mb']:7.0f} {r['shortfall']:5d} "
            f"{r['musts']:5d}/{r['mutual']:<5d} {r['fcfs_musts']:4d} ({r['fcfs_meetings']}) "
            f"{r['musts'] / r['fcfs_musts']:7.2f}  {r['best_kind']}"
        )
    by = {r["name"]: r for r in rows}
    print(
        json.dumps(
            {
                "bench": "meetings",
                "seed_quality": round(by["seed"]["quality"], 4),
                "seed_seconds": round(by["seed"]["seconds"], 2),
                "large_quality": round(by["large"]["quality"], 4),
                "large_seconds": round(by["large"]["seconds"], 2),
                "large_peak_mb": round(by["large"]["peak_mb"], 1),
                "seed_vs_fcfs": round(by["seed"]["musts"] / by["seed"]["fcfs_musts"], 3),
                "large_vs_fcfs": round(by["large"]["musts"] / by["large"]["fcfs_musts"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
