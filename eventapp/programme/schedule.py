"""The schedule arithmetic of one stage on one day, pure: no database, no clock of its own.

A stage-day is an ordered list of `Item`s, each with a planned start and length. What happened on
the day (an item started or ended, was extended, a delay was announced, a pitch was a no-show)
is recorded on the items themselves, and `project(items, now)` derives where every item stands:

- an item that has started keeps its actual start; one that has ended keeps its actual end;
- the running item ends no earlier than its planned length (plus extensions) and, once it
  overruns, no earlier than `now`: an overrun pushes every later item;
- an item not yet started starts no earlier than its planned start plus every delay announced
  before it, no earlier than the previous item's end, and (if the day is under way) not in the
  past; so projected items never overlap on one stage and never start before their planned time
  unless an organiser started them early;
- a break marked `absorbs_delay` shrinks (down to `min_minutes`) to win back lateness, delays
  included, and the items after it are back on their planned times when it could absorb it all;
- cancelled items and no-shows take no time.

The stage actions (`start_next`, `end_current`, `extend`, `delay`, `move`, `swap`, `no_show`,
`cancel`, `insert_break`) are pure too: each takes the items and returns the new list, or raises
`ScheduleError` with a stable reason. The service loads a stage-day, applies one, and stores the
difference in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

KINDS = ("pitch", "keynote", "panel", "break", "ceremony")
SKIPPED = frozenset({"cancelled", "no_show"})
STATUSES = ("planned", "running", "done", "cancelled", "no_show")


class ScheduleError(Exception):
    """An action that does not apply to the stage as it stands; `reason` is stable."""

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Item:
    """One item of a stage-day as the arithmetic needs it (`id` None: not stored yet)."""

    id: int | None
    kind: str
    planned_start: datetime
    planned_minutes: int
    status: str = "planned"
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    extra_minutes: int = 0
    delay_minutes: int = 0
    absorbs_delay: bool = False
    min_minutes: int = 0

    @property
    def minutes(self) -> int:
        return self.planned_minutes + self.extra_minutes

    @property
    def planned_end(self) -> datetime:
        return self.planned_start + timedelta(minutes=self.planned_minutes)

    @property
    def skipped(self) -> bool:
        return self.status in SKIPPED


@dataclass(frozen=True, slots=True)
class Projection:
    """Where an item stands now: None for an item that takes no time (cancelled, no-show)."""

    start: datetime | None
    end: datetime | None


def project(items: Sequence[Item], now: datetime | None = None) -> list[Projection]:
    """Projected start and end of every item, in order (see the module's rules)."""
    out: list[Projection] = []
    offset = timedelta(0)  # announced delays carried forward (less what breaks absorbed)
    cursor: datetime | None = None  # the end of the previous item that takes time
    under_way = any(item.actual_start is not None for item in items)
    for item in items:
        offset += timedelta(minutes=item.delay_minutes)
        if item.skipped:
            out.append(Projection(None, None))
            continue
        length = timedelta(minutes=item.minutes)
        if item.actual_start is not None:
            start = item.actual_start
        else:
            start = item.planned_start + offset
            if cursor is not None and cursor > start:
                start = cursor
            if under_way and now is not None and now > start:
                start = now
        if item.actual_end is not None:
            end = item.actual_end
        elif item.actual_start is not None:
            end = max(start + length, now) if now is not None else start + length
        elif item.absorbs_delay:
            # A break ends on its planned end if it can, never shorter than its minimum; what
            # it wins back is taken off the delay carried to the items after it.
            planned_end = item.planned_start + length
            end = max(planned_end, start + timedelta(minutes=min(item.min_minutes, item.minutes)))
            offset = min(offset, end - planned_end)
        else:
            end = start + length
        out.append(Projection(start, end))
        cursor = end
    return out


def running_index(items: Sequence[Item]) -> int | None:
    for index, item in enumerate(items):
        if item.status == "running":
            return index
    return None


def next_index(items: Sequence[Item]) -> int | None:
    """The next item to start: the first planned one after everything started."""
    last_started = max(
        (i for i, item in enumerate(items) if item.actual_start is not None), default=-1
    )
    for index in range(last_started + 1, len(items)):
        if items[index].status == "planned":
            return index
    return None


def _with(items: Sequence[Item], index: int, **changes) -> list[Item]:
    out = list(items)
    out[index] = replace(out[index], **changes)
    return out


def _index_of(items: Sequence[Item], item_id: int) -> int:
    for index, item in enumerate(items):
        if item.id == item_id:
            return index
    raise ScheduleError("No such item on this stage and day.", "item_unknown")


def _must_be_planned(items: Sequence[Item], index: int) -> None:
    if items[index].status != "planned":
        raise ScheduleError(
            f"The item is {items[index].status.replace('_', ' ')}; only a planned item can change.",
            "item_not_planned",
        )


# --------------------------------------------------------------------------------------------------
# Stage actions


def start_next(items: Sequence[Item], now: datetime) -> list[Item]:
    """End the running item (if any) now and start the next planned one now."""
    upcoming = next_index(items)
    if upcoming is None:
        raise ScheduleError("Nothing is left to start on this stage today.", "nothing_to_start")
    out = list(items)
    running = running_index(out)
    if running is not None:
        out = _with(out, running, status="done", actual_end=max(now, out[running].actual_start))
    return _with(out, upcoming, status="running", actual_start=now)


def end_current(items: Sequence[Item], now: datetime) -> list[Item]:
    running = _require_running(items)
    return _with(items, running, status="done", actual_end=max(now, items[running].actual_start))


def extend(items: Sequence[Item], minutes: int) -> list[Item]:
    running = _require_running(items)
    return _with(items, running, extra_minutes=items[running].extra_minutes + minutes)


def delay(items: Sequence[Item], minutes: int) -> list[Item]:
    """Delay everything after the running item (or from the next one) by `minutes`."""
    upcoming = next_index(items)
    if upcoming is None:
        raise ScheduleError("Nothing is left to delay on this stage today.", "nothing_to_delay")
    return _with(items, upcoming, delay_minutes=items[upcoming].delay_minutes + minutes)


def no_show(items: Sequence[Item], item_id: int) -> list[Item]:
    index = _index_of(items, item_id)
    _must_be_planned(items, index)
    if items[index].kind != "pitch":
        raise ScheduleError("Only a pitch can be a no-show.", "not_a_pitch")
    return _with(items, index, status="no_show")


def cancel(items: Sequence[Item], item_id: int) -> list[Item]:
    index = _index_of(items, item_id)
    _must_be_planned(items, index)
    return _with(items, index, status="cancelled")


def move(items: Sequence[Item], item_id: int, to_position: int) -> list[Item]:
    """Move a planned item to `to_position` (0-based) among the items not started yet; the
    planned times of the items from there on follow the new order in the same slots."""
    index = _index_of(items, item_id)
    _must_be_planned(items, index)
    first_open = _first_open(items)
    target = first_open + to_position
    if to_position < 0 or target >= len(items):
        raise ScheduleError("That position is outside the items still to come.", "bad_position")
    out = list(items)
    moving = out.pop(index)
    out.insert(target, moving)
    return _relay(items, out, min(index, target))


def swap(items: Sequence[Item], item_id: int, other_id: int) -> list[Item]:
    first, second = sorted((_index_of(items, item_id), _index_of(items, other_id)))
    if first == second:
        raise ScheduleError("An item cannot swap with itself.", "bad_position")
    _must_be_planned(items, first)
    _must_be_planned(items, second)
    out = list(items)
    out[first], out[second] = out[second], out[first]
    return _relay(items, out, first)


def insert_break(
    items: Sequence[Item], minutes: int, template: Item, after_id: int | None = None
) -> list[Item]:
    """Insert a break (`template`, its times filled in here) after `after_id`, or after the
    running item, or before the next one; later planned times move by its length."""
    position = _index_of(items, after_id) + 1 if after_id is not None else _first_open(items)
    if position < _first_open(items):
        raise ScheduleError("A break cannot go before an item that has started.", "bad_position")
    if position < len(items):
        start = items[position].planned_start
    elif items:
        start = items[-1].planned_start + timedelta(minutes=items[-1].minutes)
    else:
        start = template.planned_start
    new = replace(template, planned_start=start, planned_minutes=minutes, status="planned")
    out = list(items)
    out.insert(position, new)
    shifted = timedelta(minutes=minutes)
    return [
        replace(item, planned_start=item.planned_start + shifted) if i > position else item
        for i, item in enumerate(out)
    ]


def _first_open(items: Sequence[Item]) -> int:
    """The index after the last item that has started (or ended)."""
    return 1 + max((i for i, item in enumerate(items) if item.actual_start is not None), default=-1)


def _require_running(items: Sequence[Item]) -> int:
    running = running_index(items)
    if running is None:
        raise ScheduleError("No item is running on this stage.", "no_current_item")
    return running


def _relay(before: Sequence[Item], after: list[Item], start_index: int) -> list[Item]:
    """Give the items from `start_index` on the planned slots of the old order: the first slot's
    start and every gap between slots stay, each item keeps its own length."""
    if start_index >= len(after):
        return after
    gaps = [timedelta(0)]
    for i in range(start_index + 1, len(before)):
        gaps.append(max(before[i].planned_start - before[i - 1].planned_end, timedelta(0)))
    clock = before[start_index].planned_start
    out = list(after[:start_index])
    for offset, item in enumerate(after[start_index:]):
        clock += gaps[offset] if offset else timedelta(0)
        out.append(replace(item, planned_start=clock))
        clock += timedelta(minutes=item.planned_minutes)
    return out


# --------------------------------------------------------------------------------------------------
# Generating a day


def lay_out(
    lengths: Sequence[int], start: datetime, gap_minutes: int = 0
) -> list[tuple[datetime, int]]:
    """Back-to-back planned starts for items of these lengths, `gap_minutes` between them."""
    out, clock = [], start
    for minutes in lengths:
        out.append((clock, minutes))
        clock += timedelta(minutes=minutes + gap_minutes)
    return out
