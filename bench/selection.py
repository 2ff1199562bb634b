"""How fast is the selection optimiser on large events, and is its answer the true optimum?

Random events of 200, 2,000 and 10,000 applications from 10 countries, 12 sectors and 40
incubators (each in one country; a tenth of applications have none), under the seed event's
rules: 32 places, at least 7 women-led, 1 to 5 per country, at most 6 per sector, at most 3 per
incubator. For each it reports the seconds `select` takes (the median of --repeat runs, waitlist
and explanations included), whether HiGHS proved the result optimal, and whether it keeps the
rules read plainly here ("optimal" in the JSON needs both, on every instance). On the 200
instance (on every one with --check-all) the optimum is checked against an independent solver,
OR-Tools CP-SAT, on a model written here from the rules (`pip install -e '.[bench]'`).

Usage: python bench/selection.py [--seed S] [--repeat R] [--check-all]  (CP-SAT on every size)
The last line is JSON: {"bench": "selection", "seconds_2000", "seconds_10000", "optimal",
"matches_check"}. Goals: 2,000 in at most 1 s, 10,000 in at most 5 s, always optimal.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections import Counter

from eventapp.applications.selection import Candidate, Rules, Selection, select

COUNTRIES = ["BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"]
# Nominations are uneven: the larger start-up scenes send more.
WEIGHTS = [1, 2, 6, 1, 5, 2, 5, 7, 5, 6]
SECTORS = [
    "agritech",
    "ai",
    "cleantech",
    "edtech",
    "fintech",
    "foodtech",
    "healthtech",
    "logistics",
    "mobility",
    "proptech",
    "retail",
    "social",
]
RULES = Rules(
    size=32,
    min_women_led=7,
    min_per_country=1,
    max_per_country=5,
    max_per_sector=6,
    max_per_incubator=3,
)


def applications(count: int, seed: int) -> list[Candidate]:
    rng = random.Random(seed)
    incubators = [(f"inc-{k:02d}", COUNTRIES[k % len(COUNTRIES)]) for k in range(40)]
    out = []
    for i in range(count):
        country = rng.choices(COUNTRIES, WEIGHTS)[0]
        local = [name for name, home in incubators if home == country]
        out.append(
            Candidate(
                id=i,
                # A review average to two decimals: many ties at 10,000.
                score=round(1 + 4 * rng.betavariate(2, 2), 2),
                country=country,
                sectors=tuple(rng.sample(SECTORS, rng.choice([1, 1, 2]))),
                incubator=rng.choice(local) if rng.random() < 0.9 else None,
                women_led=rng.random() < 0.25,
            )
        )
    return out


def keeps_rules(candidates: list[Candidate], rules: Rules, selection: Selection) -> bool:
    """The seed rules read plainly (every country with applications is a country to cover)."""
    chosen = [c for c in candidates if c.id in set(selection.selected)]
    countries = Counter(c.country for c in chosen)
    sectors = Counter(s for c in chosen for s in c.sectors)
    incubators = Counter(c.incubator for c in chosen if c.incubator)
    return (
        len(chosen) == rules.size
        and sum(c.women_led for c in chosen) >= rules.min_women_led
        and all(
            rules.min_per_country <= countries[k] <= rules.max_per_country
            for k in {c.country for c in candidates}
        )
        and max(sectors.values()) <= rules.max_per_sector
        and max(incubators.values(), default=0) <= rules.max_per_incubator
    )


def cp_sat_optimum(candidates: list[Candidate], rules: Rules) -> int | None:
    """The optimum in hundredths of a point by CP-SAT (None when OR-Tools is absent)."""
    try:
        from ortools.sat.python import cp_model
    except ImportError:
        return None
    model = cp_model.CpModel()
    x = {c.id: model.new_bool_var(f"x{c.id}") for c in candidates}
    model.add(sum(x.values()) == rules.size)
    model.add(sum(x[c.id] for c in candidates if c.women_led) >= rules.min_women_led)
    groups: dict[tuple[str, str], list] = {}
    for c in candidates:
        groups.setdefault(("country", c.country), []).append(x[c.id])
        for sector in c.sectors:
            groups.setdefault(("sector", sector), []).append(x[c.id])
        if c.incubator:
            groups.setdefault(("incubator", c.incubator), []).append(x[c.id])
    for (kind, _), members in groups.items():
        if kind == "country":
            model.add(sum(members) >= rules.min_per_country)
            model.add(sum(members) <= rules.max_per_country)
        else:
            cap = rules.max_per_sector if kind == "sector" else rules.max_per_incubator
            model.add(sum(members) <= cap)
    model.maximize(sum(round(c.score * 100) * x[c.id] for c in candidates))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = 120
    if solver.solve(model) != cp_model.OPTIMAL:
        raise RuntimeError("CP-SAT did not prove an optimum")
    return round(solver.objective_value)


def main(seed: int, repeat: int, check_all: bool) -> None:
    load = os.getloadavg()
    print(f"selection: 32 of N applications, seed rules; load average {load[0]:.2f} (2 cores)")
    print(
        f"{'applications':>12}{'seconds':>10}{'optimal':>9}{'rules kept':>12}{'objective':>11}"
        f"{'waitlist':>10}"
    )
    figures = {}
    all_optimal = True
    matches_check: bool | None = None
    for count in (200, 2000, 10000):
        candidates = applications(count, seed + count)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            selection = select(candidates, RULES)
            times.append(time.perf_counter() - started)
        seconds = round(statistics.median(times), 3)
        figures[count] = seconds
        kept = keeps_rules(candidates, RULES, selection)
        all_optimal = all_optimal and selection.optimal and kept
        print(
            f"{count:>12}{seconds:>10}{selection.optimal!s:>9}{kept!s:>12}"
            f"{selection.objective:>11.2f}{len(selection.waitlist):>10}"
        )
        if count == 200 or check_all:
            check = cp_sat_optimum(candidates, RULES)
            if check is not None:
                matches = check == round(selection.objective * 100)
                matches_check = matches and matches_check is not False
                print(f"{'':>12}CP-SAT optimum {check / 100:.2f}: matches {matches}")
            else:
                print(f"{'':>12}CP-SAT check skipped: pip install -e '.[bench]'")
        if count == 200:
            first = selection
    print("\nsome explanations from the 200 instance:")
    out = [i for i in first.explanations if i not in first.selected]
    capped = [i for i in out if "waitlist" not in first.explanations[i]]
    for candidate_id in [*first.selected[:2], first.selected[-1], *out[:1], *capped[:3]]:
        print(f"  {candidate_id:>5}  {first.explanations[candidate_id]}")
    print(
        json.dumps(
            {
                "bench": "selection",
                "seconds_2000": figures[2000],
                "seconds_10000": figures[10000],
                "optimal": all_optimal,
                "matches_check": matches_check,
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--repeat", type=int, default=3, help="runs per instance (median)")
    parser.add_argument("--check-all", action="store_true", help="CP-SAT on every instance")
    arguments = parser.parse_args()
    main(arguments.seed, arguments.repeat, arguments.check_all)
