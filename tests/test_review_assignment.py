"""Reviewer assignment: k allowed reviewers per application, loads as even as conflicts allow.

The properties are checked by plain readings of the rules, not by the solver's own model.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain, combinations, product

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventapp.review.assignment import Application, Reviewer, Unassignable, allowed, assign

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INCUBATORS = [None, "nus", "block71", "truedp"]


@st.composite
def instances(draw):
    n_apps = draw(st.integers(1, 14))
    n_reviewers = draw(st.integers(1, 7))
    applications = [Application(a, draw(st.sampled_from(INCUBATORS))) for a in range(n_apps)]
    reviewers = [
        Reviewer(
            f"r{r}",
            draw(st.sampled_from(INCUBATORS)),
            frozenset(draw(st.sets(st.integers(0, n_apps - 1), max_size=3))),
        )
        for r in range(n_reviewers)
    ]
    k = draw(st.integers(0, 3))
    existing = draw(
        st.sets(
            st.tuples(st.integers(0, n_apps - 1), st.sampled_from([r.id for r in reviewers])),
            max_size=4,
        )
    )
    return applications, reviewers, k, existing


def loads(pairs, reviewers) -> Counter:
    count = Counter({r.id: 0 for r in reviewers})
    count.update(r for _, r in pairs)
    return count


@PROPERTY
@given(instances())
def test_every_application_gets_k_allowed_reviewers_or_is_named(instance):
    applications, reviewers, k, existing = instance
    existing = {
        (a, r)
        for a, r in existing
        if allowed(next(x for x in reviewers if x.id == r), applications[a])
    }
    by_id = {r.id: r for r in reviewers}
    try:
        new = assign(applications, reviewers, k, existing=existing)
    except Unassignable as error:
        for a in error.applications:
            have = sum(1 for x, _ in existing if x == a)
            options = sum(
                1 for r in reviewers if allowed(r, applications[a]) and (a, r.id) not in existing
            )
            assert have + options < k
        return
    assert len(set(new)) == len(new)
    assert not set(new) & existing
    every = set(new) | existing
    for application in applications:
        mine = [r for a, r in every if a == application.id]
        have = sum(1 for a, _ in existing if a == application.id)
        assert len(mine) == max(k, have)
    for a, r in new:
        assert allowed(by_id[r], applications[a]), "same incubator or declared conflict"


@PROPERTY
@given(instances())
def test_no_application_can_move_to_a_reviewer_carrying_two_fewer(instance):
    """The loads are balanced: moving any new assignment to an allowed, free reviewer with at
    least two fewer applications is never possible (else the solver left slack)."""
    applications, reviewers, k, _ = instance
    try:
        new = assign(applications, reviewers, k)
    except Unassignable:
        return
    load = loads(new, reviewers)
    taken = set(new)
    for a, r in new:
        for other in reviewers:
            if (a, other.id) in taken or not allowed(other, applications[a]):
                continue
            assert not load[other.id] <= load[r] - 2, f"{a} could move from {r} to {other.id}"


@PROPERTY
@given(st.integers(1, 40), st.integers(1, 9), st.integers(1, 3))
def test_without_conflicts_loads_differ_by_at_most_one(n_apps, n_reviewers, k):
    k = min(k, n_reviewers)
    applications = [Application(a) for a in range(n_apps)]
    reviewers = [Reviewer(r) for r in range(n_reviewers)]
    load = loads(assign(applications, reviewers, k), reviewers)
    assert max(load.values()) - min(load.values()) <= 1
    assert sum(load.values()) == n_apps * k


@PROPERTY
@given(
    st.lists(st.sampled_from(INCUBATORS), min_size=1, max_size=5),
    st.lists(
        st.tuples(st.sampled_from(INCUBATORS), st.sets(st.integers(0, 4), max_size=2)),
        min_size=1,
        max_size=4,
    ),
    st.integers(1, 2),
)
def test_the_loads_are_the_most_balanced_of_all_assignments(app_incubators, panel, k):
    """Against every assignment of a small instance: the sorted loads (largest first) are the
    smallest there are, lexicographically (decreasingly minimal)."""
    applications = [Application(a, inc) for a, inc in enumerate(app_incubators)]
    reviewers = [Reviewer(r, inc, frozenset(c)) for r, (inc, c) in enumerate(panel)]
    try:
        new = assign(applications, reviewers, k)
    except Unassignable:
        return
    ours = sorted(loads(new, reviewers).values(), reverse=True)
    choices = [
        list(combinations([r.id for r in reviewers if allowed(r, a)], k)) for a in applications
    ]
    best = min(
        sorted(loads([(None, r) for r in chain(*pick)], reviewers).values(), reverse=True)
        for pick in product(*choices)
    )
    assert ours == best


def test_the_same_incubator_and_declared_conflicts_are_never_assigned():
    applications = [Application("acme", "nus"), Application("blip", "block71")]
    reviewers = [
        Reviewer("nus-reviewer", "nus"),
        Reviewer("conflicted", conflicts=frozenset({"blip"})),
        Reviewer("free"),
    ]
    pairs = set(assign(applications, reviewers, 2))
    assert pairs == {
        ("acme", "conflicted"),
        ("acme", "free"),
        ("blip", "nus-reviewer"),
        ("blip", "free"),
    }


def test_an_application_without_enough_allowed_reviewers_is_named():
    applications = [Application("acme", "nus"), Application("blip")]
    reviewers = [Reviewer("nus-reviewer", "nus"), Reviewer("other")]
    with pytest.raises(Unassignable) as raised:
        assign(applications, reviewers, 2)
    assert raised.value.applications == ["acme"]


def test_existing_assignments_are_kept_and_count_towards_k_and_load():
    applications = [Application(a) for a in range(4)]
    reviewers = [Reviewer("a"), Reviewer("b")]
    new = assign(applications, reviewers, 1, existing=[(0, "a"), (1, "a")])
    assert sorted(new) == [(2, "b"), (3, "b")]
    assert assign(applications, reviewers, 1, existing=new + [(0, "a"), (1, "a")]) == []


def test_two_thousand_applications_and_fifty_reviewers_assign_quickly():
    import time

    applications = [Application(a, f"inc{a % 40}") for a in range(2000)]
    reviewers = [Reviewer(r, f"inc{r % 40}") for r in range(50)]
    started = time.perf_counter()
    new = assign(applications, reviewers, 3)
    assert time.perf_counter() - started < 20
    load = loads(new, reviewers)
    assert max(load.values()) - min(load.values()) <= 1
