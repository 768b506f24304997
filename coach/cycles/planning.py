"""Plan a vital week cycle: four meetings on four consecutive working days.

The cycle starts on its start date, or on the first working day after it when that is a
Saturday, a Sunday or one of the given holidays; each next meeting is on the next working day.
Every meeting starts at the same local wall-clock time in the cycle's time zone and lasts the
same real time: an hour is sixty minutes even when the clocks change during it.

Daylight saving time: a start time that does not exist on a day (the hour the clocks skip in
spring) is refused with a message naming the day, since any guess would move the meeting by an
hour without anyone deciding it. A time that exists twice (the hour repeated in autumn) is the
first of the two, daylight saving time (`fold=0`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coach.errors import InvalidRequestError

CYCLE_DAYS = 4
DEFAULT_TIME_ZONE = "Europe/Amsterdam"
DEFAULT_DURATION_MINUTES = 60
MIN_DURATION_MINUTES = 15
MAX_DURATION_MINUTES = 240
SATURDAY = 5  # date.weekday(): Monday is 0


class CyclePlanningError(InvalidRequestError):
    """A cycle cannot be planned as asked; the message says what to change."""


@dataclass(frozen=True)
class Meeting:
    """One day of a cycle: its number (1..4) and when it starts and ends (timezone-aware)."""

    day: int
    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        """The real time between start and end (not wall-clock time)."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or an error that says it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CyclePlanningError(
            f"Unknown time zone {name!r}: give an IANA name such as {DEFAULT_TIME_ZONE!r}."
        ) from error


def is_working_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < SATURDAY and day not in holidays


def working_days(start: date, count: int, holidays: Iterable[date] = ()) -> list[date]:
    """The first `count` working days from `start` on (`start` itself when it is one)."""
    skipped = frozenset(holidays)
    days: list[date] = []
    day = start
    while len(days) < count:
        if is_working_day(day, skipped):
            days.append(day)
        day += timedelta(days=1)
    return days


def local_start(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` in `zone`; refused when the clocks skip that time on that day."""
    wall = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    round_trip = wall.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != wall.replace(tzinfo=None):
        raise CyclePlanningError(
            f"{at:%H:%M} does not exist on {day.isoformat()} in {zone.key}: the clocks skip it "
            "that day (daylight saving time begins); choose another start time or start date."
        )
    return wall


def plan_cycle(
    start_date: date,
    start_time: time,
    *,
    duration_minutes: int = DEFAULT_DURATION_MINUTES,
    time_zone_name: str = DEFAULT_TIME_ZONE,
    holidays: Iterable[date] = (),
) -> tuple[Meeting, ...]:
    """The four meetings of a cycle from `start_date` on, each `duration_minutes` long."""
    zone = time_zone(time_zone_name)
    if isinstance(duration_minutes, bool) or not (
        MIN_DURATION_MINUTES <= duration_minutes <= MAX_DURATION_MINUTES
    ):
        raise CyclePlanningError(
            f"A meeting's duration must be between {MIN_DURATION_MINUTES} and "
            f"{MAX_DURATION_MINUTES} minutes, not {duration_minutes}."
        )
    if start_time.tzinfo is not None:
        raise CyclePlanningError(
            "Give the start time as a local wall-clock time without a time zone; "
            "the cycle's time zone is given separately."
        )
    if isinstance(start_date, datetime):
        start_date = start_date.date()
    length = timedelta(minutes=duration_minutes)
    meetings: list[Meeting] = []
    for number, day in enumerate(working_days(start_date, CYCLE_DAYS, holidays), start=1):
        start = local_start(day, start_time, zone)
        end = (start.astimezone(UTC) + length).astimezone(zone)
        meetings.append(Meeting(day=number, start=start, end=end))
    return tuple(meetings)


def move_cycle(
    meetings: Sequence[Meeting], new_start: date, holidays: Iterable[date] = ()
) -> tuple[Meeting, ...]:
    """The same cycle (start time, duration, time zone, day numbers) from `new_start` on."""
    if len(meetings) != CYCLE_DAYS:
        raise CyclePlanningError(
            f"A cycle has {CYCLE_DAYS} meetings; this one has {len(meetings)}."
        )
    first = meetings[0]
    zone = first.start.tzinfo
    if not isinstance(zone, ZoneInfo):
        raise CyclePlanningError("Move a cycle made by plan_cycle: its times carry a ZoneInfo.")
    minutes, rest = divmod(first.duration, timedelta(minutes=1))
    if rest:
        raise CyclePlanningError("A meeting's duration must be a whole number of minutes.")
    return plan_cycle(
        new_start,
        first.start.timetz().replace(tzinfo=None),
        duration_minutes=minutes,
        time_zone_name=zone.key,
        holidays=holidays,
    )
