"""Check-in counts on the live hub: the organisers' and door staff's dashboards follow the doors.

A door may scan a thousand tickets a minute, and the counts are a few aggregate queries, so they
are not recomputed per scan: the first scan after a quiet moment schedules one announcement
`ANNOUNCE_EVERY_S` later, which every scan in between joins. Each process announces at most that
often per event, whatever the rate of scans; a dashboard is at most that late.
"""

from __future__ import annotations

import asyncio
import logging

from eventapp.live.hub import event_topic, hub
from eventapp.tickets.service import checkin_counts

log = logging.getLogger("eventapp.tickets")

ANNOUNCE_EVERY_S = 1.0

_pending: dict[int, asyncio.Task] = {}


def counts_changed(event_id: int) -> None:
    """After a check-in (or its undo) committed: the dashboards hear the new counts shortly."""
    if event_id not in _pending:
        _pending[event_id] = asyncio.get_running_loop().create_task(_announce(event_id))


async def _announce(event_id: int) -> None:
    try:
        await asyncio.sleep(ANNOUNCE_EVERY_S)
        del _pending[event_id]  # a scan from now on schedules the next announcement
        counts = await checkin_counts(event_id)
        # Each message is the whole state, so it carries no version (nothing to resync).
        await hub.publish(event_topic(event_id, "checkins"), {"counts": counts})
    except asyncio.CancelledError:
        _pending.pop(event_id, None)
        raise
    except Exception:  # noqa: BLE001 - the next scan announces again; dashboards also reconnect
        _pending.pop(event_id, None)
        log.exception("Could not announce the check-in counts of event %s", event_id)


async def counts_snapshot(event_id: int) -> dict:
    return {"version": 0, "counts": await checkin_counts(event_id)}


hub.provide("event", "checkins", counts_snapshot)
