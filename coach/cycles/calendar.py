"""A cycle as an iCalendar file (RFC 5545): one event a meeting, for any calendar client.

Each event's UID depends only on the cycle and the day number, so a moved cycle, sent again with
a higher SEQUENCE, updates the same four events instead of adding four more. Start and end carry
the cycle's time zone (TZID) and the file holds a VTIMEZONE for it, so a client shows the
meetings at the planned local time on both sides of a daylight saving change. Text values
(title, descriptions, location) are escaped by `icalendar`: a newline in them cannot break a
line of the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from icalendar import Calendar, Event

from coach.cycles.planning import Meeting
from coach.errors import InvalidRequestError

PRODID = "-//coach//vital week cycle//EN"


def event_uid(cycle_id: str, day: int) -> str:
    """The UID of a cycle's day: the same for every version of the cycle."""
    return f"{cycle_id}-day-{day}@coach"


def cycle_calendar(
    cycle_id: str,
    title: str,
    meetings: Sequence[Meeting],
    descriptions: Sequence[str],
    location: str | None = None,
    *,
    sequence: int = 0,
    cancelled: bool = False,
    stamp: datetime | None = None,
) -> bytes:
    """The cycle's meetings as an iCalendar file; `descriptions[i]` is meeting i's agenda.

    Bump `sequence` each time a changed (moved or cancelled) cycle is sent again; a cancelled
    cycle's events say STATUS:CANCELLED, so a client that imported them marks them cancelled.
    `stamp` (DTSTAMP, when the file was made) defaults to now.
    """
    if not cycle_id.strip():
        raise InvalidRequestError("A cycle's calendar needs its cycle id (for the event UIDs).")
    if not meetings:
        raise InvalidRequestError("A cycle's calendar needs at least one meeting.")
    if len(descriptions) != len(meetings):
        raise InvalidRequestError(
            f"Give one description a meeting: {len(meetings)} meetings, "
            f"{len(descriptions)} descriptions."
        )
    if sequence < 0:
        raise InvalidRequestError(f"SEQUENCE must be 0 or more, not {sequence}.")
    made = (stamp or datetime.now(UTC)).astimezone(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    for meeting, description in zip(meetings, descriptions, strict=True):
        event = Event()
        event.add("uid", event_uid(cycle_id, meeting.day))
        event.add("dtstamp", made)
        event.add("sequence", sequence)
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("dtstart", meeting.start)
        event.add("dtend", meeting.end)
        event.add("summary", f"{title} ({meeting.day}/{len(meetings)})")
        event.add("description", description)
        if location:
            event.add("location", location)
        calendar.add_component(event)
    # The time zone's rules for the cycle's years only: enough for the events, and a small file.
    years = [meeting.start.year for meeting in meetings]
    calendar.add_missing_timezones(date(min(years), 1, 1), date(max(years) + 1, 1, 1))
    ical: bytes = calendar.to_ical()
    return ical
