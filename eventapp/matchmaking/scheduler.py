"""The meeting scheduler: places investor/start-up 1:1 meetings in slots and at tables.

Pure (no database). The value of a meeting comes from both sides' marks and a fit score; the
scheduler maximises the total value of the schedule plus a bonus for every meeting that brings a
start-up towards its minimum, so minimums come first, then mutual must-meets, then the rest by fit.

Why a decomposition rather than one exact model: the exact time-indexed model (one variable per
pair and slot) solves a 32-start-up event in seconds but grows past memory and time at 500
start-ups. So the scheduler works in three steps:

1. choose pairs: an integer program on pair variables only (scipy.optimize.milp, HiGHS) with the
   caps, the firm rule, the minimums and the slot capacity aggregated over the event. It is a
   relaxation of the whole problem, so its dual bound is a proven upper bound (`Schedule.bound`);
2. place the chosen pairs slot by slot with a maximum-weight matching per slot (at most one
   meeting per table), weighting pairs that have few feasible slots left higher, then repair
   pairs that did not fit by moving blocking meetings to other slots, up to two levels deep;
3. fill what is left greedily, start-ups short of their minimum first; one still short takes
   the slot and table of a meeting whose start-up is above its minimum.

Re-running keeps the given meetings as they are (they count towards caps, the firm rule and the
tables) and fills around them, unless `redo=True`. Deterministic: same problem, same schedule.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp
from scipy.sparse import coo_array

MUTUAL_MUST_BONUS = 100.0
"""Added to a pair both sides marked must-meet: one such meeting outweighs any few others."""

MINIMUM_BONUS = 200.0
"""Added per meeting that brings a start-up towards its minimum: minimums come before all else."""


class Preference(enum.IntEnum):
    """One side's mark on the other. An unmarked pair is neither a wish nor a refusal."""

    NO_THANKS = 0
    HAPPY = 1
    MUST = 2


@dataclass(frozen=True)
class Investor:
    id: str
    firm: str


@dataclass(frozen=True)
class Slot:
    """A meeting slot; `Problem.slots` lists them in time order."""

    id: str
    day: int


@dataclass(frozen=True)
class Meeting:
    investor: str
    startup: str
    slot: str
    table: int


@dataclass
class Problem:
    """Everything the scheduler needs. Marks and fit are keyed by (investor id, start-up id).

    `availability` maps a person's id to the slot ids they can meet in (absent: every slot).
    With `fixed_tables` (start-up id -> table) each start-up keeps its own table and investors
    move; otherwise tables are numbered 0 .. tables-1 and any free one is used.
    """

    investors: Sequence[Investor]
    startups: Sequence[str]
    slots: Sequence[Slot]
    tables: int
    investor_marks: Mapping[tuple[str, str], Preference]
    startup_marks: Mapping[tuple[str, str], Preference]
    fit: Mapping[tuple[str, str], float] = field(default_factory=dict)
    availability: Mapping[str, Set[str]] = field(default_factory=dict)
    max_investor: int = 8
    max_startup: int = 12
    min_startup: int = 0
    fixed_tables: Mapping[str, int] | None = None
    existing: Sequence[Meeting] = ()


@dataclass
class Schedule:
    meetings: list[Meeting]
    """Every meeting, the kept existing ones included."""
    shortfall: dict[str, int]
    """Start-ups below their minimum, and by how many meetings."""
    value: float
    """The objective reached: see `objective`."""
    bound: float
    """A proven upper bound on the objective of any schedule (the pair model's dual bound)."""


def pair_value(
    investor_mark: Preference | None, startup_mark: Preference | None, fit: float = 0.0
) -> float | None:
    """The value of a meeting, or None when it must not be scheduled.

    None for a "no thanks" of either side and for pairs neither side asked for. Otherwise
    1 + both marks (happy 1, must 2) + fit (0..1), plus MUTUAL_MUST_BONUS for a mutual must-meet.
    """
    marks = (investor_mark, startup_mark)
    if Preference.NO_THANKS in marks or marks == (None, None):
        return None
    value = 1.0 + sum(int(m) for m in marks if m is not None) + fit
    if investor_mark == startup_mark == Preference.MUST:
        value += MUTUAL_MUST_BONUS
    return value


def value_of(problem: Problem, investor: str, startup: str) -> float | None:
    key = (investor, startup)
    return pair_value(
        problem.investor_marks.get(key), problem.startup_marks.get(key), problem.fit.get(key, 0.0)
    )


def objective(problem: Problem, meetings: Sequence[Meeting]) -> float:
    """Sum of meeting values, plus MINIMUM_BONUS per meeting up to each start-up's minimum."""
    total = sum(value_of(problem, m.investor, m.startup) or 0.0 for m in meetings)
    degree: dict[str, int] = defaultdict(int)
    for m in meetings:
        degree[m.startup] += 1
    return total + MINIMUM_BONUS * sum(
        min(degree[s], problem.min_startup) for s in problem.startups
    )


def violations(problem: Problem, meetings: Sequence[Meeting]) -> list[str]:
    """Every broken rule in a schedule, in words; empty when the schedule is valid."""
    found: list[str] = []
    firm = {inv.id: inv.firm for inv in problem.investors}
    slot_ids = {slot.id for slot in problem.slots}
    seen: dict[tuple, Meeting] = {}
    degree: dict[str, int] = defaultdict(int)
    for m in meetings:
        degree[m.investor] += 1
        degree[m.startup] += 1
        if m.slot not in slot_ids:
            found.append(f"{m}: unknown slot")
        for person in (m.investor, m.startup):
            if m.slot not in problem.availability.get(person, slot_ids):
                found.append(f"{m}: {person} is not available")
        if value_of(problem, m.investor, m.startup) is None:
            found.append(f"{m}: refused or unasked")
        if problem.fixed_tables is not None:
            if problem.fixed_tables.get(m.startup) != m.table:
                found.append(f"{m}: not at the start-up's table")
        elif not 0 <= m.table < problem.tables:
            found.append(f"{m}: no such table")
        for key in (
            ("person", m.investor, m.slot),
            ("person", m.startup, m.slot),
            ("table", m.table, m.slot),
            ("pair", m.investor, m.startup),
            ("firm", firm.get(m.investor), m.startup),
        ):
            if key in seen:
                found.append(f"{m}: clashes with {seen[key]} ({key[0]})")
            seen[key] = m
    for inv in problem.investors:
        if degree[inv.id] > problem.max_investor:
            found.append(f"{inv.id}: {degree[inv.id]} meetings, above the cap")
    for s in problem.startups:
        if degree[s] > problem.max_startup:
            found.append(f"{s}: {degree[s]} meetings, above the cap")
    return found


class _Grid:
    """Who is busy when, on integer indexes, while a schedule is built."""

    def __init__(self, problem: Problem, kept: Sequence[Meeting]) -> None:
        self.problem = problem
        self.inv_index = {inv.id: n for n, inv in enumerate(problem.investors)}
        self.su_index = {s: n for n, s in enumerate(problem.startups)}
        self.firm_of = [inv.firm for inv in problem.investors]
        n_i, n_s, n_t = len(problem.investors), len(problem.startups), len(problem.slots)
        slot_index = {slot.id: n for n, slot in enumerate(problem.slots)}

        def available(ids: Sequence[str]) -> np.ndarray:
            grid = np.ones((len(ids), n_t), dtype=bool)
            for n, person in enumerate(ids):
                if person in problem.availability:
                    grid[n] = False
                    grid[n, [slot_index[t] for t in problem.availability[person]]] = True
            return grid

        self.avail_i = available([inv.id for inv in problem.investors])
        self.avail_s = available(list(problem.startups))
        self.busy_i = np.full((n_i, n_t), -1)
        self.busy_s = np.full((n_s, n_t), -1)
        self.per_slot = [0] * n_t
        # With fixed tables each start-up has its own, so a slot holds one meeting per start-up.
        self.capacity = n_s if problem.fixed_tables is not None else problem.tables
        self.deg_i = [0] * n_i
        self.deg_s = [0] * n_s
        self.met: set[tuple[int, int]] = set()
        self.firm_met: set[tuple[str, int]] = set()
        self.placed: list[tuple[int, int, int]] = []  # (i, s, t) per meeting, kept ones first
        self.in_slot: list[set[int]] = [set() for _ in range(n_t)]
        self.movable_from = 0
        for m in kept:
            self.add(self.inv_index[m.investor], self.su_index[m.startup], slot_index[m.slot])
        self.movable_from = len(self.placed)

    def candidates(self) -> list[tuple[int, int, float, np.ndarray]]:
        """Pairs that may still meet, with their value and the slots where both are free."""
        found = []
        marked = {*self.problem.investor_marks, *self.problem.startup_marks}
        for investor, startup in sorted(marked):
            i, s = self.inv_index.get(investor), self.su_index.get(startup)
            value = value_of(self.problem, investor, startup)
            if i is None or s is None or value is None or not self.pair_allowed(i, s):
                continue
            slots = self.avail_i[i] & self.avail_s[s] & (self.busy_i[i] < 0) & (self.busy_s[s] < 0)
            found.append((i, s, value, slots))
        return found

    def pair_allowed(self, i: int, s: int) -> bool:
        return (
            (i, s) not in self.met
            and (self.firm_of[i], s) not in self.firm_met
            and self.deg_i[i] < self.problem.max_investor
            and self.deg_s[s] < self.problem.max_startup
        )

    def free(self, i: int, s: int, t: int) -> bool:
        return (
            self.avail_i[i, t]
            and self.avail_s[s, t]
            and self.busy_i[i, t] < 0
            and self.busy_s[s, t] < 0
            and self.per_slot[t] < self.capacity
        )

    def add(self, i: int, s: int, t: int) -> None:
        self.busy_i[i, t] = self.busy_s[s, t] = len(self.placed)
        self.in_slot[t].add(len(self.placed))
        self.placed.append((i, s, t))
        self.per_slot[t] += 1
        self.deg_i[i] += 1
        self.deg_s[s] += 1
        self.met.add((i, s))
        self.firm_met.add((self.firm_of[i], s))

    def move(self, n: int, t_new: int) -> None:
        i, s, t = self.placed[n]
        self.busy_i[i, t] = self.busy_s[s, t] = -1
        self.per_slot[t] -= 1
        self.in_slot[t].remove(n)
        self.busy_i[i, t_new] = self.busy_s[s, t_new] = n
        self.per_slot[t_new] += 1
        self.in_slot[t_new].add(n)
        self.placed[n] = (i, s, t_new)

    def value_of(self, n: int) -> float:
        i, s, _ = self.placed[n]
        investor = self.problem.investors[i].id
        return value_of(self.problem, investor, self.problem.startups[s]) or 0.0

    def replace(self, n: int, i_new: int, s_new: int) -> None:
        """Give meeting n's slot and table to another pair."""
        i, s, t = self.placed[n]
        self.busy_i[i, t] = self.busy_s[s, t] = -1
        self.deg_i[i] -= 1
        self.deg_s[s] -= 1
        self.met.remove((i, s))
        self.firm_met.remove((self.firm_of[i], s))
        self.busy_i[i_new, t] = self.busy_s[s_new, t] = n
        self.deg_i[i_new] += 1
        self.deg_s[s_new] += 1
        self.met.add((i_new, s_new))
        self.firm_met.add((self.firm_of[i_new], s_new))
        self.placed[n] = (i_new, s_new, t)

    def place(self, i: int, s: int, depth: int, thorough: bool) -> bool:
        """Place the pair in a free slot, moving meetings away up to `depth` levels deep.

        `thorough` also empties a table in a full slot, which costs a pass over that slot's
        meetings: worth it for the few pairs that matter most (chosen ones, minimums).
        """
        common = [int(t) for t in np.flatnonzero(self.avail_i[i] & self.avail_s[s])]
        for t in common:
            if self.free(i, s, t):
                self.add(i, s, t)
                return True
        for t in common:
            if depth and self._clear(t, i, s, depth, thorough, frozenset()):
                self.add(i, s, t)
                return True
        return False

    def _clear(
        self, t: int, i: int, s: int, depth: int, thorough: bool, avoid: frozenset[int]
    ) -> bool:
        """Free investor i, start-up s and a table in slot t by moving meetings elsewhere."""
        blockers = {int(self.busy_i[i, t]), int(self.busy_s[s, t])} - {-1}
        if any(n < self.movable_from or n in avoid for n in blockers):
            return False
        if not blockers and self.per_slot[t] >= self.capacity:
            if not thorough:
                return False
            movable = sorted(n for n in self.in_slot[t] if n >= self.movable_from)
            return any(self._relocate(n, 0, False, avoid) for n in movable)
        for n in sorted(blockers):
            if not self._relocate(n, depth - 1, thorough, avoid):
                return False
        return self.free(i, s, t)

    def _relocate(self, n: int, depth: int, thorough: bool, avoid: frozenset[int]) -> bool:
        """Move meeting n to another slot, clearing that slot `depth` levels deep if need be."""
        i, s, t = self.placed[n]
        common = [int(u) for u in np.flatnonzero(self.avail_i[i] & self.avail_s[s]) if u != t]
        for u in common:
            if self.free(i, s, u):
                self.move(n, u)
                return True
        for u in common:
            if depth and self._clear(u, i, s, depth, thorough, avoid | {n}):
                self.move(n, u)
                return True
        return False


def _choose_pairs(
    grid: _Grid, pairs: list[tuple[int, int, float]], time_limit: float
) -> tuple[list[int], float]:
    """Pick pairs by integer program on pair variables; returns them and an upper bound."""
    problem = grid.problem
    n_p, n_s = len(pairs), len(problem.startups)
    free_i = grid.avail_i & (grid.busy_i < 0)
    free_s = grid.avail_s & (grid.busy_s < 0)
    rows: list[int] = []
    cols: list[int] = []
    upper: list[float] = []

    def row(variables: Sequence[int], limit: float) -> None:
        r = len(upper)
        rows.extend([r] * len(variables))
        cols.extend(variables)
        upper.append(limit)

    by_i: dict[int, list[int]] = defaultdict(list)
    by_s: dict[int, list[int]] = defaultdict(list)
    by_firm: dict[tuple[str, int], list[int]] = defaultdict(list)
    for p, (i, s, _) in enumerate(pairs):
        by_i[i].append(p)
        by_s[s].append(p)
        by_firm[(grid.firm_of[i], s)].append(p)
    for i, ps in by_i.items():
        row(ps, min(problem.max_investor - grid.deg_i[i], int(free_i[i].sum())))
    for s, ps in by_s.items():
        row(ps, min(problem.max_startup - grid.deg_s[s], int(free_s[s].sum())))
    for ps in by_firm.values():
        if len(ps) > 1:
            row(ps, 1)
    room = [
        min(grid.capacity - grid.per_slot[t], int(free_i[:, t].sum()), int(free_s[:, t].sum()))
        for t in range(len(problem.slots))
    ]
    row(list(range(n_p)), sum(room))
    data = [1.0] * len(rows)
    # z_s <= sum of the start-up's new meetings: z_s counts meetings towards its minimum.
    for s, ps in by_s.items():
        r = len(upper)
        rows.extend([r] * (len(ps) + 1))
        cols.extend([*ps, n_p + s])
        data.extend([-1.0] * len(ps) + [1.0])
        upper.append(0)
    matrix = coo_array((data, (rows, cols)), shape=(len(upper), n_p + n_s)).tocsr()
    want = [max(0, problem.min_startup - grid.deg_s[s]) for s in range(n_s)]
    cost = -np.array([v for _, _, v in pairs] + [MINIMUM_BONUS] * n_s)
    result = milp(
        cost,
        constraints=LinearConstraint(matrix, -np.inf, np.array(upper, dtype=float)),
        bounds=Bounds(np.zeros(n_p + n_s), np.array([1.0] * n_p + want)),
        integrality=np.array([1] * n_p + [0] * n_s),
        options={"time_limit": time_limit, "disp": False},
    )
    bound = _upper_bound(result)
    if result.x is None:
        return [], bound
    return [p for p in range(n_p) if result.x[p] > 0.5], bound


def _upper_bound(result) -> float:
    """The proven bound of a maximisation solved as milp of the negated costs."""
    if result.mip_dual_bound is not None:
        return -result.mip_dual_bound
    if result.status == 0:  # no integer variable left: HiGHS solved an LP to optimality
        return -result.fun
    return float("inf")


def _place_by_slot(grid: _Grid, pairs: list[tuple[int, int, float]], chosen: list[int]) -> None:
    """Place chosen pairs slot by slot: a maximum-weight matching per slot, urgent pairs first."""
    n_t = len(grid.problem.slots)
    left = set(chosen)
    for t in range(n_t):
        weights: dict[tuple[int, int], float] = {}
        for p in left:
            i, s, value = pairs[p]
            if grid.free(i, s, t):
                feasible_later = int(
                    (
                        grid.avail_i[i, t:]
                        & grid.avail_s[s, t:]
                        & (grid.busy_i[i, t:] < 0)
                        & (grid.busy_s[s, t:] < 0)
                    ).sum()
                )
                weights[(i, s)] = value * (1.0 + 1.0 / feasible_later)
        if not weights:
            continue
        rows = sorted({i for i, _ in weights})
        cols = sorted({s for _, s in weights})
        matrix = np.zeros((len(rows), len(cols)))
        r_of = {i: n for n, i in enumerate(rows)}
        c_of = {s: n for n, s in enumerate(cols)}
        for (i, s), w in weights.items():
            matrix[r_of[i], c_of[s]] = w
        room = grid.capacity - grid.per_slot[t]
        if room < min(len(rows), len(cols)):
            # Dummy columns absorb all but `room` rows, so at most `room` meetings are matched.
            dummies = np.full((len(rows), len(rows) - room), matrix.max() + 1.0)
            matrix = np.hstack([matrix, dummies])
        if matrix.shape[0] > matrix.shape[1]:
            matrix = np.hstack([matrix, np.zeros((len(rows), len(rows) - matrix.shape[1]))])
        for r, c in zip(*linear_sum_assignment(matrix, maximize=True), strict=True):
            if c < len(cols) and (rows[r], cols[c]) in weights:
                grid.add(rows[r], cols[c], t)
        left = {p for p in left if (pairs[p][0], pairs[p][1]) not in grid.met}
    for p in sorted(left, key=lambda p: -pairs[p][2]):
        i, s, _ = pairs[p]
        if grid.pair_allowed(i, s):
            grid.place(i, s, depth=2, thorough=True)


def _fill(grid: _Grid, pairs: list[tuple[int, int, float]]) -> None:
    """Greedy fill of what is left: start-ups short of their minimum first, then by value.

    A start-up still short then takes over the slot and table of a meeting whose start-up keeps
    its minimum without it: the bonus outweighs any meeting's value.
    """
    problem = grid.problem
    minimum = problem.min_startup
    order = sorted(range(len(pairs)), key=lambda p: -pairs[p][2])
    for p in order:
        i, s, _ = pairs[p]
        if grid.deg_s[s] < minimum and grid.pair_allowed(i, s):
            grid.place(i, s, depth=2, thorough=True)
    for p in order:
        i, s, _ = pairs[p]
        if grid.deg_s[s] < minimum and grid.pair_allowed(i, s):
            _take_over(grid, i, s)
    for p in order:
        i, s, _ = pairs[p]
        if grid.pair_allowed(i, s):
            grid.place(i, s, depth=1, thorough=False)


def _take_over(grid: _Grid, i: int, s: int) -> None:
    """Place (i, s) in place of a meeting of a start-up above its minimum, the investor's own
    meeting in that slot if any, else the least valuable meeting in a full slot."""
    minimum = grid.problem.min_startup
    for t in np.flatnonzero(grid.avail_i[i] & grid.avail_s[s] & (grid.busy_s[s] < 0)):
        n = int(grid.busy_i[i, t])
        if n < 0 and grid.per_slot[t] >= grid.capacity:
            spare = [
                m
                for m in grid.in_slot[t]
                if m >= grid.movable_from and grid.deg_s[grid.placed[m][1]] > minimum
            ]
            n = min(spare, key=lambda m: (grid.value_of(m), m), default=-1)
        if n >= grid.movable_from and grid.deg_s[grid.placed[n][1]] > minimum:
            grid.replace(n, i, s)
            return


def schedule(problem: Problem, *, redo: bool = False, time_limit: float = 20.0) -> Schedule:
    """Schedule meetings. Existing meetings are kept and filled around unless `redo`.

    `time_limit` bounds the pair-choosing integer program, in seconds; the schedule is always
    valid, and `bound` stays a proven upper bound even when the limit cuts the search short.
    """
    if problem.fixed_tables is not None:
        tables = [problem.fixed_tables[s] for s in problem.startups]
        if len(set(tables)) != len(tables):
            raise ValueError("with fixed tables every start-up needs a table of its own")
    kept = [] if redo else list(problem.existing)
    grid = _Grid(problem, kept)
    pairs = [(i, s, value) for i, s, value, slots in grid.candidates() if slots.any()]
    chosen, bound = _choose_pairs(grid, pairs, time_limit)
    _place_by_slot(grid, pairs, chosen)
    _fill(grid, pairs)

    return _result(problem, kept, grid.placed[grid.movable_from :], bound)


def _result(
    problem: Problem, kept: list[Meeting], new: Sequence[tuple[int, int, int]], bound: float
) -> Schedule:
    """The schedule: kept meetings plus the new (investor, start-up, slot) indexes at tables."""
    meetings = list(kept)
    used: dict[str, set[int]] = defaultdict(set)
    for m in kept:
        used[m.slot].add(m.table)
    for i, s, t in new:
        startup, slot = problem.startups[s], problem.slots[t].id
        if problem.fixed_tables is not None:
            table = problem.fixed_tables[startup]
        else:
            table = next(n for n in range(problem.tables) if n not in used[slot])
            used[slot].add(table)
        meetings.append(Meeting(problem.investors[i].id, startup, slot, table))
    degree: dict[str, int] = defaultdict(int)
    for m in meetings:
        degree[m.startup] += 1
    return Schedule(
        meetings=meetings,
        shortfall={
            s: problem.min_startup - degree[s]
            for s in problem.startups
            if degree[s] < problem.min_startup
        },
        value=objective(problem, meetings),
        bound=bound + objective(problem, kept),
    )


def solve_exact(problem: Problem, *, time_limit: float = 60.0) -> Schedule:
    """The exact time-indexed model (a variable per pair and slot): the yardstick for small events.

    Grows with pairs x slots, so only for events of a few dozen start-ups; `schedule` is the
    scheduler for any size. Existing meetings are kept. `bound` is HiGHS's dual bound.
    """
    grid = _Grid(problem, list(problem.existing))
    variables = [
        (i, s, int(t), value)
        for i, s, value, slots in grid.candidates()
        for t in np.flatnonzero(slots)
    ]
    n_v, n_s = len(variables), len(problem.startups)
    groups: dict[tuple, list[int]] = defaultdict(list)
    limits: dict[tuple, float] = {}
    for v, (i, s, t, _) in enumerate(variables):
        for key, limit in (
            (("person i", i, t), 1),
            (("person s", s, t), 1),
            (("slot", t), grid.capacity - grid.per_slot[t]),
            (("pair", i, s), 1),
            (("firm", grid.firm_of[i], s), 1),
            (("cap i", i), problem.max_investor - grid.deg_i[i]),
            (("cap s", s), problem.max_startup - grid.deg_s[s]),
        ):
            groups[key].append(v)
            limits[key] = limit
    rows, cols, data, upper = [], [], [], []
    for r, (key, vs) in enumerate(groups.items()):
        rows.extend([r] * len(vs))
        cols.extend(vs)
        data.extend([1.0] * len(vs))
        upper.append(limits[key])
    for s in range(n_s):  # z_s <= the start-up's new meetings
        vs = groups.get(("cap s", s), [])
        r = len(upper)
        rows.extend([r] * (len(vs) + 1))
        cols.extend([*vs, n_v + s])
        data.extend([-1.0] * len(vs) + [1.0])
        upper.append(0)
    matrix = coo_array((data, (rows, cols)), shape=(len(upper), n_v + n_s)).tocsr()
    want = [max(0, problem.min_startup - grid.deg_s[s]) for s in range(n_s)]
    result = milp(
        -np.array([value for *_, value in variables] + [MINIMUM_BONUS] * n_s),
        constraints=LinearConstraint(matrix, -np.inf, np.array(upper, dtype=float)),
        bounds=Bounds(np.zeros(n_v + n_s), np.array([1.0] * n_v + want)),
        integrality=np.array([1] * n_v + [0] * n_s),
        options={"time_limit": time_limit, "disp": False},
    )
    new = [variables[v][:3] for v in range(n_v) if result.x is not None and result.x[v] > 0.5]
    return _result(problem, list(problem.existing), new, _upper_bound(result))
