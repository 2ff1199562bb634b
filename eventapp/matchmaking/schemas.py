"""Matchmaking request and answer shapes."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from eventapp.matchmaking.fit import STAGES
from eventapp.params import RequestModel

Id = Field(ge=1, le=2**31 - 1)
Mark = Literal["must", "happy", "no_thanks"]
InvestorType = Literal["vc", "angel", "corporate", "government", "development_fund"]
Stage = Literal[STAGES]  # type: ignore[valid-type]
Interest = Literal["none", "follow_up", "due_diligence"]
MeetingStatus = Literal["pending", "accepted", "declined", "cancelled", "expired"]
USD = Field(default=None, ge=0, le=2**31 - 1, description="US dollars")


class GridBlock(RequestModel):
    """A block of back-to-back meeting slots on one day, in the event's time zone; it ends
    after it starts."""

    day: date
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> GridBlock:
        if self.end <= self.start:
            raise ValueError("a block must end after it starts")
        return self


class Weights(RequestModel):
    sector: float = Field(default=3.0, ge=0, le=100)
    stage: float = Field(default=2.0, ge=0, le=100)
    ticket: float = Field(default=2.0, ge=0, le=100)
    geography: float = Field(default=2.0, ge=0, le=100)
    thesis: float = Field(default=1.0, ge=0, le=100)


class GridSettings(RequestModel):
    """The meeting grid and its rules. Breaks are the gaps between blocks."""

    slot_minutes: int = Field(default=20, ge=5, le=240)
    blocks: list[GridBlock] = Field(default_factory=list, max_length=40)
    max_investor: int = Field(default=8, ge=1, le=200, description="Meetings per investor")
    max_startup: int = Field(default=12, ge=1, le=200, description="Meetings per start-up")
    min_startup: int = Field(default=0, ge=0, le=200, description="Meetings the scheduler aims for")
    fixed_tables: bool = Field(default=False, description="Start-ups keep a table; investors move")
    request_hours: int = Field(default=24, ge=1, le=720, description="Hours a request waits")
    weights: Weights = Field(default_factory=Weights)


class GridSettingsOut(BaseModel):
    slot_minutes: int
    blocks: list[dict]
    max_investor: int
    max_startup: int
    min_startup: int
    fixed_tables: bool
    request_hours: int
    weights: dict[str, float]
    slots: int


class SlotOut(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    day_index: int


class InvestorProfileIn(RequestModel):
    investor_type: InvestorType = "vc"
    country: str = Field(default="", pattern=r"^([A-Z]{2})?$")
    sectors: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=20
    )
    stages: list[Stage] = Field(default_factory=list, max_length=len(STAGES))
    ticket_min_usd: int | None = USD
    ticket_max_usd: int | None = USD
    countries_of_interest: list[Annotated[str, Field(pattern=r"^([A-Z]{2}|ASEAN)$")]] = Field(
        default_factory=list, max_length=40, description="ISO alpha-2 codes, or ASEAN for all ten"
    )
    thesis: str = Field(default="", max_length=2000)


class InvestorProfileOut(BaseModel):
    firm_id: int
    firm_name: str
    investor_type: str
    country: str
    sectors: list[str]
    stages: list[str]
    ticket_min_usd: int | None
    ticket_max_usd: int | None
    countries_of_interest: list[str]
    thesis: str


class StartupMatch(BaseModel):
    """A start-up as an investor browses it: the selected start-up's shape, fit and marks."""

    organisation_id: int
    name: str
    country: str
    one_liner: str
    sectors: list[str]
    stage: str
    funding_sought_usd: int | None
    women_led: bool
    logo_url: str | None
    website: str
    fit: float = Field(description="0..1; 0 when a hard gate fails")
    gate: str | None = Field(description="The hard gate that failed: stage, ticket or country")
    why: list[str] = Field(description="The factors that contributed most, best first")
    breakdown: dict[str, float]
    my_mark: Mark | None
    their_mark: Mark | None


class InvestorMatch(BaseModel):
    """An investor person as a start-up browses them."""

    user_id: int
    name: str
    firm_id: int
    firm_name: str
    country: str
    investor_type: str
    fit: float
    gate: str | None
    why: list[str]
    my_mark: Mark | None
    their_mark: Mark | None


class MarkIn(RequestModel):
    counterpart_id: int = Field(
        ge=1,
        le=2**31 - 1,
        description="The start-up (for investors) or investor person (for start-ups)",
    )
    mark: Mark | None = Field(description="null clears the mark")


class UnavailableIn(RequestModel):
    slot_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        max_length=1000, description="Every slot you cannot meet in"
    )


class MeetingRequestIn(RequestModel):
    counterpart_id: int = Field(
        ge=1,
        le=2**31 - 1,
        description="The start-up (for investors) or investor person (for start-ups)",
    )
    slot_id: int = Field(ge=1, le=2**31 - 1)
    message: str = Field(default="", max_length=1000)


class RescheduleIn(RequestModel):
    slot_id: int = Field(ge=1, le=2**31 - 1)


class MoveIn(RequestModel):
    slot_id: int = Field(ge=1, le=2**31 - 1)
    table_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ScheduleRunIn(RequestModel):
    redo: bool = Field(
        default=False, description="Redo every scheduled meeting, not only fill free slots"
    )


class ScheduleVersionOut(BaseModel):
    id: int
    number: int
    status: str
    meetings: int
    value: float
    bound: float
    created_at: datetime
    published_at: datetime | None


class MeetingOut(BaseModel):
    id: int
    status: MeetingStatus
    source: str
    published: bool = Field(description="Seen by its participants (requests, or a published run)")
    slot_id: int
    starts_at: datetime
    ends_at: datetime
    table_id: int
    table_label: str
    investor_id: int
    investor_name: str
    firm_id: int
    firm_name: str
    startup_id: int
    startup_name: str
    requester_side: str
    message: str
    expires_at: datetime | None
    sequence: int


class ChangeRequestIn(RequestModel):
    kind: Literal["swap", "drop"]
    note: str = Field(default="", max_length=1000)


class ChangeRequestOut(BaseModel):
    id: int
    meeting_id: int
    person_id: int
    person_name: str
    investor_name: str
    startup_name: str
    starts_at: datetime
    kind: str
    note: str
    status: str
    created_at: datetime


class FeedbackIn(RequestModel):
    happened: bool
    interest: Interest = "none"


class FeedbackOut(BaseModel):
    meeting_id: int
    side: str
    happened: bool
    interest: str


class FeedLinkOut(BaseModel):
    url: str = Field(description="Your private calendar feed; anyone with it can read it")


class ReportSummary(BaseModel):
    meetings: int = Field(description="Accepted meetings whose slot has started")
    held: int
    no_shows: int
    no_show_rate: float
    follow_ups: int


class ReportRow(BaseModel):
    kind: Literal["investor", "startup"]
    id: int
    name: str
    meetings: int
    held: int
    no_shows: int
    follow_ups: int


class UnavailableOut(BaseModel):
    slot_ids: list[int]


class NextMeetingOut(BaseModel):
    meeting: MeetingOut | None
