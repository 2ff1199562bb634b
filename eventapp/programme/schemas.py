from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from eventapp.params import RequestModel

Kind = Literal["pitch", "keynote", "panel", "break", "ceremony"]
Status = Literal["planned", "running", "done", "cancelled", "no_show"]
ActionKind = Literal[
    "start_next", "end", "extend", "delay", "move", "swap", "no_show", "insert_break", "cancel"
]
Minutes = Field(ge=0, le=600)
RowRef = Field(ge=1, le=2**31 - 1)


class StartupOut(BaseModel):
    """The start-up behind a pitch, as screens show it."""

    organisation_id: int
    name: str
    country: str
    one_liner: str
    logo_url: str | None


class ItemOut(BaseModel):
    """An item with its plan, what happened, and where it stands now (`projected_*`, null for a
    cancelled item or a no-show)."""

    id: int
    stage_id: int
    day: date
    position: int
    kind: Kind
    title: str
    description: str
    startup: StartupOut | None
    planned_start: datetime
    planned_end: datetime
    planned_minutes: int
    pitch_minutes: int
    qa_minutes: int
    absorbs_delay: bool
    min_minutes: int
    status: Status
    actual_start: datetime | None
    actual_end: datetime | None
    extra_minutes: int
    delay_minutes: int
    projected_start: datetime | None
    projected_end: datetime | None


class StageRef(BaseModel):
    id: int
    name: str


class CurrentItem(BaseModel):
    stage_id: int
    day: date
    item_id: int


class ProgrammeOut(BaseModel):
    """The whole programme now: what a screen needs to draw itself, at one `version`."""

    version: int
    released: int = Field(description="The latest released version's number (0: none yet)")
    timezone: str
    stages: list[StageRef]
    days: list[date]
    items: list[ItemOut]
    current: list[CurrentItem]
    server_time: datetime


class ItemIn(RequestModel):
    """A new item. A pitch takes `pitch_minutes` + `qa_minutes`; any other kind `minutes`."""

    stage_id: int = RowRef
    day: date
    kind: Kind
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    organisation_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    planned_start: AwareDatetime
    minutes: int = Field(default=0, ge=0, le=600)
    pitch_minutes: int = Field(default=0, ge=0, le=600)
    qa_minutes: int = Field(default=0, ge=0, le=600)
    absorbs_delay: bool = False
    min_minutes: int = Field(default=0, ge=0, le=600)

    @model_validator(mode="after")
    def _length(self) -> ItemIn:
        total = self.pitch_minutes + self.qa_minutes if self.kind == "pitch" else self.minutes
        if total < 1:
            raise ValueError("An item lasts at least a minute.")
        return self


class ItemPatch(RequestModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    planned_start: AwareDatetime | None = None
    minutes: int | None = Field(default=None, ge=1, le=600)
    pitch_minutes: int | None = Field(default=None, ge=0, le=600)
    qa_minutes: int | None = Field(default=None, ge=0, le=600)
    absorbs_delay: bool | None = None
    min_minutes: int | None = Field(default=None, ge=0, le=600)


class GenerateIn(RequestModel):
    """Lay out pitches for the participating start-ups on one stage and day."""

    stage_id: int = RowRef
    day: date
    starts_at: time = Field(description="Local time in the event's time zone")
    group_by: Literal["sector", "country", "none"] = "country"
    pitch_minutes: int = Field(default=5, ge=1, le=120)
    qa_minutes: int = Field(default=3, ge=0, le=120)
    gap_minutes: int = Field(default=0, ge=0, le=60)
    break_every: int = Field(default=0, ge=0, le=100, description="A break after every N pitches")
    break_minutes: int = Field(default=15, ge=1, le=240)
    organisation_ids: list[int] | None = Field(
        default=None, max_length=500, description="Only these start-ups (default: all)"
    )
    replace: bool = Field(default=False, description="Drop the stage-day's planned items first")


class ActionIn(RequestModel):
    """A stage action, made against the programme `version` the console shows."""

    version: int = Field(ge=0, le=2**31 - 1)
    stage_id: int = RowRef
    day: date
    action: ActionKind
    item_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    other_item_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    minutes: int | None = Field(default=None, ge=1, le=240)
    position: int | None = Field(default=None, ge=0, le=1000)


class UndoIn(RequestModel):
    version: int = Field(ge=0, le=2**31 - 1)


class ReleaseIn(RequestModel):
    note: str = Field(default="", max_length=2000)


class ChangeEntry(BaseModel):
    item_id: int
    title: str
    planned_start: datetime | None = None
    was: datetime | None = None


class Changelog(BaseModel):
    new: list[ChangeEntry]
    moved: list[ChangeEntry]
    cancelled: list[ChangeEntry]


class ReleaseOut(BaseModel):
    number: int
    programme_version: int
    note: str
    released_at: datetime
    changelog: Changelog


class ActionOut(BaseModel):
    """Who did what on which stage, and when."""

    version: int
    kind: str
    stage_id: int
    day: date
    item_id: int | None
    minutes: int | None
    actor_id: int | None
    acted_at: datetime
    undone: bool
