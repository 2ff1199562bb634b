"""The selection optimiser against exhaustive search on small random instances.

The rules are checked here by an independent, plain reading of them (`broken`), so the tests
do not trust the optimiser's own model.
"""

from __future__ import annotations

import random
from dataclasses import replace
from itertools import combinations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventapp.applications.selection import (
    RULE_FAMILIES,
    Candidate,
    Infeasible,
    Rules,
    replacement_for,
    select,
)

COUNTRIES = ["SG", "VN", "TH"]
SECTORS = ["ai", "fintech", "agri"]
INCUBATORS = [None, "nus", "block71", "truedp"]
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def broken(candidates: list[Candidate], rules: Rules, ids) -> set[str]:
    """The rule families a set of ids breaks, read straight from the rules."""
    chosen = [c for c in candidates if c.id in set(ids)]
    eligible = [c for c in candidates if c.id not in rules.must_exclude]
    present = {c.country for c in eligible}
    out = set()
    if len(chosen) != rules.size:
        out.add("size")
    if not rules.must_include <= set(ids):
        out.add("must_include")
    if rules.must_exclude & set(ids):
        out.add("must_exclude")
    if sum(c.women_led for c in chosen) < rules.min_women_led:
        out.add("min_women_led")
    for country in present | set(rules.country_limits):
        low = rules.min_per_country if country in present else 0
        high = rules.max_per_country
        if country in rules.country_limits:
            low, high = rules.country_limits[country]
        count = sum(c.country == country for c in chosen)
        if count < low:
            out.add("min_per_country")
        if high is not None and count > high:
            out.add("max_per_country")
    for cap, values, family in (
        (rules.max_per_sector, [s for c in chosen for s in set(c.sectors)], "max_per_sector"),
        (
            rules.max_per_incubator,
            [c.incubator for c in chosen if c.incubator],
            "max_per_incubator",
        ),
    ):
        if cap is not None and any(values.count(v) > cap for v in values):
            out.add(family)
    if len({c.country for c in chosen}) < rules.min_countries:
        out.add("min_countries")
    return out


def best(candidates: list[Candidate], rules: Rules) -> float | None:
    """The best total score over every feasible combination (None: there is none)."""
    scores = [
        sum(c.score for c in combo)
        for combo in combinations(candidates, rules.size)
        if not broken(candidates, rules, [c.id for c in combo])
    ]
    return max(scores, default=None)


def without(rules: Rules, family: str) -> Rules:
    if family == "min_per_country":
        limits = {k: (0, high) for k, (_, high) in rules.country_limits.items()}
        return replace(rules, min_per_country=0, country_limits=limits)
    if family == "max_per_country":
        limits = {k: (low, None) for k, (low, _) in rules.country_limits.items()}
        return replace(rules, max_per_country=None, country_limits=limits)
    dropped = {"min_women_led": 0, "min_countries": 0, "must_include": frozenset()}
    dropped |= {"must_exclude": frozenset(), "max_per_sector": None, "max_per_incubator": None}
    return replace(rules, **{family: dropped[family]})


def only(rules: Rules, family: str) -> Rules:
    """The size, the organiser's locks and one rule family."""
    bare = Rules(rules.size, must_include=rules.must_include, must_exclude=rules.must_exclude)
    if family in ("min_per_country", "max_per_country"):
        index = 0 if family == "min_per_country" else 1
        limits = {
            k: (bounds[0], None) if index == 0 else (0, bounds[1])
            for k, bounds in rules.country_limits.items()
        }
        return replace(bare, country_limits=limits, **{family: getattr(rules, family)})
    if family in ("size", "must_include", "must_exclude"):
        return bare
    return replace(bare, **{family: getattr(rules, family)})


@st.composite
def instances(draw) -> tuple[list[Candidate], Rules]:
    count = draw(st.integers(2, 12))
    candidates = [
        Candidate(
            id=i,
            score=draw(st.integers(0, 50)) / 10,  # a coarse grid, so ties are common
            country=draw(st.sampled_from(COUNTRIES)),
            sectors=tuple(draw(st.lists(st.sampled_from(SECTORS), max_size=2, unique=True))),
            incubator=draw(st.sampled_from(INCUBATORS)),
            women_led=draw(st.booleans()),
        )
        for i in range(count)
    ]
    ids = list(range(count))
    cap = st.none() | st.integers(1, 4)
    locked = draw(st.lists(st.sampled_from(ids), max_size=2, unique=True))
    others = [i for i in ids if i not in locked]
    excluded = draw(st.lists(st.sampled_from(others), max_size=2, unique=True)) if others else []
    limits = draw(
        st.dictionaries(st.sampled_from(COUNTRIES), st.tuples(st.integers(0, 2), cap), max_size=1)
    )
    rules = Rules(
        size=draw(st.integers(1, min(5, count))),
        min_women_led=draw(st.integers(0, 2)),
        min_per_country=draw(st.integers(0, 1)),
        max_per_country=draw(cap),
        max_per_sector=draw(cap),
        max_per_incubator=draw(st.none() | st.integers(1, 3)),
        min_countries=draw(st.integers(0, 3)),
        must_include=frozenset(locked),
        must_exclude=frozenset(excluded),
        country_limits=limits,
    )
    return candidates, rules


def can_swap(candidates, rules, selected, out_id, in_id) -> bool:
    swapped = [i for i in selected if i != out_id] + [in_id]
    return not broken(candidates, rules, swapped)


@PROPERTY
@given(instances())
def test_the_selection_keeps_every_rule_and_is_the_best(instance):
    candidates, rules = instance
    optimum = best(candidates, rules)
    if optimum is None:
        with pytest.raises(Infeasible):
            select(candidates, rules)
        return
    selection = select(candidates, rules)
    assert not broken(candidates, rules, selection.selected)
    assert selection.optimal
    assert selection.objective == pytest.approx(optimum, abs=1e-9)
    by_id = {c.id: c for c in candidates}
    ranks = [(-by_id[i].score, i) for i in selection.selected]
    assert ranks == sorted(ranks)
    assert set(selection.explanations) == set(by_id)
    for candidate_id, line in selection.explanations.items():
        assert line.startswith("in: " if candidate_id in selection.selected else "out: ")
    # The waitlist is exactly those left out who can replace someone, in rank order.
    outside = [
        c.id
        for c in sorted(candidates, key=lambda c: (-c.score, c.id))
        if c.id not in selection.selected and c.id not in rules.must_exclude
    ]
    expected = [
        i
        for i in outside
        if any(
            can_swap(candidates, rules, selection.selected, j, i)
            for j in selection.selected
            if j not in rules.must_include
        )
    ]
    assert list(selection.waitlist) == expected


@PROPERTY
@given(instances())
def test_an_infeasible_rule_set_names_a_rule_that_matters(instance):
    """The named rule cannot be met even alone (with the size and locks), or dropping it lets
    the others hold; "combination" only when no single rule family can be dropped."""
    candidates, rules = instance
    if best(candidates, rules) is not None:
        return
    with pytest.raises(Infeasible) as raised:
        select(candidates, rules)
    rule = raised.value.rule
    if rule == "combination":
        assert all(best(candidates, without(rules, family)) is None for family in RULE_FAMILIES)
        return
    assert rule in (*RULE_FAMILIES, "size")
    alone_fails = best(candidates, only(rules, rule)) is None
    dropping_helps = rule != "size" and best(candidates, without(rules, rule)) is not None
    assert alone_fails or dropping_helps, raised.value


@PROPERTY
@given(instances(), st.data())
def test_a_replacement_keeps_every_rule_and_is_the_best_ranked(instance, data):
    candidates, rules = instance
    if best(candidates, rules) is None:
        return
    selection = select(candidates, rules)
    declined = data.draw(st.sampled_from(selection.selected))
    after = replace(
        rules,
        must_include=rules.must_include - {declined},
        must_exclude=rules.must_exclude | {declined},
    )
    ranked = sorted(candidates, key=lambda c: (-c.score, c.id))
    fitting = [
        c.id
        for c in ranked
        if c.id not in selection.selected
        and c.id not in after.must_exclude
        and can_swap(candidates, after, selection.selected, declined, c.id)
    ]
    if not fitting:
        with pytest.raises(Infeasible):
            replacement_for(selection, declined)
        return
    replacement = replacement_for(selection, declined)
    assert replacement.replacement == fitting[0]
    kept = set(replacement.selection.selected)
    assert kept == set(selection.selected) - {declined} | {fitting[0]}
    assert not broken(candidates, after, kept)
    assert replacement.selection.explanations[declined].startswith("out: ")


@settings(max_examples=20, deadline=None)
@given(instances(), st.randoms())
def test_the_same_instance_in_any_order_gives_the_same_selection(instance, rng):
    candidates, rules = instance
    shuffled = list(candidates)
    rng.shuffle(shuffled)
    try:
        first = select(candidates, rules)
    except Infeasible as error:
        with pytest.raises(Infeasible) as again:
            select(shuffled, rules)
        assert again.value.rule == error.rule
        return
    second = select(shuffled, rules)
    assert (first.selected, first.waitlist) == (second.selected, second.waitlist)
    assert first.explanations == second.explanations


def seed_like(count: int = 60, seed: int = 8) -> list[Candidate]:
    rng = random.Random(seed)
    return [
        Candidate(
            i,
            round(rng.uniform(1, 5), 1),
            rng.choice(["SG", "VN", "TH", "ID", "MY"]),
            (rng.choice(SECTORS),),
            rng.choice(["nus", "block71", "truedp", "magic", "dare", None]),
            rng.random() < 0.3,
        )
        for i in range(count)
    ]


def test_explanations_name_the_rank_score_and_the_rule():
    candidates = [
        Candidate("a", 4.9, "SG"),
        Candidate("b", 4.8, "SG"),
        Candidate("c", 4.6, "VN"),
        Candidate("f", 3.5, "TH"),
        Candidate("e", 3.0, "VN"),
        Candidate("d", 2.5, "TH", women_led=True),
        Candidate("g", 1.0, "MY"),
        Candidate("h", 0.5, "MY"),
    ]
    rules = Rules(3, min_women_led=1, max_per_country=1, must_exclude=frozenset({"g"}))
    selection = select(candidates, rules)
    assert selection.selected == ("a", "c", "d")
    assert selection.waitlist == ("b", "e", "h")
    assert selection.explanations == {
        "a": "in: rank 1, score 4.9",
        "b": "out: rank 2, score 4.8, country cap for SG reached; waitlist 1",
        "c": "in: rank 3, score 4.6",
        "f": "out: rank 4, score 3.5, the picks it could replace are needed for the women-led minimum of 1",
        "e": "out: rank 5, score 3, country cap for VN reached; waitlist 2",
        "d": "in: rank 6, score 2.5, needed for the women-led minimum of 1",
        "g": "out: rank 7, excluded by the organiser",
        "h": "out: rank 8, score 0.5, waitlist 3",
    }
    # Only a woman can take d's place, and none is left: the rule is named.
    with pytest.raises(Infeasible) as raised:
        replacement_for(selection, "d")
    assert raised.value.rule == "min_women_led"
    replacement = replacement_for(selection, "a")
    assert (replacement.replacement, replacement.explanation) == (
        "b",
        "in for a: rank 2, score 4.8",
    )
    assert replacement.selection.selected == ("b", "c", "d")
    locked = select(candidates, replace(rules, must_include=frozenset({"h"})))
    assert locked.explanations["h"] == "in: rank 8, score 0.5, locked in by the organiser"


def test_ties_break_by_id():
    candidates = [Candidate(i, 3.0, "SG") for i in (5, 3, 9, 1)]
    assert select(candidates, Rules(2)).selected == (1, 3)
    assert select(candidates, Rules(2)).waitlist == (5, 9)


@pytest.mark.parametrize(
    ("rules", "rule", "detail"),
    [
        (
            Rules(32, min_women_led=26),
            "min_women_led",
            "26 needed, only 25 women-led candidates remain after exclusions",
        ),
        (
            Rules(32, max_per_sector=6, max_per_country=7),
            "max_per_sector",
            "the rules cannot all hold together; without max_per_sector the others can",
        ),
        (Rules(70), "size", "70 places, only 60 candidates remain after exclusions"),
        (Rules(32, max_per_country=5), "max_per_country", "the country caps leave 25 of 32 places"),
        (
            Rules(32, min_per_country=7),
            "min_per_country",
            "the country minimums add up to 35, only 32 places",
        ),
    ],
)
def test_an_infeasible_rule_is_named_with_its_numbers(rules, rule, detail):
    with pytest.raises(Infeasible) as raised:
        select(seed_like(), rules)
    assert (raised.value.rule, raised.value.detail) == (rule, detail)
