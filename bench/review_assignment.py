"""How fast is the reviewer assignment, and how much more balanced than a greedy one?

Random events of 150, 2,000 and 5,000 applications from 40 incubators, half of them from the
four largest, with 8, 50 and 100 reviewers (a third of them working at those four; each declares
conflicts with 1% of the applications), k = 3 reviewers per application. For each it reports
the seconds `assign` takes and the spread of reviewer loads (largest minus smallest), against
the baseline measured in the same run: a greedy pass giving each application in turn its k
least loaded allowed reviewers.

Usage: python bench/review_assignment.py [--seed S]
The last line is JSON: {"bench": "review_assignment", "seconds_2000", "seconds_5000",
"spread_5000", "greedy_spread_5000", "max_load_5000", "greedy_max_load_5000"}.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter

from eventapp.review.assignment import Application, Reviewer, allowed, assign

SIZES = [(150, 8), (2000, 50), (5000, 100)]
K = 3


def instance(count: int, reviewers: int, rng: random.Random):
    """Nominations are uneven: half the applications come from four large incubators, and a
    third of the reviewers work at those four (so they may review only the other half)."""
    applications = [
        Application(i, f"inc{rng.randrange(4) if rng.random() < 0.5 else rng.randrange(4, 40)}")
        for i in range(count)
    ]
    panel = [
        Reviewer(
            f"r{j}",
            f"inc{j % 4}" if j % 3 == 0 else None,
            frozenset(rng.sample(range(count), max(1, count // 100))),
        )
        for j in range(reviewers)
    ]
    return applications, panel


def greedy(applications, panel, k):
    load = Counter({r.id: 0 for r in panel})
    for application in applications:
        options = [r for r in panel if allowed(r, application)]
        for reviewer in sorted(options, key=lambda r: load[r.id])[:k]:
            load[reviewer.id] += 1
    return load


def main(seed: int) -> None:
    rng = random.Random(seed)
    figures = {}
    print(
        f"{'apps':>6} {'reviewers':>9} {'seconds':>8} {'spread':>7} {'max':>5}"
        f" {'greedy s':>9} {'g.spread':>8} {'g.max':>6}"
    )
    for count, reviewers in SIZES:
        applications, panel = instance(count, reviewers, rng)
        started = time.perf_counter()
        pairs = assign(applications, panel, K)
        seconds = time.perf_counter() - started
        load = Counter({r.id: 0 for r in panel})
        load.update(r for _, r in pairs)
        started = time.perf_counter()
        baseline = greedy(applications, panel, K)
        greedy_seconds = time.perf_counter() - started
        row = {
            "seconds": round(seconds, 3),
            "spread": max(load.values()) - min(load.values()),
            "max": max(load.values()),
            "greedy_spread": max(baseline.values()) - min(baseline.values()),
            "greedy_max": max(baseline.values()),
        }
        figures[count] = row
        print(
            f"{count:>6} {reviewers:>9} {row['seconds']:>8.3f} {row['spread']:>7} {row['max']:>5}"
            f" {greedy_seconds:>9.3f} {row['greedy_spread']:>8} {row['greedy_max']:>6}"
        )
    print(
        json.dumps(
            {
                "bench": "review_assignment",
                "seconds_2000": figures[2000]["seconds"],
                "seconds_5000": figures[5000]["seconds"],
                "spread_5000": figures[5000]["spread"],
                "greedy_spread_5000": figures[5000]["greedy_spread"],
                "max_load_5000": figures[5000]["max"],
                "greedy_max_load_5000": figures[5000]["greedy_max"],
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2019)
    main(parser.parse_args().seed)
