"""Choose the start-ups that pitch: the best total review score that keeps the event's rules.

A pure module (no database, no I/O), so organisers' what-ifs, the service and the tests all call
the same function. The choice is an integer program solved exactly by HiGHS
(`scipy.optimize.milp`, relative gap 0):

- one binary x_i per candidate left after the organiser's exclusions; locked-in ones have x_i = 1;
- sum x_i = size; women-led sum >= min_women_led; per country min <= sum <= max; per sector
  and per incubator sum <= cap (an application in several sectors counts in each);
- for min_countries, a binary y_c per country with y_c <= (its x_i summed) and sum y_c >= min;
- maximise sum (q_i + t_i) x_i: q_i is the score in units of SCORE_UNIT (an integer), t_i a
  rank-based tie-break whose sum over any selection stays below one unit, so it only ever picks
  among selections of equal score, preferring better ranks (ties in score break by id);
- candidates no optimum can hold (see `_Problem.undominated`) are left out of the program.

`min_per_country` applies to every country that has at least one candidate left after exclusions
(an organiser asking for "1 to 5 per country" expects each country that nominated to be on
stage); `country_limits` overrides the minimum and maximum for named countries, and an override's
minimum applies even to a country with no candidates, since the organiser named it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

SCORE_UNIT = 1e-4
"""Scores count to this precision; smaller differences are ties, broken by rank."""

CandidateId = int | str

RULE_FAMILIES = (
    "min_women_led",
    "min_per_country",
    "min_countries",
    "max_per_country",
    "max_per_sector",
    "max_per_incubator",
    "must_include",
    "must_exclude",
)
"""The rules an infeasible set can be diagnosed by, in the order they are tried when relaxed."""


@dataclass(frozen=True)
class Candidate:
    """An application as the optimiser sees it: a sector cap counts it in each of its sectors."""

    id: CandidateId
    score: float
    country: str
    sectors: tuple[str, ...] = ()
    incubator: str | None = None
    women_led: bool = False


@dataclass(frozen=True)
class Rules:
    """The event's selection rules. A cap of None is no cap."""

    size: int
    min_women_led: int = 0
    min_per_country: int = 0
    max_per_country: int | None = None
    max_per_sector: int | None = None
    max_per_incubator: int | None = None
    min_countries: int = 0
    must_include: frozenset[CandidateId] = frozenset()
    must_exclude: frozenset[CandidateId] = frozenset()
    country_limits: Mapping[str, tuple[int, int | None]] = field(default_factory=dict)
    """Per-country (min, max) that replace min_per_country and max_per_country there."""


@dataclass(frozen=True)
class Selection:
    selected: tuple[CandidateId, ...]
    """In rank order (score descending, then id)."""
    waitlist: tuple[CandidateId, ...]
    """Those left out who could replace some selected start-up keeping every rule, by rank."""
    explanations: dict[CandidateId, str]
    """One line per candidate: "in: rank 3, score 4.6", "out: rank 29, score 4.1, ..."."""
    objective: float
    """The total review score of the selected."""
    optimal: bool
    """Proved optimal by the solver; False if a time limit stopped it first, and after a
    replacement (the best single swap, not a new optimum)."""
    candidates: tuple[Candidate, ...] = field(repr=False)
    rules: Rules = field(repr=False)


@dataclass(frozen=True)
class Replacement:
    declined: CandidateId
    replacement: CandidateId
    explanation: str
    selection: Selection
    """The selection after the swap, with the declined start-up excluded from then on."""


class Infeasible(Exception):
    """The rules cannot all be met; `rule` names the one to loosen (a RULE_FAMILIES name,
    "size", or "combination" when no single rule family can be dropped to make the rest hold)."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


def select(candidates: Iterable[Candidate], rules: Rules, *, time_limit: float = 60.0) -> Selection:
    """The selection of `rules.size` candidates with the best total score keeping every rule.

    Raises Infeasible naming the rule that cannot be met.
    """
    problem = _Problem(candidates, rules)
    failure = problem.counting_failure()
    if failure is not None:
        raise failure
    chosen, optimal = problem.solve(time_limit=time_limit)
    if chosen is None:
        raise problem.diagnose(time_limit)
    return problem.selection(chosen, optimal)


def replacement_for(selection: Selection, declined_id: CandidateId) -> Replacement:
    """The best-ranked candidate who can take the declined start-up's place, every rule kept.

    The others stay selected (they may already have been told); the declined one is excluded
    from then on. Raises Infeasible naming the rule that no single replacement can keep.
    """
    if declined_id not in selection.selected:
        raise ValueError(f"{declined_id!r} is not selected")
    rules = selection.rules
    problem = _Problem(
        selection.candidates,
        replace(
            rules,
            must_include=rules.must_include - {declined_id},
            must_exclude=rules.must_exclude | {declined_id},
        ),
    )
    chosen = [problem.by_id[i] for i in selection.selected]
    declined = problem.by_id[declined_id]
    tally = _Tally(problem, chosen)
    blocks: Counter[_Block] = Counter()
    for candidate in problem.eligible:
        if candidate.id in selection.selected:
            continue
        block = tally.block(declined, candidate)
        if block is None:
            kept = [c for c in chosen if c.id != declined_id] + [candidate]
            after = problem.selection(kept, optimal=False)
            line = (
                f"in for {declined_id}: rank {problem.rank[candidate.id]}, "
                f"score {_score(candidate.score)}"
            )
            return Replacement(declined_id, candidate.id, line, after)
        blocks[block] += 1
    if not blocks:
        raise Infeasible("size", f"no candidate is left to replace {declined_id}")
    block = blocks.most_common(1)[0][0]
    reason = block.text if block.incoming else f"{declined_id} was {block.text}"
    raise Infeasible(block.rule, f"no one left can replace {declined_id}: {reason}")


@dataclass(frozen=True)
class _Block:
    """Why one swap (a selected start-up out, another in) would break a rule."""

    rule: str
    text: str
    incoming: bool
    """True when the incoming candidate breaks a cap, False when the outgoing one is needed."""


class _Problem:
    """The candidates in rank order under one set of rules: what the solver, the diagnosis and
    the explanations share."""

    def __init__(self, candidates: Iterable[Candidate], rules: Rules) -> None:
        if rules.size < 1:
            raise ValueError("a selection needs at least one place")
        self.rules = rules
        self.candidates = tuple(candidates)
        self.by_id = {c.id: c for c in self.candidates}
        if len(self.by_id) != len(self.candidates):
            raise ValueError("candidate ids must be unique")
        unknown = (rules.must_include | rules.must_exclude) - self.by_id.keys()
        if unknown:
            raise ValueError(f"locks name unknown candidates: {sorted(map(str, unknown))}")
        ordered = sorted(self.candidates, key=lambda c: (-c.score, c.id))
        self.rank = {c.id: position for position, c in enumerate(ordered, 1)}
        self.eligible = [c for c in ordered if c.id not in rules.must_exclude]
        self.countries = sorted({c.country for c in self.eligible} | set(rules.country_limits))
        self.present = {c.country for c in self.eligible}

    def country_bounds(self, country: str) -> tuple[int, int]:
        rules = self.rules
        low = rules.min_per_country if country in self.present else 0
        high = rules.max_per_country
        if country in rules.country_limits:
            low, high = rules.country_limits[country]
        return low, rules.size if high is None else high

    def counting_failure(self) -> Infeasible | None:
        """Cheap necessary conditions, each naming its rule, before any solving."""
        rules, eligible, size = self.rules, self.eligible, self.rules.size
        both = rules.must_include & rules.must_exclude
        if both:
            names = ", ".join(sorted(map(str, both)))
            return Infeasible("must_include", f"{names} both locked in and excluded")
        if len(eligible) < size:
            return Infeasible(
                "size", f"{size} places, only {len(eligible)} candidates remain after exclusions"
            )
        if len(rules.must_include) > size:
            return Infeasible(
                "must_include", f"{len(rules.must_include)} locked in, only {size} places"
            )
        women = sum(c.women_led for c in eligible)
        if rules.min_women_led > size:
            return Infeasible("min_women_led", f"{rules.min_women_led} needed, only {size} places")
        if rules.min_women_led > women:
            return Infeasible(
                "min_women_led",
                f"{rules.min_women_led} needed, only {women} women-led candidates remain after "
                "exclusions",
            )
        available = Counter(c.country for c in eligible)
        for country in self.countries:
            low = self.country_bounds(country)[0]
            if low > available[country]:
                return Infeasible(
                    "min_per_country",
                    f"{country} needs {low}, only {available[country]} candidates remain after "
                    "exclusions",
                )
        minimums = sum(self.country_bounds(c)[0] for c in self.countries)
        if minimums > size:
            return Infeasible(
                "min_per_country", f"the country minimums add up to {minimums}, only {size} places"
            )
        if rules.min_countries > size:
            return Infeasible("min_countries", f"{rules.min_countries} needed, only {size} places")
        if rules.min_countries > len(self.present):
            return Infeasible(
                "min_countries",
                f"{rules.min_countries} needed, only {len(self.present)} countries have candidates "
                "after exclusions",
            )
        locked = [self.by_id[i] for i in rules.must_include]
        caps = (
            ("max_per_country", [c.country for c in locked], None),
            ("max_per_sector", [s for c in locked for s in set(c.sectors)], rules.max_per_sector),
            (
                "max_per_incubator",
                [c.incubator for c in locked if c.incubator],
                rules.max_per_incubator,
            ),
        )
        for rule, values, cap in caps:
            for value, count in Counter(values).items():
                limit = self.country_bounds(value)[1] if rule == "max_per_country" else cap
                if limit is not None and count > limit:
                    return Infeasible(rule, f"{count} locked in for {value}, its cap is {limit}")
        room = sum(min(available[c], self.country_bounds(c)[1]) for c in self.countries)
        if room < size:
            return Infeasible("max_per_country", f"the country caps leave {room} of {size} places")
        if rules.max_per_incubator is not None:
            per_incubator = Counter(c.incubator for c in eligible if c.incubator)
            room = sum(c.incubator is None for c in eligible) + sum(
                min(n, rules.max_per_incubator) for n in per_incubator.values()
            )
            if room < size:
                return Infeasible(
                    "max_per_incubator", f"the incubator caps leave {room} of {size} places"
                )
        return None

    def solve(
        self, *, objective: bool = True, time_limit: float = 60.0
    ) -> tuple[list[Candidate] | None, bool]:
        """The chosen candidates (None if infeasible) and whether optimality was proved."""
        rules, eligible = self.rules, self.undominated()
        n = len(eligible)
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        lower: list[float] = []
        upper: list[float] = []

        def constrain(terms: Iterable[tuple[int, float]], low: float, high: float) -> None:
            for column, value in terms:
                rows.append(len(lower))
                cols.append(column)
                values.append(value)
            lower.append(low)
            upper.append(high)

        def ones(members: Iterable[int]) -> Iterable[tuple[int, float]]:
            return ((member, 1.0) for member in members)

        constrain(ones(range(n)), rules.size, rules.size)
        if rules.min_women_led:
            women = (i for i, c in enumerate(eligible) if c.women_led)
            constrain(ones(women), rules.min_women_led, np.inf)
        by_country: dict[str, list[int]] = {country: [] for country in self.countries}
        by_sector: dict[str, list[int]] = {}
        by_incubator: dict[str, list[int]] = {}
        for i, c in enumerate(eligible):
            by_country[c.country].append(i)
            for sector in set(c.sectors):
                by_sector.setdefault(sector, []).append(i)
            if c.incubator is not None:
                by_incubator.setdefault(c.incubator, []).append(i)
        for country, members in by_country.items():
            low, high = self.country_bounds(country)
            if low > 0 or high < len(members):
                constrain(ones(members), low, high)
        for cap, groups in (
            (rules.max_per_sector, by_sector),
            (rules.max_per_incubator, by_incubator),
        ):
            if cap is not None:
                for members in groups.values():
                    if cap < len(members):
                        constrain(ones(members), -np.inf, cap)
        columns = n
        if rules.min_countries:
            # y_c - (the country's x summed) <= 0: a country counts only if someone from it is in.
            present = [members for members in by_country.values() if members]
            for offset, members in enumerate(present):
                links = [(n + offset, 1.0), *((member, -1.0) for member in members)]
                constrain(links, -np.inf, 0)
            constrain(ones(range(n, n + len(present))), rules.min_countries, np.inf)
            columns = n + len(present)
        matrix = coo_array((values, (rows, cols)), shape=(len(lower), columns)).tocsr()
        floor = np.zeros(columns)
        floor[[i for i, c in enumerate(eligible) if c.id in rules.must_include]] = 1
        cost = np.zeros(columns)
        if objective:
            scores = np.array([round(c.score / SCORE_UNIT) for c in eligible], dtype=float)
            # `eligible` is in rank order; this tie-break sums below one unit over `size` picks.
            tie_break = (n - np.arange(n)) / (n * (rules.size + 1))
            cost[:n] = -(scores + tie_break)
        result = milp(
            cost,
            integrality=np.ones(columns),
            bounds=Bounds(floor, np.ones(columns)),
            constraints=LinearConstraint(matrix, lower, upper),
            options={"mip_rel_gap": 0, "time_limit": time_limit},
        )
        if result.x is None:
            if result.status == 2:
                return None, False
            raise RuntimeError(f"selection solver stopped without a solution: {result.message}")
        chosen = [c for i, c in enumerate(eligible) if result.x[i] > 0.5]
        return chosen, result.status == 0

    def undominated(self) -> list[Candidate]:
        """The eligible candidates, less those an optimum can never hold: a swap argument.

        j dominates i if it ranks better, has i's country and incubator, a subset of i's sectors
        and is women-led if i is. If i has at least as many dominators as can be chosen beside it
        (its country cap, its incubator's cap, the size), one of them is out whenever i is in,
        and swapping them keeps every rule and raises the objective. Of the benchmark's 10,000
        applications it leaves about a third to the solver, halving its time.
        """
        rules, kept = self.rules, []
        seen: dict[tuple[str, str | None], Counter[tuple[frozenset[str], bool]]] = {}
        for candidate in self.eligible:
            group = seen.setdefault((candidate.country, candidate.incubator), Counter())
            sectors = frozenset(candidate.sectors)
            limit = min(rules.size, self.country_bounds(candidate.country)[1])
            if candidate.incubator is not None and rules.max_per_incubator is not None:
                limit = min(limit, rules.max_per_incubator)
            women = (True,) if candidate.women_led else (True, False)
            dominators = (
                sum(
                    group[(frozenset(subset), w)]
                    for size in range(len(sectors) + 1)
                    for subset in combinations(sorted(sectors), size)
                    for w in women
                )
                if len(sectors) <= 6
                else 0
            )
            if dominators < limit or candidate.id in rules.must_include:
                kept.append(candidate)
            group[(sectors, candidate.women_led)] += 1
        return kept

    def diagnose(self, time_limit: float) -> Infeasible:
        """Relax one rule family at a time; name the first whose removal lets the rest hold."""
        loosened = [
            family
            for family in RULE_FAMILIES
            if (relaxed := _without(self.rules, family)) != self.rules
            and _Problem(self.candidates, relaxed).feasible(time_limit)
        ]
        if not loosened:
            return Infeasible(
                "combination", "no single rule can be dropped to let the others hold together"
            )
        return Infeasible(
            loosened[0],
            "the rules cannot all hold together; without "
            + " or without ".join(loosened)
            + " the others can",
        )

    def feasible(self, time_limit: float) -> bool:
        if self.counting_failure() is not None:
            return False
        return self.solve(objective=False, time_limit=time_limit)[0] is not None

    def selection(self, chosen: list[Candidate], optimal: bool) -> Selection:
        chosen = sorted(chosen, key=lambda c: self.rank[c.id])
        tally = _Tally(self, chosen)
        picked = {c.id for c in chosen}
        explanations: dict[CandidateId, str] = {}
        waitlist: list[CandidateId] = []
        for candidate in self.eligible:
            if candidate.id in picked:
                continue
            rank = self.rank[candidate.id]
            # Why it is not in: what stops it replacing the picks ranked below it (met first,
            # walking up from the last pick); else, if no pick at all can make way, why not.
            below: Counter[_Block] = Counter()
            above: Counter[_Block] = Counter()
            level = fits = False
            for incumbent in reversed(chosen):
                lower = self.rank[incumbent.id] > rank
                if fits and not lower:
                    break
                block = tally.block(incumbent, candidate)
                if block is None:
                    fits = True
                    level = level or lower
                else:
                    (below if lower else above)[block] += 1
            reasons = []
            if level:
                reasons.append("level on score with a pick")
            elif below or not fits:
                block = (below or above).most_common(1)[0][0]
                reasons.append(
                    block.text if block.incoming else f"the picks it could replace are {block.text}"
                )
            if fits:
                waitlist.append(candidate.id)
                reasons.append(f"waitlist {len(waitlist)}")
            head = f"out: rank {rank}, score {_score(candidate.score)}"
            explanations[candidate.id] = "; ".join([f"{head}, {reasons[0]}", *reasons[1:]])
        for candidate in self.candidates:
            if candidate.id in self.rules.must_exclude:
                rank = self.rank[candidate.id]
                explanations[candidate.id] = f"out: rank {rank}, excluded by the organiser"
        for incumbent in chosen:
            head = f"in: rank {self.rank[incumbent.id]}, score {_score(incumbent.score)}"
            if incumbent.id in self.rules.must_include:
                explanations[incumbent.id] = f"{head}, locked in by the organiser"
                continue
            # A pick that a better-ranked candidate cannot replace is held by a rule: name it.
            held = None
            for candidate in self.eligible:
                if self.rank[candidate.id] > self.rank[incumbent.id]:
                    break
                if candidate.id not in picked:
                    block = tally.block(incumbent, candidate)
                    if block is not None and not block.incoming:
                        held = block
                        break
            explanations[incumbent.id] = f"{head}, {held.text}" if held else head
        explanations = {c.id: explanations[c.id] for c in sorted(self.candidates, key=self._rank)}
        return Selection(
            selected=tuple(c.id for c in chosen),
            waitlist=tuple(waitlist),
            explanations=explanations,
            objective=sum(c.score for c in chosen),
            optimal=optimal,
            candidates=self.candidates,
            rules=self.rules,
        )

    def _rank(self, candidate: Candidate) -> int:
        return self.rank[candidate.id]


class _Tally:
    """Counts of a selection, to judge single swaps without solving again."""

    def __init__(self, problem: _Problem, chosen: list[Candidate]) -> None:
        self.problem = problem
        self.women = sum(c.women_led for c in chosen)
        self.country = Counter(c.country for c in chosen)
        self.sector = Counter(s for c in chosen for s in set(c.sectors))
        self.incubator = Counter(c.incubator for c in chosen if c.incubator is not None)

    def block(self, outgoing: Candidate, incoming: Candidate) -> _Block | None:
        """The rule a swap would break (the incoming one's caps first), or None if it keeps all."""
        problem, rules = self.problem, self.problem.rules
        country = incoming.country
        if (
            country != outgoing.country
            and self.country[country] >= problem.country_bounds(country)[1]
        ):
            return _Block("max_per_country", f"country cap for {country} reached", True)
        cap = rules.max_per_sector
        if cap is not None:
            for sector in incoming.sectors:
                if sector not in outgoing.sectors and self.sector[sector] >= cap:
                    return _Block("max_per_sector", f"sector cap for {sector} reached", True)
        cap, incubator = rules.max_per_incubator, incoming.incubator
        if (
            cap is not None
            and incubator is not None
            and incubator != outgoing.incubator
            and self.incubator[incubator] >= cap
        ):
            return _Block("max_per_incubator", f"incubator cap for {incubator} reached", True)
        if outgoing.id in rules.must_include:
            return _Block("must_include", "locked in by the organiser", False)
        if outgoing.women_led and not incoming.women_led and self.women <= rules.min_women_led:
            return _Block(
                "min_women_led", f"needed for the women-led minimum of {rules.min_women_led}", False
            )
        leaving = outgoing.country
        if leaving != country:
            low = problem.country_bounds(leaving)[0]
            if self.country[leaving] <= low:
                return _Block(
                    "min_per_country", f"needed for the minimum of {low} from {leaving}", False
                )
            if (
                self.country[leaving] == 1
                and self.country[country] > 0
                and len(self.country) <= rules.min_countries
            ):
                return _Block(
                    "min_countries",
                    f"needed for the minimum of {rules.min_countries} countries",
                    False,
                )
        return None


def _without(rules: Rules, family: str) -> Rules:
    """The rules with one family dropped, to find which one makes a set infeasible."""
    if family in ("min_per_country", "max_per_country"):
        limits = {
            country: (0, high) if family == "min_per_country" else (low, None)
            for country, (low, high) in rules.country_limits.items()
        }
        dropped = 0 if family == "min_per_country" else None
        return replace(rules, country_limits=limits, **{family: dropped})
    empty = {
        "min_women_led": 0,
        "min_countries": 0,
        "max_per_sector": None,
        "max_per_incubator": None,
        "must_include": frozenset(),
        "must_exclude": frozenset(),
    }
    return replace(rules, **{family: empty[family]})


def _score(score: float) -> str:
    return f"{score:.2f}".rstrip("0").rstrip(".")
