"""A cycle as an iCalendar file: parsed back with icalendar, four one-hour events with their
agendas, stable UIDs across a move, and the local time zone on both sides of a DST change."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar, Event

from coach.cycles.calendar import cycle_calendar, event_uid
from coach.cycles.planning import Meeting, move_cycle, plan_cycle
from coach.errors import InvalidRequestError

AGENDAS = [
    "Dag 1: ieders werksituatie.\nWat speelt er?",
    "Dag 2: reflectie en analyse.",
    "Dag 3: opties.",
    "Dag 4: actie en delen.",
]
STAMP = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def spring_cycle() -> tuple[Meeting, ...]:
    return plan_cycle(date(2026, 3, 26), time(9, 0))  # across Sunday 29 March 2026


def events(ical: bytes) -> list[Event]:
    calendar = Calendar.from_ical(ical)
    return [component for component in calendar.walk("VEVENT") if isinstance(component, Event)]


def make(meetings: tuple[Meeting, ...], location: str | None = None, sequence: int = 0) -> bytes:
    return cycle_calendar(
        "cycle-7", "Vitale week", meetings, AGENDAS, location, sequence=sequence, stamp=STAMP
    )


def test_four_one_hour_events_with_their_agendas() -> None:
    found = events(make(spring_cycle(), location="Zaal 2; tweede verdieping"))
    assert len(found) == 4
    for number, event in enumerate(found, start=1):
        start = event.decoded("dtstart")
        end = event.decoded("dtend")
        assert end - start == timedelta(hours=1)
        assert str(event["description"]) == AGENDAS[number - 1]
        assert str(event["summary"]) == f"Vitale week ({number}/4)"
        assert str(event["location"]) == "Zaal 2; tweede verdieping"
        assert str(event["uid"]) == event_uid("cycle-7", number)
        assert event.decoded("dtstamp") == STAMP
        assert int(str(event["sequence"])) == 0


def test_the_file_is_a_version_2_calendar_with_the_time_zone() -> None:
    ical = make(spring_cycle())
    calendar = Calendar.from_ical(ical)
    assert str(calendar["version"]) == "2.0"
    assert str(calendar["prodid"])
    zones = [str(zone["tzid"]) for zone in calendar.walk("VTIMEZONE")]
    assert zones == ["Europe/Amsterdam"]
    assert b"DTSTART;TZID=Europe/Amsterdam:20260326T090000" in ical
    assert b"DTSTART;TZID=Europe/Amsterdam:20260330T090000" in ical


def test_a_newline_in_the_text_cannot_break_a_line() -> None:
    ical = make(spring_cycle())
    assert b"DESCRIPTION:Dag 1: ieders werksituatie.\\nWat speelt er?" in ical
    assert all(not line.startswith(b"Wat speelt") for line in ical.split(b"\r\n"))
    assert b"\n" not in ical.replace(b"\r\n", b"")


def test_local_nine_oclock_on_both_sides_of_the_change() -> None:
    found = events(make(spring_cycle()))
    starts = [event.decoded("dtstart") for event in found]
    assert [str(start.tzinfo) for start in starts] == ["Europe/Amsterdam"] * 4
    assert [start.hour for start in starts] == [9] * 4
    assert [start.utcoffset() for start in starts] == [
        timedelta(hours=1),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=2),
    ]


def test_a_moved_cycle_keeps_its_uids_and_bumps_its_sequence() -> None:
    planned = spring_cycle()
    moved = move_cycle(planned, date(2026, 4, 24), holidays=(date(2026, 4, 27),))
    before = events(make(planned))
    after = events(make(moved, sequence=1))
    assert [str(event["uid"]) for event in after] == [str(event["uid"]) for event in before]
    assert [event.decoded("dtstart").date() for event in after] == [
        date(2026, 4, 24),
        date(2026, 4, 28),
        date(2026, 4, 29),
        date(2026, 4, 30),
    ]
    assert [int(str(event["sequence"])) for event in after] == [1] * 4
    assert all(
        event.decoded("dtend") - event.decoded("dtstart") == timedelta(hours=1) for event in after
    )


def test_no_location_means_no_location_property() -> None:
    assert all("location" not in event for event in events(make(spring_cycle())))


def test_one_description_a_meeting_is_required() -> None:
    with pytest.raises(InvalidRequestError, match="4 meetings, 3 descriptions"):
        cycle_calendar("cycle-7", "Vitale week", spring_cycle(), AGENDAS[:3])
    with pytest.raises(InvalidRequestError, match="cycle id"):
        cycle_calendar(" ", "Vitale week", spring_cycle(), AGENDAS)
    with pytest.raises(InvalidRequestError, match="SEQUENCE"):
        cycle_calendar("cycle-7", "Vitale week", spring_cycle(), AGENDAS, sequence=-1)


def test_a_cancelled_cycle_says_so_on_the_same_events() -> None:
    planned = events(make(spring_cycle()))
    gone = events(
        cycle_calendar(
            "cycle-7", "Vitale week", spring_cycle(), AGENDAS, sequence=1, cancelled=True
        )
    )
    assert [str(e["uid"]) for e in gone] == [str(e["uid"]) for e in planned]
    assert {str(e["status"]) for e in planned} == {"CONFIRMED"}
    assert {(str(e["status"]), int(str(e["sequence"]))) for e in gone} == {("CANCELLED", 1)}
