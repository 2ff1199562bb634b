"""Request and response bodies of applications, nominations and the call."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Literal

import pycountry
from pydantic import AfterValidator, BaseModel, EmailStr, Field, WithJsonSchema, model_validator

from eventapp.applications.states import State
from eventapp.params import RequestModel

ASEAN = ("BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN")
"""The ten ASEAN members, listed first in the form's country choice."""

DEFAULT_SECTORS = (
    "Agritech",
    "Cleantech",
    "Edtech",
    "E-commerce",
    "Fintech",
    "Healthtech",
    "Logistics",
    "Proptech",
    "AI and data",
    "Deep tech",
    "Media and creative",
    "Travel and hospitality",
)

DEFAULT_WOMEN_LED = (
    "A start-up is women-led when at least one woman is a founder and holds a chief executive or "
    "equivalent leading role, or women own at least half of the company."
)


class Stage(StrEnum):
    idea = "idea"
    pre_seed = "pre_seed"
    seed = "seed"
    series_a = "series_a"
    series_b_plus = "series_b_plus"


@cache
def countries() -> list[tuple[str, str]]:
    """ISO 3166 countries as (alpha-2, name): the ten ASEAN members first, then the rest by name."""
    by_code = {country.alpha_2: country.name for country in pycountry.countries}
    first = [(code, by_code[code]) for code in ASEAN]
    rest = sorted(
        ((code, name) for code, name in by_code.items() if code not in ASEAN),
        key=lambda pair: pair[1],
    )
    return first + rest


@cache
def country_codes() -> frozenset[str]:
    return frozenset(code for code, _ in countries())


def _known_country(code: str) -> str:
    if code not in country_codes():
        raise ValueError(f"{code} is not an ISO 3166 alpha-2 country code")
    return code


# An ISO 3166 alpha-2 code; the schema's pattern lists them (an enum would name them too, at
# twice the size in every generated client).
CountryCode = Annotated[
    str,
    AfterValidator(_known_country),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^(" + "|".join(sorted(code for code, _ in countries())) + ")$",
            "description": "ISO 3166 alpha-2; see the call's `countries` (ASEAN first)",
        }
    ),
]

Text140 = Annotated[str, Field(max_length=140)]
Url = Annotated[str, Field(max_length=300, pattern=r"^(https?://[^\s]+)?$")]


class Founder(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(default="", max_length=100)


class ApplicationFields(RequestModel):
    """The form. Every field is optional in a draft; submitting checks that the required ones are
    there (`service.missing_fields`), so a start-up can save half a form and come back."""

    company_name: str | None = Field(default=None, max_length=200)
    country: CountryCode | None = None
    sectors: list[Annotated[str, Field(max_length=60)]] | None = Field(
        default=None,
        max_length=3,
        description="From the call's `sectors`, at most three, each once (409 otherwise)",
        json_schema_extra={"uniqueItems": True},
    )
    stage: Stage | None = None
    year_founded: int | None = Field(default=None, ge=1900, le=2100)
    team_size: int | None = Field(default=None, ge=1, le=100_000)
    women_led: bool | None = Field(
        default=None, description="Self-declared; the call's `women_led_definition` applies"
    )
    founders: list[Founder] | None = Field(default=None, max_length=10)
    one_liner: Text140 | None = Field(default=None, description="The pitch in one line")
    description: str | None = Field(default=None, max_length=5000)
    traction: str | None = Field(default=None, max_length=3000)
    funding_sought_usd: int | None = Field(default=None, ge=0, le=10**12)
    website: Url | None = None
    deck_url: Url | None = None
    contact_email: EmailStr | None = Field(default=None, max_length=320)


class ApplicationCreate(ApplicationFields):
    """A new draft; through an incubator's nomination code when the call is not open to all."""

    nomination_code: str | None = Field(default=None, min_length=1, max_length=64)


class ApplicationStart(RequestModel):
    """Start a draft without an account: a link to it is mailed to `contact_email`."""

    contact_email: EmailStr = Field(max_length=320)
    company_name: str = Field(min_length=1, max_length=200)
    nomination_code: str | None = Field(default=None, min_length=1, max_length=64)


class ResumeLinkRequest(RequestModel):
    email: str = Field(min_length=1, max_length=320)


class ResumeToken(RequestModel):
    token: str = Field(min_length=1, max_length=200)


class Accepted(BaseModel):
    detail: str


class ApplicationOut(BaseModel):
    """An application as its start-up and the organisers see it."""

    id: int
    state: State
    pending_decision: State | None = Field(
        default=None, description="An organiser's decision not yet released (organisers only)"
    )
    organisation_id: int | None
    incubator_id: int | None
    incubator_name: str | None
    nominated: bool = Field(description="Made through an incubator's nomination code")
    company_name: str
    country: str
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
    website: str
    deck_url: str
    contact_email: str
    logo_url: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None


class StateChangeOut(BaseModel):
    id: int
    from_state: State | None
    to_state: State
    actor_id: int | None
    actor_name: str | None
    at: datetime


class DecisionIn(RequestModel):
    decision: Literal["accepted", "waitlisted", "rejected"] | None = Field(
        description="Pending until released; null clears it"
    )


class Released(BaseModel):
    released: int = Field(description="How many decisions were applied and mailed")


class CallIn(RequestModel):
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    open_to_all: bool = False
    sectors: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        default_factory=lambda: list(DEFAULT_SECTORS),
        min_length=1,
        max_length=40,
        json_schema_extra={"uniqueItems": True},
    )
    women_led_definition: str = Field(default=DEFAULT_WOMEN_LED, max_length=1000)

    @model_validator(mode="after")
    def sensible(self) -> CallIn:
        if self.opens_at and self.closes_at and self.opens_at >= self.closes_at:
            raise ValueError("opens_at must be before closes_at")
        for moment in (self.opens_at, self.closes_at):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("times need an offset (or Z)")
        if len(set(self.sectors)) != len(self.sectors):
            raise ValueError("each sector may appear once")
        return self


class CountryOut(BaseModel):
    code: str
    name: str


class CallOut(BaseModel):
    """What the application form needs: the window, who may apply, the choices offered."""

    opens_at: datetime | None
    closes_at: datetime | None
    open_to_all: bool
    is_open: bool = Field(description="Submissions are accepted now")
    sectors: list[str]
    stages: list[str]
    women_led_definition: str
    countries: list[CountryOut] = Field(description="ISO 3166, the ten ASEAN members first")


class IncubatorIn(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    country: CountryCode
    city: str = Field(default="", max_length=100)
    website: Url = ""
    contact_name: str = Field(default="", max_length=200)
    contact_email: EmailStr | Literal[""] = ""


class IncubatorOut(BaseModel):
    id: int = Field(description="The incubator's organisation id")
    name: str
    country: str
    city: str
    website: str
    contact_name: str
    contact_email: str
    nominated: int = Field(description="Applications made through its codes")


class NominationCodeIn(RequestModel):
    incubator_id: int = Field(ge=1, le=2**31 - 1)
    cap: int = Field(default=5, ge=1, le=1000)
    label: str = Field(default="", max_length=100)


class NominationCodeOut(BaseModel):
    id: int
    incubator_id: int
    incubator_name: str
    hint: str = Field(description="The code's first characters, to tell codes apart")
    label: str
    cap: int
    used: int
    created_at: datetime
    revoked_at: datetime | None


class NominationCodeCreated(NominationCodeOut):
    code: str = Field(description="Shown once: only its hash is kept")
    link: str = Field(description="The application form with the code filled in")


class NominationCheck(RequestModel):
    code: str = Field(min_length=1, max_length=64)


class NominationCheckOut(BaseModel):
    incubator_name: str
    incubator_country: str
    remaining: int


class NominationsImport(RequestModel):
    """An incubator's spreadsheet, saved as CSV (UTF-8): company_name, contact_email, country
    (ISO alpha-2), and optionally sectors (separated by ';'), one_liner, website, women_led."""

    code_id: int = Field(ge=1, le=2**31 - 1, description="The incubator's nomination code")
    csv: str = Field(min_length=1, max_length=500_000)


class ImportRowRefused(BaseModel):
    row: int = Field(description="The record in the file (the header is record 1)")
    reasons: list[str]


class ImportReport(BaseModel):
    imported: int
    application_ids: list[int]
