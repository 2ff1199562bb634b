"""Calls arriving together are handled together, each caller getting its own answer."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventapp.batching import ALONE, Batcher, chains
from eventapp.errors import Unavailable


async def test_calls_of_one_moment_share_a_batch_and_each_gets_its_own_answer():
    batches: list[list[int]] = []

    async def run(items: list[int]) -> list:
        batches.append(items)
        await asyncio.sleep(0.01)  # the database's round trips: later calls gather meanwhile
        return [ValueError(item) if item % 5 == 0 else item * 10 for item in items]

    batcher: Batcher[int, int] = Batcher(run)
    first = await asyncio.gather(*(batcher.submit(n) for n in range(1, 5)))
    assert first == [10, 20, 30, 40] and batches == [[1, 2, 3, 4]]
    calls = [asyncio.ensure_future(batcher.submit(n)) for n in (5, 6)]
    await asyncio.sleep(0)  # 5 and 6 are in flight; 7 and 8 gather behind them
    later = [asyncio.ensure_future(batcher.submit(n)) for n in (7, 8)]
    outcomes = await asyncio.gather(*calls, *later, return_exceptions=True)
    assert isinstance(outcomes[0], ValueError) and outcomes[1:] == [60, 70, 80]
    assert batches[1:] == [[5, 6], [7, 8]]


async def test_a_batch_that_raises_is_every_callers_error_and_the_next_goes_on():
    async def run(items: list[str]) -> list:
        if "boom" in items:
            raise RuntimeError("the connection went away")
        return items

    batcher: Batcher[str, str] = Batcher(run)
    outcomes = await asyncio.gather(
        batcher.submit("a"), batcher.submit("boom"), return_exceptions=True
    )
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)
    assert await batcher.submit("b") == "b"


@pytest.mark.parametrize("when", ["before it began", "while it ran"])
async def test_a_batch_cancelled_at_shutdown_tells_its_callers_to_retry(when):
    started = asyncio.Event()

    async def run(items: list[int]) -> list:
        started.set()
        await asyncio.sleep(10)
        return items

    batcher: Batcher[int, int] = Batcher(run)
    call = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0)
    if when == "while it ran":
        await started.wait()
    for task in list(batcher._running):
        task.cancel()  # as a shutdown cancels what is left
    with pytest.raises(Unavailable):
        await asyncio.wait_for(call, 1)

    async def quick(items: list[int]) -> list:
        return items

    batcher._run = quick
    assert await asyncio.wait_for(batcher.submit(2), 1) == 2  # nothing is left stuck


async def test_with_two_lanes_a_second_batch_runs_while_the_first_waits():
    release = asyncio.Event()
    batches: list[list[int]] = []

    async def run(items: list[int]) -> list:
        batches.append(items)
        if items[0] == 1:
            await release.wait()  # the first batch waits on the database
        return items

    batcher: Batcher[int, int] = Batcher(run, lanes=2)
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.01)
    assert await asyncio.wait_for(batcher.submit(2), 1) == 2  # not held up behind the first
    release.set()
    assert await first == 1 and batches == [[1], [2]]


async def test_an_item_whose_key_is_in_flight_waits_for_that_batch_and_keeps_its_order():
    """Scans of one ticket never sit in two batches at once (they would lock each other out),
    and a later scan of it never overtakes an earlier one."""
    release = asyncio.Event()
    batches: list[list[tuple[str, int]]] = []

    async def run(items: list[tuple[str, int]]) -> list:
        batches.append(items)
        if ("a", 1) in items:
            await release.wait()
        return items

    batcher: Batcher[tuple[str, int], tuple[str, int]] = Batcher(
        run, lanes=2, keys=lambda item: (item[0],)
    )
    first = asyncio.ensure_future(batcher.submit(("a", 1)))
    await asyncio.sleep(0.01)  # ("a", 1) is in flight
    later = [asyncio.ensure_future(batcher.submit(item)) for item in (("a", 2), ("b", 1))]
    await asyncio.sleep(0.01)
    assert batches == [[("a", 1)], [("b", 1)]]  # "b" went ahead, the second "a" waits
    release.set()
    await asyncio.wait_for(asyncio.gather(first, *later), 1)
    assert batches[2] == [("a", 2)]


async def test_a_waiting_item_holds_back_later_items_that_share_a_key_with_it():
    release = asyncio.Event()
    batches: list[list[str]] = []

    async def run(items: list[str]) -> list:
        batches.append(items)
        if "x" in items:
            await release.wait()
        return items

    keys = {"x": ("t1",), "y": ("t1", "n1"), "z": ("n1",), "w": ("t9",)}
    batcher: Batcher[str, str] = Batcher(run, lanes=2, keys=keys.__getitem__)
    first = asyncio.ensure_future(batcher.submit("x"))
    await asyncio.sleep(0.01)
    later = [asyncio.ensure_future(batcher.submit(item)) for item in "yzw"]
    await asyncio.sleep(0.01)
    # y waits for x (ticket t1); z shares y's nonce n1, so it waits behind y; w is free.
    assert batches == [["x"], ["w"]]
    release.set()
    await asyncio.wait_for(asyncio.gather(first, *later), 1)
    assert batches[2] == ["y", "z"]


async def test_items_a_batch_could_not_handle_run_alone_while_the_lane_goes_on():
    """A failed batch's items are run one by one, those sharing a key in arrival order, each
    keeping its key until it is answered; the lane meanwhile takes the next batch."""
    gates = {"a1": asyncio.Event()}
    ran: list[str] = []

    async def run(items: list[str]) -> list:
        return [ALONE if item.startswith("a") or item == "b" else item for item in items]

    async def alone(item: str) -> str:
        if item in gates:
            await gates[item].wait()  # waiting for a lock held elsewhere
        ran.append(item)
        return item.upper()

    batcher: Batcher[str, str] = Batcher(run, lanes=1, keys=lambda item: (item[0],), alone=alone)
    first = [asyncio.ensure_future(batcher.submit(item)) for item in ("a1", "a2", "b")]
    await asyncio.sleep(0.01)
    assert first[2].done() and first[2].result() == "B"  # not held up behind a1
    later = asyncio.ensure_future(batcher.submit("c"))  # the lane is free for the next batch
    same_key = asyncio.ensure_future(batcher.submit("a3"))  # waits: a1 and a2 hold "a"
    assert await asyncio.wait_for(later, 1) == "c"
    await asyncio.sleep(0.01)
    assert not same_key.done() and ran == ["b"]
    gates["a1"].set()
    assert await asyncio.wait_for(asyncio.gather(*first[:2], same_key), 1) == ["A1", "A2", "A3"]
    assert ran == ["b", "a1", "a2", "a3"]


@given(st.lists(st.frozensets(st.integers(0, 8), max_size=3), max_size=12))
def test_chains_put_items_sharing_a_key_together_in_order(keys):
    groups = chains(keys)
    assert sorted(at for group in groups for at in group) == list(range(len(keys)))
    assert all(group == sorted(group) for group in groups)
    group_of = {at: number for number, group in enumerate(groups) for at in group}
    for one, other in itertools.combinations(range(len(keys)), 2):
        if keys[one] & keys[other]:
            assert group_of[one] == group_of[other]
    for group in groups:  # and nothing more: each group is connected through shared keys
        reached, frontier = {group[0]}, [group[0]]
        while frontier:
            at = frontier.pop()
            for other in group:
                if other not in reached and keys[at] & keys[other]:
                    reached.add(other)
                    frontier.append(other)
        assert reached == set(group)


async def test_an_item_interrupted_on_its_own_is_told_to_retry_and_frees_its_key():
    """`alone` raising CancelledError while nothing is shutting down (a future it awaited was
    cancelled): its caller hears 503, and the next item of that key goes at once."""

    async def run(items: list[str]) -> list:
        return [ALONE if item == "a1" else item for item in items]

    release = asyncio.Event()

    async def alone(item: str) -> str:
        await release.wait()
        raise asyncio.CancelledError

    batcher: Batcher[str, str] = Batcher(run, keys=lambda item: (item[0],), alone=alone)
    first = asyncio.ensure_future(batcher.submit("a1"))
    await asyncio.sleep(0.01)  # a1 is run alone, and holds "a"
    second = asyncio.ensure_future(batcher.submit("a2"))
    await asyncio.sleep(0.01)  # a2 waits for "a"
    release.set()
    with pytest.raises(Unavailable):
        await asyncio.wait_for(first, 1)
    assert await asyncio.wait_for(second, 1) == "a2"


async def test_a_batch_answered_with_something_not_a_list_is_every_items_error_and_frees_keys():
    async def broken(items: list[str]) -> list:
        return None  # type: ignore[return-value]

    batcher: Batcher[str, str] = Batcher(broken, keys=lambda item: ("k",))
    outcomes = await asyncio.wait_for(
        asyncio.gather(batcher.submit("a"), batcher.submit("b"), return_exceptions=True), 1
    )
    assert all(isinstance(outcome, TypeError) for outcome in outcomes)
    assert batcher._busy == {}

    async def fine(items: list[str]) -> list:
        return items

    batcher._run = fine
    assert await asyncio.wait_for(batcher.submit("c"), 1) == "c"  # the key is free again
