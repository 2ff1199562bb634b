"""Fit scores: hard gates first, then the event's weighted factors, with the reasons kept."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from eventapp.matchmaking.fit import FACTORS, STAGES, InvestorSide, StartupSide, fit

SEED_AGRI_ID = StartupSide(
    country="ID",
    sectors=("agritech",),
    stage="seed",
    funding_sought_usd=500_000,
    one_liner="Marketplace for rice farmers",
)
LION = InvestorSide(
    country="SG",
    sectors=("agritech", "fintech"),
    stages=("seed", "series-a"),
    ticket_min_usd=200_000,
    ticket_max_usd=2_000_000,
    countries_of_interest=("ASEAN",),
    thesis="Farmers and rice supply chains",
)


def test_a_pair_that_passes_every_gate_scores_by_its_factors_and_says_why():
    found = fit(LION, SEED_AGRI_ID)
    assert found.gate is None and 0.95 < found.score < 1.0  # one thesis word of three matches
    assert found.why() == ["sector", "stage", "ticket"]
    assert found.breakdown["thesis"] > 0


def test_each_hard_gate_refuses_the_pair():
    assert fit(LION, StartupSide(country="ID", stage="growth")).gate == "stage"
    assert fit(LION, StartupSide(country="ID", funding_sought_usd=50_000_000)).gate == "ticket"
    assert fit(LION, StartupSide(country="US")).gate == "country"
    assert fit(LION, StartupSide(country="US")).score == 0.0


def test_unknown_data_never_gates():
    assert fit(LION, StartupSide()).gate is None
    assert fit(InvestorSide(), SEED_AGRI_ID).gate is None


def test_weights_are_per_event():
    geography_only = {name: 0.0 for name in FACTORS} | {"geography": 1.0}
    found = fit(LION, SEED_AGRI_ID, geography_only)
    assert found.score == 1.0 and found.why() == ["geography"]
    sectorless = fit(LION, SEED_AGRI_ID, {"sector": 0.0})
    assert sectorless.breakdown["sector"] == 0.0


@given(
    stage=st.sampled_from(("", *STAGES)),
    sought=st.one_of(st.none(), st.integers(0, 10**9)),
    country=st.sampled_from(["", "ID", "SG", "JP", "US"]),
    weights=st.dictionaries(st.sampled_from(FACTORS), st.floats(0, 100)),
)
def test_a_score_is_between_0_and_1_and_its_breakdown_adds_up(stage, sought, country, weights):
    found = fit(LION, StartupSide(country=country, stage=stage, funding_sought_usd=sought), weights)
    assert 0.0 <= found.score <= 1.0
    assert abs(sum(found.breakdown.values()) - found.score) < 1e-3
    assert found.gate is None or found.score == 0.0
