"""Vital week cycles of a learning group: four meetings on four consecutive working days, with
an agenda built by the coach from the work situation each member brings themselves; a calendar
file to import; each member's notes per day, which the group's members and facilitator all
see. Only the group's members and facilitator see a cycle (to anyone else it does not exist);
only members write, each in their own name.

Handlers are plain functions: FastAPI runs them in its threadpool (database and coach)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path
from fastapi.responses import Response

from api.cycle_schemas import (
    CheckInRequest,
    CycleOut,
    CycleRequest,
    MoveRequest,
    NoteRequest,
    YourSituation,
)
from api.db import StoredSession
from api.db.groups import MEMBER, GroupError
from api.db.stored_cycles import (
    CANCELLED,
    Brought,
    CyclePlan,
)
from api.deps import ApiServices, CoachCaller, Professional, Svc
from api.openapi import errors
from api.problems import Problem
from api.routes.drafts import record_lesson_from
from api.routes.groups import visible_group
from api.schemas import DraftOut, LessonRequest
from coach.cycles.agenda import agenda_text
from coach.cycles.calendar import cycle_calendar
from coach.cycles.planning import CYCLE_DAYS, CyclePlanningError, Meeting, plan_cycle
from coach.vocabulary import Language

router = APIRouter(tags=["cycles"])
T = TypeVar("T")

DayNumber = Annotated[int, Path(ge=1, le=CYCLE_DAYS)]
# How far ahead a cycle may start: its calendar file stays far within year 9999 (a cycle from
# 9999-12-27 ran into year 10000 and answered 500).
MAX_DAYS_AHEAD = 36_500


def _checked(change: Callable[[], T]) -> T:
    try:
        return change()
    except GroupError as error:
        raise Problem(error.status, error.detail) from error


def _planned(
    start: date, at: str, holidays: list[date], zone: str, field: str = "start"
) -> tuple[Meeting, ...]:
    if start > date.today() + timedelta(days=MAX_DAYS_AHEAD):
        detail = f"a cycle starts within {MAX_DAYS_AHEAD} days from today, not on {start}"
        raise Problem(422, detail, errors=[{"field": field, "message": detail}])
    try:
        return plan_cycle(start, time.fromisoformat(at), time_zone_name=zone, holidays=holidays)
    except CyclePlanningError as error:
        raise Problem(422, str(error), errors=[{"field": field, "message": str(error)}]) from error
    except OverflowError as error:  # days past 9999-12-31 or before year 1 in UTC
        detail = f"{start.isoformat()} is too far from today to plan four working days from"
        raise Problem(422, detail, errors=[{"field": field, "message": detail}]) from error


@router.post(
    "/v1/groups/{group_id}/cycles",
    status_code=201,
    response_model=CycleOut,
    responses=errors(409, 429),
)
def propose_cycle(group_id: str, body: CycleRequest, who: CoachCaller, svc: Svc) -> CycleOut:
    """Propose a cycle to the group (members only). You may bring your own situation now (text,
    coached and stored as your session, or one of your sessions) and suggest one to colleagues;
    each member brings their own (`PUT /v1/cycles/{id}/situation`), and the agenda is built
    once everyone answered, or at `agenda_at` with what was given by then."""
    group = visible_group(svc, group_id, who.user)
    if group.state_of(who.user) != MEMBER:  # before the coach is asked
        raise Problem(409, "only the group's members propose a cycle (a facilitator reads along)")
    holidays = sorted(set(body.holidays))
    meetings = _planned(body.start, body.time, holidays, svc.cycles.time_zone)
    agenda_at = _agenda_time(body.agenda_at, meetings[0].start)
    suggestions: dict[str, str] = {}
    for number, given in enumerate(body.suggestions):
        field = f"suggestions[{number}].member"
        if given.member == who.user or group.state_of(given.member) != MEMBER:
            detail = f"{given.member} is not another accepted member of the group"
            raise Problem(409, detail, errors=[{"field": field, "message": detail}])
        if given.member in suggestions:
            detail = f"one suggestion for {given.member}, named twice"
            raise Problem(422, detail, errors=[{"field": field, "message": detail}])
        suggestions[given.member] = given.situation
    brought = _brought(svc, who.user, body.situation, body.session_id)
    plan = CyclePlan(body.start, body.time, body.place, holidays, meetings)
    cycle = _checked(
        lambda: svc.cycles.create(group_id, who.user, plan, agenda_at, brought, suggestions)
    )
    return CycleOut.of(cycle, who.user)


def _agenda_time(wanted: datetime | None, first_meeting: datetime) -> datetime | None:
    """When the agenda is built at the latest: as asked, but not after the first meeting (for
    a cycle planned in the past: once everyone answered, or when the proposer builds it)."""
    if wanted is None:
        return first_meeting if first_meeting > datetime.now(UTC) else None
    if wanted.tzinfo is None:
        detail = "give `agenda_at` with its time zone (for example 2026-12-14T09:00:00+01:00)"
        raise Problem(422, detail, errors=[{"field": "agenda_at", "message": detail}])
    if wanted <= datetime.now(UTC):
        detail = "`agenda_at` must lie ahead: the members need time to answer"
        raise Problem(422, detail, errors=[{"field": "agenda_at", "message": detail}])
    return min(wanted, first_meeting)


def _brought(
    svc: ApiServices, user: str, situation: str | None, session_id: str | None
) -> Brought | None:
    """What `user` brings: their text coached now, or one of their own sessions (422 naming
    the field when it is not theirs); None when they give neither."""
    if situation is not None:
        return Brought(result=svc.coach.ask(situation))
    if session_id is None:
        return None
    stored: StoredSession | None = svc.sessions.get(session_id, user)
    if stored is None:
        detail = f"{session_id} is not one of your sessions"
        raise Problem(422, detail, errors=[{"field": "session_id", "message": detail}])
    return Brought(session_id=stored.id)


@router.put(
    "/v1/cycles/{cycle_id}/situation",
    response_model=CycleOut,
    responses=errors(409, 429),
)
def bring_situation(cycle_id: str, body: YourSituation, who: CoachCaller, svc: Svc) -> CycleOut:
    """What you bring to the proposed cycle (replacing your earlier answer), until its agenda
    is built: a situation as text (coached, stored as your session), one of your sessions, or
    none. A suggestion made to you is yours to bring as it is, edit, or leave."""
    cycle = _checked(lambda: svc.cycles.get(cycle_id, who.user))  # before the coach is asked
    if cycle.group.state_of(who.user) != MEMBER or cycle.agenda_ready or cycle.state == CANCELLED:
        raise Problem(409, "only members bring a situation, and only until the agenda is built")
    brought = None if body.none else _brought(svc, who.user, body.situation, body.session_id)
    return CycleOut.of(_checked(lambda: svc.cycles.answer(cycle_id, who.user, brought)), who.user)


@router.post("/v1/cycles/{cycle_id}/agenda", response_model=CycleOut, responses=errors(409))
def build_agenda(cycle_id: str, who: Professional, svc: Svc) -> CycleOut:
    """Build the agenda now, with the situations given so far (who proposed the cycle)."""
    return CycleOut.of(_checked(lambda: svc.cycles.build_now(cycle_id, who.user)), who.user)


@router.get("/v1/cycles/{cycle_id}", response_model=CycleOut)
def get_cycle(cycle_id: str, who: Professional, svc: Svc) -> CycleOut:
    return CycleOut.of(_checked(lambda: svc.cycles.get(cycle_id, who.user)), who.user)


@router.get(
    "/v1/cycles/{cycle_id}/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {"schema": {"type": "string"}}}}},
)
def cycle_ics(cycle_id: str, who: Professional, svc: Svc) -> Response:
    """The four meetings as an iCalendar file; its events keep their UIDs when the cycle moves
    (SEQUENCE is the cycle's), so a calendar client updates them."""
    cycle = _checked(lambda: svc.cycles.get(cycle_id, who.user))
    language: Language = next(
        (item.language for item in cycle.agenda.days[0].items if item.member == who.user),
        "nl",
    )
    title = {"nl": "Vitale week", "en": "Vital week"}[language]
    body = cycle_calendar(
        cycle.id,
        f"{title}: {cycle.group.name}",
        cycle.meetings,
        [agenda_text(cycle.agenda, day, language) for day in range(1, CYCLE_DAYS + 1)],
        cycle.place,
        sequence=cycle.sequence,
        cancelled=cycle.state == CANCELLED,
    )
    return Response(
        body,
        media_type="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="vital-week-{cycle.id}.ics"'},
    )


@router.post(
    "/v1/cycles/{cycle_id}/days/{day}/notes", response_model=CycleOut, responses=errors(409)
)
def record_notes(
    cycle_id: str, day: DayNumber, body: NoteRequest, who: Professional, svc: Svc
) -> CycleOut:
    """Your notes for one day: what you did and what you noticed (replacing earlier ones)."""
    _checked(lambda: svc.cycles.note(cycle_id, who.user, day, body.did, body.noticed))
    return CycleOut.of(_checked(lambda: svc.cycles.get(cycle_id, who.user)), who.user)


@router.put(
    "/v1/cycles/{cycle_id}/days/{day}/check-in", response_model=CycleOut, responses=errors(409)
)
def check_in(
    cycle_id: str, day: DayNumber, body: CheckInRequest, who: Professional, svc: Svc
) -> CycleOut:
    """Your check-in for one day (replacing an earlier one): private unless `shared`."""
    _checked(
        lambda: svc.cycles.check_in(cycle_id, who.user, day, body.energy, body.word, body.shared)
    )
    return CycleOut.of(_checked(lambda: svc.cycles.get(cycle_id, who.user)), who.user)


@router.post(
    "/v1/cycles/{cycle_id}/lesson",
    response_model=DraftOut,
    status_code=201,
    responses=errors(409, 429),
    tags=["cycles", "lessons learned"],
)
def record_cycle_lesson(
    cycle_id: str, body: LessonRequest, who: Professional, svc: Svc
) -> DraftOut:
    """What you tried and learned in the cycle becomes a lesson draft for the curators, as from
    any session (preview it with `POST /v1/sessions/{your_session_id}/lesson/preview`)."""
    cycle = _checked(lambda: svc.cycles.get(cycle_id, who.user))
    session_id = cycle.session_of(who.user)
    stored = svc.sessions.get(session_id, who.user) if session_id else None
    if stored is None:
        raise Problem(
            409,
            "you brought no situation to this cycle (or deleted its session): record your "
            "lesson from one of your sessions instead",
        )
    return record_lesson_from(svc, who, stored, body)


@router.post("/v1/cycles/{cycle_id}/move", response_model=CycleOut, responses=errors(409))
def move(cycle_id: str, body: MoveRequest, who: Professional, svc: Svc) -> CycleOut:
    """The same cycle (time, place, holidays) from another start date; SEQUENCE goes up."""
    cycle = _checked(lambda: svc.cycles.get(cycle_id, who.user))
    meetings = _planned(body.start, cycle.time, cycle.holidays, cycle.time_zone)
    _checked(lambda: svc.cycles.move(cycle_id, who.user, body.start, meetings))
    return CycleOut.of(_checked(lambda: svc.cycles.get(cycle_id, who.user)), who.user)


@router.post("/v1/cycles/{cycle_id}/cancel", response_model=CycleOut)
def cancel(cycle_id: str, who: Professional, svc: Svc) -> CycleOut:
    """The cycle is cancelled; its plan and notes are kept."""
    _checked(lambda: svc.cycles.cancel(cycle_id, who.user))
    return CycleOut.of(_checked(lambda: svc.cycles.get(cycle_id, who.user)), who.user)
