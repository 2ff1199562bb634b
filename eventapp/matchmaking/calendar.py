"""Meetings as iCalendar (RFC 5545), made with the icalendar library.

Calendars go wrong in two ways users report: stale events (a moved meeting still at its old
time) and duplicates. So each meeting has one stable UID for its whole life, its SEQUENCE rises
on every change (the meetings row counts them), and a meeting that is off stays in the feed as
STATUS:CANCELLED, so every calendar that saw it removes it. Times are in the event's time zone,
with its VTIMEZONE included.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

PRODID = "-//eventapp//meetings//EN"
STATUS = {"accepted": "CONFIRMED", "pending": "TENTATIVE"}


def uid_of(meeting_id: int) -> str:
    return f"meeting-{meeting_id}@eventapp"


def calendar_for(event: dict, meetings: list[dict], *, method: str = "PUBLISH") -> bytes:
    """One calendar of `meetings` (rows of `service.meeting_rows`) in `event`'s time zone."""
    zone = ZoneInfo(event.get("timezone") or "UTC")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    cal.add("x-wr-calname", f"{event['name']}: meetings")
    stamp = datetime.now(UTC)
    for row in meetings:
        item = Event()
        item.add("uid", uid_of(row["id"]))
        item.add("sequence", row["sequence"])
        item.add("dtstamp", stamp)
        item.add("dtstart", row["starts_at"].astimezone(zone))
        item.add("dtend", row["ends_at"].astimezone(zone))
        item.add(
            "summary", f"{row['startup_name']} meets {row['investor_name']} ({row['firm_name']})"
        )
        where = f"Table {row['table_label']}"
        if row.get("table_area"):
            where += f", {row['table_area']}"
        item.add("location", where)
        if row.get("message"):
            item.add("description", row["message"])
        item.add("status", STATUS.get(row["status"], "CANCELLED"))
        cal.add_component(item)
    cal.add_missing_timezones()
    return cal.to_ical()
