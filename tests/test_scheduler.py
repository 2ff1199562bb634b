"""The meeting scheduler: every schedule it returns keeps every rule, on random small events.

The rules are checked here independently of the module's own `violations`, so a bug in one is
not hidden by the same bug in the other.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from eventapp.matchmaking.scheduler import (
    Investor,
    Meeting,
    Preference,
    Problem,
    Slot,
    schedule,
    solve_exact,
    violations,
)

MARKS = st.sampled_from([None, Preference.NO_THANKS, Preference.HAPPY, Preference.MUST])


@st.composite
def problems(draw) -> Problem:
    n_i = draw(st.integers(1, 6))
    n_s = draw(st.integers(1, 5))
    n_t = draw(st.integers(1, 5))
    firms = [f"f{n}" for n in range(draw(st.integers(1, 4)))]
    investors = [Investor(f"i{n}", draw(st.sampled_from(firms))) for n in range(n_i)]
    startups = [f"s{n}" for n in range(n_s)]
    slots = [Slot(f"t{n}", day=n * 2 // n_t) for n in range(n_t)]
    investor_marks, startup_marks, fit = {}, {}, {}
    for inv in investors:
        for s in startups:
            for marks in (investor_marks, startup_marks):
                mark = draw(MARKS)
                if mark is not None:
                    marks[(inv.id, s)] = mark
            fit[(inv.id, s)] = draw(st.sampled_from([0.0, 0.25, 0.5, 1.0]))
    slot_ids = [t.id for t in slots]
    availability = {
        person: frozenset(draw(st.lists(st.sampled_from(slot_ids), unique=True)))
        for person in [inv.id for inv in investors] + startups
        if draw(st.booleans())
    }
    fixed = draw(st.booleans())
    return Problem(
        investors=investors,
        startups=startups,
        slots=slots,
        tables=n_s if fixed else draw(st.integers(1, 3)),
        investor_marks=investor_marks,
        startup_marks=startup_marks,
        fit=fit,
        availability=availability,
        max_investor=draw(st.integers(1, 4)),
        max_startup=draw(st.integers(1, 4)),
        min_startup=draw(st.integers(0, 3)),
        fixed_tables={s: n for n, s in enumerate(startups)} if fixed else None,
    )


def assert_valid(problem: Problem, meetings: list[Meeting]) -> None:
    slot_ids = {t.id for t in problem.slots}
    firm = {inv.id: inv.firm for inv in problem.investors}
    for m in meetings:
        assert m.slot in slot_ids
        assert m.slot in problem.availability.get(m.investor, slot_ids), m
        assert m.slot in problem.availability.get(m.startup, slot_ids), m
        marks = (
            problem.investor_marks.get((m.investor, m.startup)),
            problem.startup_marks.get((m.investor, m.startup)),
        )
        assert Preference.NO_THANKS not in marks, m
        assert marks != (None, None), m
        if problem.fixed_tables is None:
            assert 0 <= m.table < problem.tables, m
        else:
            assert m.table == problem.fixed_tables[m.startup], m
    once = [
        Counter((m.investor, m.slot) for m in meetings),
        Counter((m.startup, m.slot) for m in meetings),
        Counter((m.table, m.slot) for m in meetings),
        Counter((m.investor, m.startup) for m in meetings),
        Counter((firm[m.investor], m.startup) for m in meetings),
    ]
    for counter in once:
        assert not counter or max(counter.values()) == 1, counter.most_common(1)
    degree = Counter([m.investor for m in meetings] + [m.startup for m in meetings])
    assert all(degree[inv.id] <= problem.max_investor for inv in problem.investors)
    assert all(degree[s] <= problem.max_startup for s in problem.startups)
    assert violations(problem, meetings) == []


@settings(max_examples=80, deadline=None)
@given(problems())
def test_every_schedule_keeps_every_rule_and_stays_under_its_bound(problem):
    result = schedule(problem)
    assert_valid(problem, result.meetings)
    exact = solve_exact(problem)
    assert_valid(problem, exact.meetings)
    # The bound is proven: no schedule, the optimal one included, can beat it.
    assert result.value <= exact.value + 1e-6 <= result.bound + 2e-6
    per_startup = Counter(m.startup for m in result.meetings)
    assert result.shortfall == {
        s: problem.min_startup - per_startup[s]
        for s in problem.startups
        if per_startup[s] < problem.min_startup
    }


@settings(max_examples=60, deadline=None)
@given(problems(), st.data())
def test_a_rerun_keeps_existing_meetings_and_fills_around_them(problem, data):
    first = schedule(problem).meetings
    kept = data.draw(st.lists(st.sampled_from(first), unique=True) if first else st.just([]))
    problem.existing = kept
    again = schedule(problem)
    assert set(kept) <= set(again.meetings)
    assert_valid(problem, again.meetings)
    redone = schedule(problem, redo=True)
    assert_valid(problem, redone.meetings)
    assert redone.meetings == first  # a full redo ignores what exists, and is deterministic


def test_mutual_must_meets_come_first_and_no_thanks_is_never_scheduled():
    """One slot, one table: the mutual must-meet wins over a fitter one-sided wish."""
    investors = [Investor("ann", "north"), Investor("bob", "south")]
    problem = Problem(
        investors=investors,
        startups=["acme", "zeta"],
        slots=[Slot("9:00", day=0)],
        tables=1,
        investor_marks={("ann", "acme"): Preference.MUST, ("bob", "zeta"): Preference.MUST},
        startup_marks={("ann", "acme"): Preference.MUST, ("bob", "zeta"): Preference.NO_THANKS},
        fit={("ann", "acme"): 0.0, ("bob", "zeta"): 1.0},
    )
    assert schedule(problem).meetings == [Meeting("ann", "acme", "9:00", 0)]


def test_a_start_up_meets_one_firm_once():
    firm = [Investor("ann", "north"), Investor("cat", "north")]
    problem = Problem(
        investors=firm,
        startups=["acme"],
        slots=[Slot("9:00", day=0), Slot("9:20", day=0)],
        tables=2,
        investor_marks={("ann", "acme"): Preference.MUST, ("cat", "acme"): Preference.HAPPY},
        startup_marks={},
    )
    assert [m.investor for m in schedule(problem).meetings] == ["ann"]


def test_minimums_come_before_value():
    """Ann can meet once: the start-up that would otherwise have no meeting gets her."""
    problem = Problem(
        investors=[Investor("ann", "north"), Investor("bob", "south")],
        startups=["acme", "zeta"],
        slots=[Slot("9:00", day=0), Slot("9:20", day=0)],
        tables=2,
        investor_marks={("ann", "acme"): Preference.MUST, ("ann", "zeta"): Preference.HAPPY},
        startup_marks={("ann", "acme"): Preference.MUST, ("bob", "acme"): Preference.HAPPY},
        max_investor=1,
        min_startup=1,
    )
    result = schedule(problem)
    assert {(m.investor, m.startup) for m in result.meetings} == {("ann", "zeta"), ("bob", "acme")}
    assert result.shortfall == {}
