"""Planning a vital week cycle: four consecutive working days, one meeting a day, at the same
local time on both sides of a daylight saving change. Every expectation is worked out by hand
from a 2026 calendar."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from coach.cycles.planning import CyclePlanningError, move_cycle, plan_cycle
from coach.errors import InvalidRequestError

NINE = time(9, 0)
KINGSDAY_2026 = date(2026, 4, 27)  # a Monday


def days(start: date, holidays: tuple[date, ...] = ()) -> list[date]:
    return [meeting.start.date() for meeting in plan_cycle(start, NINE, holidays=holidays)]


def test_a_monday_start_gives_monday_to_thursday() -> None:
    meetings = plan_cycle(date(2026, 3, 2), NINE)
    assert [meeting.day for meeting in meetings] == [1, 2, 3, 4]
    assert [meeting.start.date() for meeting in meetings] == [
        date(2026, 3, 2),
        date(2026, 3, 3),
        date(2026, 3, 4),
        date(2026, 3, 5),
    ]
    assert all(meeting.start.time() == NINE for meeting in meetings)
    assert all(meeting.end.time() == time(10, 0) for meeting in meetings)


def test_a_thursday_start_skips_the_weekend() -> None:
    assert days(date(2026, 3, 5)) == [
        date(2026, 3, 5),  # Thursday
        date(2026, 3, 6),  # Friday
        date(2026, 3, 9),  # Monday
        date(2026, 3, 10),  # Tuesday
    ]


@pytest.mark.parametrize("weekend_day", [date(2026, 3, 7), date(2026, 3, 8)])
def test_a_weekend_start_begins_on_the_monday(weekend_day: date) -> None:
    assert days(weekend_day) == [date(2026, 3, 9) + timedelta(days=n) for n in range(4)]


def test_holidays_are_skipped() -> None:
    assert days(date(2026, 4, 24), holidays=(KINGSDAY_2026,)) == [
        date(2026, 4, 24),  # Friday
        date(2026, 4, 28),  # Tuesday: Monday is Kingsday
        date(2026, 4, 29),
        date(2026, 4, 30),
    ]


def test_a_holiday_start_begins_on_the_next_working_day() -> None:
    assert days(KINGSDAY_2026, holidays=(KINGSDAY_2026,))[0] == date(2026, 4, 28)


def test_a_cycle_across_the_spring_change_keeps_local_time_and_real_length() -> None:
    # Europe/Amsterdam moves to summer time on Sunday 29 March 2026.
    meetings = plan_cycle(date(2026, 3, 26), NINE)
    assert [meeting.start.date() for meeting in meetings] == [
        date(2026, 3, 26),
        date(2026, 3, 27),
        date(2026, 3, 30),
        date(2026, 3, 31),
    ]
    assert [meeting.start.utcoffset() for meeting in meetings] == [
        timedelta(hours=1),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=2),
    ]
    assert [meeting.start.time() for meeting in meetings] == [NINE] * 4
    assert [meeting.duration for meeting in meetings] == [timedelta(hours=1)] * 4


def test_a_cycle_across_the_autumn_change() -> None:
    # Back to standard time on Sunday 25 October 2026.
    meetings = plan_cycle(date(2026, 10, 22), NINE)
    assert [meeting.start.utcoffset() for meeting in meetings] == [
        timedelta(hours=2),
        timedelta(hours=2),
        timedelta(hours=1),
        timedelta(hours=1),
    ]
    assert [meeting.duration for meeting in meetings] == [timedelta(hours=1)] * 4


# Israel moves to summer time on the Friday before the last Sunday of March: in 2026 on
# Friday 27 March, 02:00 -> 03:00. A weekday change, so a meeting can meet it.
JERUSALEM = "Asia/Jerusalem"


def test_a_meeting_over_the_change_lasts_its_real_time() -> None:
    meetings = plan_cycle(
        date(2026, 3, 26), time(1, 30), duration_minutes=120, time_zone_name=JERUSALEM
    )
    friday = meetings[1]
    assert friday.start.date() == date(2026, 3, 27)
    assert friday.duration == timedelta(hours=2)
    assert friday.end.time() == time(4, 30)  # two real hours; the clock jumped one


def test_a_start_time_the_clocks_skip_is_refused_naming_the_date() -> None:
    with pytest.raises(CyclePlanningError, match="2026-03-27") as caught:
        plan_cycle(date(2026, 3, 26), time(2, 30), time_zone_name=JERUSALEM)
    assert "02:30" in str(caught.value)
    assert "start time" in str(caught.value)
    # The same time in the Amsterdam gap (Sunday 29 March) is never asked: Sundays are skipped.
    assert len(plan_cycle(date(2026, 3, 26), time(2, 30))) == 4


def test_an_unknown_time_zone_is_refused_by_name() -> None:
    with pytest.raises(InvalidRequestError, match="Mars/Olympus_Mons") as caught:
        plan_cycle(date(2026, 3, 2), NINE, time_zone_name="Mars/Olympus_Mons")
    assert "time zone" in str(caught.value)
    with pytest.raises(CyclePlanningError, match="time zone"):
        plan_cycle(date(2026, 3, 2), NINE, time_zone_name="../etc/passwd")


@pytest.mark.parametrize("minutes", [0, 14, 241, -60])
def test_a_bad_duration_is_refused_with_the_range(minutes: int) -> None:
    with pytest.raises(CyclePlanningError, match="between 15 and 240 minutes"):
        plan_cycle(date(2026, 3, 2), NINE, duration_minutes=minutes)


@pytest.mark.parametrize("minutes", [15, 240])
def test_the_duration_bounds_are_allowed(minutes: int) -> None:
    meetings = plan_cycle(date(2026, 3, 2), NINE, duration_minutes=minutes)
    assert meetings[0].duration == timedelta(minutes=minutes)


def test_a_start_time_with_a_zone_is_refused() -> None:
    from datetime import UTC

    with pytest.raises(CyclePlanningError, match="without a time zone"):
        plan_cycle(date(2026, 3, 2), time(9, tzinfo=UTC))


def test_moving_keeps_day_numbers_time_duration_and_zone() -> None:
    planned = plan_cycle(
        date(2026, 3, 2), time(13, 15), duration_minutes=45, time_zone_name="Europe/London"
    )
    moved = move_cycle(planned, date(2026, 4, 24), holidays=(KINGSDAY_2026,))
    assert [meeting.day for meeting in moved] == [1, 2, 3, 4]
    assert [meeting.start.date() for meeting in moved] == [
        date(2026, 4, 24),
        date(2026, 4, 28),
        date(2026, 4, 29),
        date(2026, 4, 30),
    ]
    assert all(meeting.start.time() == time(13, 15) for meeting in moved)
    assert all(meeting.duration == timedelta(minutes=45) for meeting in moved)
    assert all(str(meeting.start.tzinfo) == "Europe/London" for meeting in moved)
    assert moved == plan_cycle(
        date(2026, 4, 24),
        time(13, 15),
        duration_minutes=45,
        time_zone_name="Europe/London",
        holidays=(KINGSDAY_2026,),
    )
