"""Fit of an investor firm and a start-up: hard gates, then weighted factors. Pure, no database.

A gate that fails makes the pair a non-match whatever the factors say (the scheduler never
places it unless both sides asked to meet anyway). Unknown data never gates: a start-up that
has not said its stage passes the stage gate, and scores nothing on that factor.

The score is 0..1: the weighted mean of the factors (each 0..1) with the event's weights. The
breakdown keeps each factor's share of the score, so the top factors read as "why this match".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FACTORS = ("sector", "stage", "ticket", "geography", "thesis")
DEFAULT_WEIGHTS = {"sector": 3.0, "stage": 2.0, "ticket": 2.0, "geography": 2.0, "thesis": 1.0}
STAGES = ("idea", "pre-seed", "seed", "series-a", "series-b", "growth")
ASEAN = frozenset({"BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"})

_WORD = re.compile(r"[a-z0-9][a-z0-9-]{2,}")
_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "from",
        "that",
        "this",
        "into",
        "our",
        "are",
        "who",
        "their",
        "which",
        "start-up",
        "start-ups",
        "startup",
        "startups",
        "company",
        "companies",
        "we",
        "in",
        "on",
        "of",
        "to",
        "a",
        "an",
    ]
)


@dataclass(frozen=True)
class InvestorSide:
    country: str = ""
    sectors: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    ticket_min_usd: int | None = None
    ticket_max_usd: int | None = None
    countries_of_interest: tuple[str, ...] = ()
    thesis: str = ""


@dataclass(frozen=True)
class StartupSide:
    country: str = ""
    sectors: tuple[str, ...] = ()
    stage: str = ""
    funding_sought_usd: int | None = None
    one_liner: str = ""


@dataclass(frozen=True)
class Fit:
    score: float
    """0..1; 0 when a gate failed."""
    gate: str | None
    """The failed hard gate (stage, ticket, country), or None."""
    breakdown: dict[str, float] = field(default_factory=dict)
    """Each factor's share of the score."""

    def why(self, top: int = 3) -> list[str]:
        """The factors that contributed most, best first."""
        ranked = sorted(self.breakdown.items(), key=lambda kv: -kv[1])
        return [name for name, share in ranked[:top] if share > 0]


def gate(investor: InvestorSide, startup: StartupSide) -> str | None:
    """The first hard gate the pair fails, or None."""
    if investor.stages and startup.stage and startup.stage not in investor.stages:
        return "stage"
    sought = startup.funding_sought_usd
    if sought is not None:
        if investor.ticket_max_usd is not None and sought > investor.ticket_max_usd * 2:
            return "ticket"
        if investor.ticket_min_usd is not None and sought * 2 < investor.ticket_min_usd:
            return "ticket"
    interest = _expand(investor.countries_of_interest)
    if interest and startup.country and startup.country not in interest:
        return "country"
    return None


def _expand(countries: tuple[str, ...]) -> set[str]:
    """Countries of interest, with "ASEAN" standing for the ten member states."""
    found = {c.upper() for c in countries}
    return found | ASEAN if "ASEAN" in found else found


def _keywords(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def factors(investor: InvestorSide, startup: StartupSide) -> dict[str, float]:
    """Each factor in 0..1."""
    wanted = {s.lower() for s in investor.sectors}
    offered = {s.lower() for s in startup.sectors}
    sector = len(wanted & offered) / len(offered) if wanted and offered else 0.0
    stage = 0.0
    if investor.stages and startup.stage:
        if startup.stage in investor.stages:
            stage = 1.0
        elif startup.stage in STAGES:
            near = [
                abs(STAGES.index(s) - STAGES.index(startup.stage))
                for s in investor.stages
                if s in STAGES
            ]
            stage = 0.5 if near and min(near) == 1 else 0.0
    ticket = 0.0
    sought = startup.funding_sought_usd
    low, high = investor.ticket_min_usd, investor.ticket_max_usd
    if sought is not None and (low is not None or high is not None):
        inside = (low is None or sought >= low) and (high is None or sought <= high)
        ticket = 1.0 if inside else 0.4
    geography = 0.0
    if startup.country:
        interest = _expand(investor.countries_of_interest)
        if startup.country in interest:
            geography = 1.0
        elif startup.country == investor.country:
            geography = 0.8
        elif not interest and startup.country in ASEAN:
            geography = 0.5
    thesis = 0.0
    thesis_words = _keywords(investor.thesis)
    startup_words = _keywords(startup.one_liner) | {s.lower() for s in startup.sectors}
    if thesis_words and startup_words:
        thesis = min(1.0, len(thesis_words & startup_words) / 3)
    return {
        "sector": sector,
        "stage": stage,
        "ticket": ticket,
        "geography": geography,
        "thesis": thesis,
    }


def fit(
    investor: InvestorSide, startup: StartupSide, weights: dict[str, float] | None = None
) -> Fit:
    """The pair's fit with the event's `weights` (missing factors take DEFAULT_WEIGHTS)."""
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    failed = gate(investor, startup)
    if failed:
        return Fit(0.0, failed, {name: 0.0 for name in FACTORS})
    total = sum(max(0.0, weights[name]) for name in FACTORS) or 1.0
    values = factors(investor, startup)
    breakdown = {name: round(max(0.0, weights[name]) * values[name] / total, 4) for name in FACTORS}
    return Fit(round(sum(breakdown.values()), 4), None, breakdown)
