"""The schedule arithmetic of a stage-day (eventapp/programme/schedule.py): pure, no database."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventapp.programme import schedule
from eventapp.programme.schedule import Item, ScheduleError, project

NINE = datetime(2027, 3, 18, 1, 0, tzinfo=UTC)  # 09:00 in Singapore


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def day(*lengths: int, gap: int = 0, kinds: tuple[str, ...] = ()) -> list[Item]:
    laid = schedule.lay_out(lengths, NINE, gap)
    return [
        Item(
            id=i + 1,
            kind=kinds[i] if i < len(kinds) else "pitch",
            planned_start=s,
            planned_minutes=m,
        )
        for i, (s, m) in enumerate(laid)
    ]


def starts(items, now=None):
    return [p.start for p in project(items, now)]


# --------------------------------------------------------------------------------------------------
# Every stage action, as an organiser would use it


def test_an_untouched_day_runs_as_planned():
    items = day(10, 10, 15, gap=5)
    assert starts(items) == [NINE, NINE + minutes(15), NINE + minutes(30)]


def test_start_next_ends_the_running_item_and_starts_the_next():
    items = schedule.start_next(day(10, 10), NINE)
    assert items[0].status == "running" and items[0].actual_start == NINE
    items = schedule.start_next(items, NINE + minutes(12))
    assert items[0].status == "done" and items[0].actual_end == NINE + minutes(12)
    assert items[1].status == "running"
    items = schedule.end_current(items, NINE + minutes(20))
    with pytest.raises(ScheduleError) as refused:
        schedule.start_next(items, NINE + minutes(21))
    assert refused.value.reason == "nothing_to_start"


def test_an_overrun_pushes_every_later_item():
    items = schedule.start_next(day(10, 10, 10), NINE)
    assert starts(items, NINE + minutes(14))[1:] == [NINE + minutes(14), NINE + minutes(24)]


def test_extend_lengthens_the_running_item():
    items = schedule.extend(schedule.start_next(day(10, 10), NINE), 5)
    assert items[0].extra_minutes == 5
    assert starts(items, NINE)[1] == NINE + minutes(15)
    with pytest.raises(ScheduleError) as refused:
        schedule.extend(day(10), 1)
    assert refused.value.reason == "no_current_item"


def test_end_needs_a_running_item():
    with pytest.raises(ScheduleError) as refused:
        schedule.end_current(day(10), NINE)
    assert refused.value.reason == "no_current_item"


def test_delay_moves_everything_after_the_current_item():
    items = schedule.start_next(day(10, 10, 10, gap=5), NINE)
    items = schedule.delay(items, 7)
    assert starts(items, NINE)[1:] == [NINE + minutes(22), NINE + minutes(37)]


def test_a_break_absorbs_a_delay_down_to_its_minimum():
    items = day(10, 20, 10, kinds=("pitch", "break", "pitch"))
    items[1] = schedule.replace(items[1], absorbs_delay=True, min_minutes=10)
    items = schedule.start_next(items, NINE)
    items = schedule.delay(items, 8)
    projected = project(items, NINE)
    assert projected[1].start == NINE + minutes(18)
    assert projected[2].start == NINE + minutes(30)  # back on time
    items = schedule.delay(items, 8)  # 16 minutes late: the break can win back only 10
    assert project(items, NINE)[2].start == NINE + minutes(36)


def test_no_show_frees_its_time_and_only_a_pitch_can_be_one():
    items = day(10, 10, 10, kinds=("pitch", "pitch", "panel"))
    items = schedule.no_show(items, 2)
    projected = project(items)
    assert projected[1] == schedule.Projection(None, None)
    assert projected[2].start == NINE + minutes(20)  # not pulled forward by itself
    with pytest.raises(ScheduleError) as refused:
        schedule.no_show(items, 3)
    assert refused.value.reason == "not_a_pitch"


def test_a_started_item_cannot_be_cancelled_moved_or_marked_absent():
    items = schedule.start_next(day(10, 10), NINE)
    for act in (
        lambda: schedule.cancel(items, 1),
        lambda: schedule.no_show(items, 1),
        lambda: schedule.swap(items, 1, 2),
    ):
        with pytest.raises(ScheduleError) as refused:
            act()
        assert refused.value.reason == "item_not_planned"


def test_cancel_takes_an_item_out():
    items = schedule.cancel(day(10, 10), 1)
    assert items[0].status == "cancelled" and project(items)[0].start is None


def test_swap_exchanges_two_items_in_the_same_slots():
    items = schedule.swap(day(10, 20, 10, gap=5), 1, 2)
    assert [item.id for item in items] == [2, 1, 3]
    assert starts(items) == [NINE, NINE + minutes(25), NINE + minutes(40)]


def test_move_puts_an_item_at_a_position_among_those_to_come():
    items = schedule.start_next(day(10, 10, 10, 10), NINE)
    items = schedule.move(items, 4, 0)
    assert [item.id for item in items] == [1, 4, 2, 3]
    with pytest.raises(ScheduleError) as refused:
        schedule.move(items, 2, 5)
    assert refused.value.reason == "bad_position"


def test_insert_break_after_the_current_item_pushes_the_rest():
    items = schedule.start_next(day(10, 10, 10), NINE)
    template = Item(id=None, kind="break", planned_start=NINE, planned_minutes=0)
    items = schedule.insert_break(items, 15, template)
    assert [item.kind for item in items] == ["pitch", "break", "pitch", "pitch"]
    assert starts(items, NINE)[1:] == [NINE + minutes(10), NINE + minutes(25), NINE + minutes(35)]


# --------------------------------------------------------------------------------------------------
# Properties on random days and random sequences of actions


lengths = st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=8)
action = st.tuples(
    st.sampled_from(
        ["start", "end", "extend", "delay", "no_show", "cancel", "move", "swap", "break"]
    ),
    st.integers(min_value=0, max_value=40),  # minutes that pass before it
    st.integers(min_value=0, max_value=20),  # an argument
    st.integers(min_value=0, max_value=20),
)


def _apply(items, kind, now, a, b):
    ids = [item.id for item in items]
    pick = ids[a % len(ids)]
    if kind == "start":
        return schedule.start_next(items, now)
    if kind == "end":
        return schedule.end_current(items, now)
    if kind == "extend":
        return schedule.extend(items, 1 + a % 5)
    if kind == "delay":
        return schedule.delay(items, a)
    if kind == "no_show":
        return schedule.no_show(items, pick)
    if kind == "cancel":
        return schedule.cancel(items, pick)
    if kind == "move":
        return schedule.move(items, pick, b % 3)
    if kind == "swap":
        return schedule.swap(items, pick, ids[b % len(ids)])
    template = Item(id=100 + len(ids), kind="break", planned_start=now, planned_minutes=0)
    return schedule.insert_break(items, 1 + a, template)


def _play(items, actions, absorbing: bool):
    if absorbing:
        items = [
            schedule.replace(
                it, kind="break", absorbs_delay=True, min_minutes=it.planned_minutes // 2
            )
            if i % 3 == 2
            else it
            for i, it in enumerate(items)
        ]
    now = NINE - minutes(5)
    for kind, wait, a, b in actions:
        now += minutes(wait)
        with contextlib.suppress(ScheduleError):
            items = _apply(items, kind, now, a, b)
    return items, now


@settings(max_examples=300, deadline=None)
@given(lengths, st.integers(0, 10), st.lists(action, max_size=25), st.booleans())
def test_projected_items_never_overlap_and_never_start_early(lens, gap, actions, absorbing):
    items, now = _play(day(*lens, gap=gap), actions, absorbing)
    projected = project(items, now)
    taking_time = [(item, p) for item, p in zip(items, projected, strict=True) if p.start]
    for (_, earlier), (_, later) in zip(taking_time, taking_time[1:], strict=False):
        assert later.start >= earlier.end
    for item, p in taking_time:
        assert p.end >= p.start
        if p.start < item.planned_start:
            assert item.actual_start is not None  # only an organiser pulls an item forward
        if item.actual_start is None:
            assert p.start >= min(item.planned_start, now) or p.start >= item.planned_start


@settings(max_examples=200, deadline=None)
@given(lengths, st.integers(0, 10), st.lists(st.integers(0, 30), min_size=1, max_size=5))
def test_delays_add_up(lens, gap, delays):
    items = day(*lens, gap=gap)
    for extra in delays:
        items = schedule.delay(items, extra)
    total = minutes(sum(delays))
    planned = [item.planned_start for item in items]
    assert starts(items, NINE - minutes(1)) == [start + total for start in planned]


@settings(max_examples=200, deadline=None)
@given(lengths, st.lists(st.integers(0, 30), min_size=1, max_size=5))
def test_a_delay_after_the_current_item_moves_only_the_later_ones(lens, delays):
    items = schedule.start_next(day(*lens, 10), NINE)
    for extra in delays:
        items = schedule.delay(items, extra)
    projected = starts(items, NINE)
    assert projected[0] == NINE
    later = [item.planned_start + minutes(sum(delays)) for item in items[1:]]
    assert projected[1:] == later


@settings(max_examples=200, deadline=None)
@given(lengths, st.integers(0, 10), st.lists(action, max_size=20))
def test_actions_keep_every_item_and_at_most_one_running(lens, gap, actions):
    original = day(*lens, gap=gap)
    items, _ = _play(original, actions, absorbing=False)
    assert {item.id for item in original} <= {item.id for item in items}
    assert sum(item.status == "running" for item in items) <= 1
