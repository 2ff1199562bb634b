from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from eventapp.params import RequestModel

Score = Annotated[int, Field(ge=1, le=5)]
CriterionKey = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
]


class Criterion(RequestModel):
    key: CriterionKey = Field(description="Stable name scores are stored under")
    label: str = Field(min_length=1, max_length=100)
    weight: float = Field(gt=0, le=100, description="Relative weight in the weighted mean")


class ReviewSettingsIn(RequestModel):
    criteria: list[Criterion] = Field(
        min_length=1, max_length=20, description="Each key once (409 `criteria_duplicate`)"
    )
    reviewers_per_application: int = Field(ge=1, le=20, description="k reviewers per application")
    anonymised: bool = Field(description="Reviewers see no names, incubator or links")
    reviewers_see_scores: bool = Field(
        description="Reviewers see the others' scores, once they have saved their own"
    )


class CriterionOut(BaseModel):
    key: str
    label: str
    weight: float


class ReviewSettingsOut(BaseModel):
    criteria: list[CriterionOut]
    reviewers_per_application: int
    anonymised: bool
    reviewers_see_scores: bool


class AssignmentResult(BaseModel):
    created: int = Field(description="New assignments made")
    reviewers_per_application: int


class ReviewerLoad(BaseModel):
    id: int
    name: str
    email: str
    incubator: int | None = Field(description="The incubator (organisation id) they belong to")
    assigned: int
    reviewed: int
    abstained: int


class ConflictIn(RequestModel):
    application_id: int = Field(ge=1, le=2**31 - 1)
    note: str = Field(default="", max_length=300)


class ConflictOut(BaseModel):
    id: int
    application: int
    reviewer: int
    note: str
    created_at: datetime


class QueueItem(BaseModel):
    id: int
    company_name: str = Field(description="'Application N' when the review is anonymised")
    country: str
    one_liner: str
    state: str
    status: Literal["to_review", "reviewed", "abstained"]
    reviews: int = Field(description="Reviews it has so far, by anyone")
    my_score: float | None


class ApplicationForReview(BaseModel):
    """What a reviewer reads; names, incubator and links are null when anonymised."""

    id: int
    company_name: str
    country: str
    incubator_name: str | None
    sectors: list[str]
    stage: str
    year_founded: int | None
    team_size: int | None
    women_led: bool
    founders: list[dict]
    one_liner: str
    description: str
    traction: str
    funding_sought_usd: int | None
    website: str | None
    deck_url: str | None


class ReviewOut(BaseModel):
    scores: dict[str, int]
    score: float | None = Field(description="The weighted mean; null when abstained")
    abstained: bool
    comment: str
    updated_at: datetime


class OtherReview(BaseModel):
    scores: dict[str, int]
    score: float | None
    abstained: bool


class ReviewTask(BaseModel):
    application: ApplicationForReview
    criteria: list[CriterionOut]
    anonymised: bool
    my_review: ReviewOut | None
    other_reviews: list[OtherReview] | None = Field(
        description="Null unless organisers let reviewers see each other's scores"
    )


class NextTask(BaseModel):
    """Save and next: the assigned application with the fewest reviews, or null when done."""

    next: ReviewTask | None
    remaining: int = Field(description="Assigned applications not yet reviewed")


class ReviewIn(RequestModel):
    scores: dict[Annotated[str, StringConstraints(min_length=1, max_length=40)], Score] = Field(
        default_factory=dict,
        max_length=20,
        description="Criterion key -> 1..5, every criterion of the event once (a 409 "
        "`scores_invalid` otherwise, since the criteria are the event's); empty to abstain",
    )
    comment: str = Field(default="", max_length=5000)
    abstain: bool = False


class SavedReview(BaseModel):
    review: ReviewOut
    next: NextTask


class ApplicationScores(BaseModel):
    rank: int
    id: int
    company_name: str
    country: str
    sectors: list[str]
    women_led: bool
    incubator_name: str | None
    state: str
    pending_decision: str | None
    mean: float | None = Field(description="Mean of the reviews' weighted scores")
    median: float | None
    spread: float | None = Field(description="Highest review score minus the lowest")
    count: int = Field(description="Reviews with scores (abstentions apart)")
    abstained: int
    assigned: int


class ReviewByReviewer(ReviewOut):
    reviewer: int
    reviewer_name: str


# --------------------------------------------------------------------------------------------------
# The selection board


class SelectionRulesIn(RequestModel):
    size: int = Field(ge=1, le=1000, description="N: how many start-ups are selected")
    min_women_led: int = Field(ge=0, le=1000)
    min_per_country: int = Field(ge=0, le=1000)
    max_per_country: int | None = Field(ge=1, le=1000)
    max_per_sector: int | None = Field(ge=1, le=1000)
    max_per_incubator: int | None = Field(ge=1, le=1000)
    min_countries: int = Field(ge=0, le=300)


class SelectionRulesOut(BaseModel):
    size: int
    min_women_led: int
    min_per_country: int
    max_per_country: int | None
    max_per_sector: int | None
    max_per_incubator: int | None
    min_countries: int


class LockIn(RequestModel):
    lock: Literal["include", "exclude"] | None = Field(description="null removes the lock")


class LockOut(BaseModel):
    application_id: int
    lock: Literal["include", "exclude"] | None


class Balance(BaseModel):
    by_country: dict[str, int]
    by_sector: dict[str, int]
    women_led: int
    total: int


class Proposal(BaseModel):
    selected: list[int] = Field(description="Application ids, best rank first")
    waitlist: list[int] = Field(description="In order: who would step in first")
    objective: float | None = Field(description="The selected set's total review score")
    optimal: bool | None = Field(description="Proved optimal by the solver")
    run_at: datetime | None
    rules: SelectionRulesOut
    balance: Balance


class BoardRow(ApplicationScores):
    lock: Literal["include", "exclude"] | None
    proposed: str | None = Field(description="selected, waitlist N, out; null before a run")
    explanation: str = Field(description="The optimiser's one line: 'in: rank 3, score 4.6'")


class ProposedDecisions(BaseModel):
    accepted: int
    waitlisted: int
    rejected: int


class ReplacementOut(BaseModel):
    declined_id: int
    replacement_id: int
    company_name: str
    country: str
    mean: float | None
    explanation: str
