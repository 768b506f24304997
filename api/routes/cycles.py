"""Vital week cycles of a learning group: four meetings on four consecutive working days, with
an agenda built by the coach from each member's work situation; a calendar file to import;
each member's notes per day, which the group's members and facilitator all see. Only the
group's members and facilitator see a cycle (to anyone else it does not exist).

Handlers are plain functions: FastAPI runs them in its threadpool (database and coach)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field, StrictBool, model_validator

from api.db import StoredSession
from api.db.cycles import CANCELLED, ENERGY, MAX_NOTE, MAX_PLACE, MAX_WORD, CyclePlan, StoredCycle
from api.db.groups import FACILITATOR, MAX_GROUP_SIZE, MEMBER, GroupError, StoredGroup
from api.deps import ApiServices, CoachCaller, Professional, Svc
from api.openapi import errors
from api.problems import Problem
from api.routes.drafts import record_lesson_from
from api.routes.groups import UserId, visible_group
from api.schemas import DraftOut, Input, IsoDay, LessonRequest, WholeNumber
from coach.cycles.agenda import AgendaDay, MemberSituation, agenda_from_results, agenda_text
from coach.cycles.calendar import cycle_calendar
from coach.cycles.planning import CYCLE_DAYS, CyclePlanningError, Meeting, plan_cycle
from coach.result import MAX_SITUATION_CHARS
from coach.vocabulary import Language

router = APIRouter(tags=["cycles"])
T = TypeVar("T")

DayNumber = Annotated[int, Path(ge=1, le=CYCLE_DAYS)]


class SituationIn(Input):
    """One member's situation: its text, or (for your own entry) one of your coaching sessions,
    whose situation and answer the cycle then works on."""

    member: UserId  # an accepted member of the group
    situation: str | None = Field(None, min_length=1, max_length=MAX_SITUATION_CHARS)
    session_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$")

    @model_validator(mode="after")
    def _one_of_the_two(self) -> SituationIn:
        if (self.situation is None) == (self.session_id is None):
            raise ValueError("give either `situation` (its text) or `session_id`, not both")
        return self


class CycleRequest(Input):
    start: IsoDay  # the first meeting is on this day, or the next working day
    time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")  # HH:MM, local time
    place: str | None = Field(None, min_length=1, max_length=MAX_PLACE)
    holidays: list[IsoDay] = Field(default_factory=list, max_length=60)
    situations: list[SituationIn] = Field(min_length=1, max_length=MAX_GROUP_SIZE)


class MoveRequest(Input):
    start: IsoDay


class NoteRequest(Input):
    did: str = Field(max_length=MAX_NOTE)
    noticed: str = Field(max_length=MAX_NOTE)


class CheckInRequest(Input):
    """How you start the day: your energy from 1 (empty) to 5 (full), and a word if you like.
    Only you see it, unless you share it with the group."""

    energy: WholeNumber = Field(ge=ENERGY[0], le=ENERGY[1])
    word: str | None = Field(None, min_length=1, max_length=MAX_WORD)
    shared: StrictBool = False


class CheckInOut(BaseModel):
    member: str
    energy: int
    word: str | None
    shared: bool


class NoteOut(BaseModel):
    member: str
    did: str
    noticed: str


class DayOut(BaseModel):
    day: int
    date: date
    start: datetime
    end: datetime
    agenda: AgendaDay
    notes: list[NoteOut]  # every member's notes for the day, for the members and facilitator
    check_ins: list[CheckInOut]  # yours, and the ones others shared


class CycleOut(BaseModel):
    id: str
    group_id: str
    group_name: str
    my_state: Literal["member", "facilitator"]  # a facilitator reads along, writes nothing
    state: Literal["planned", "cancelled"]
    completed: bool  # not cancelled, and the last meeting has ended
    sequence: int  # bumped on each move and on cancelling: the calendar file's SEQUENCE
    time: str
    time_zone: str
    place: str | None
    holidays: list[date]
    # The coaching session of your situation in this cycle (null when you bring none): your
    # lesson (`POST /v1/cycles/{id}/lesson`) and its preview start from it.
    your_session_id: str | None
    days: list[DayOut]

    @classmethod
    def of(cls, cycle: StoredCycle, user: str) -> CycleOut:
        seen = cycle.check_ins_seen_by(user)
        return cls.model_validate(
            {
                "id": cycle.id,
                "group_id": cycle.group.id,
                "group_name": cycle.group.name,
                "my_state": cycle.group.state_of(user),
                "state": cycle.state,
                "completed": cycle.completed,
                "sequence": cycle.sequence,
                "time": cycle.time,
                "time_zone": cycle.time_zone,
                "place": cycle.place,
                "holidays": cycle.holidays,
                "your_session_id": cycle.session_of(user),
                "days": [
                    {
                        "day": meeting.day,
                        "date": meeting.start.date(),
                        "start": meeting.start,
                        "end": meeting.end,
                        "agenda": day,
                        "notes": [vars(n) for n in cycle.notes if n.day == meeting.day],
                        "check_ins": [vars(c) for c in seen if c.day == meeting.day],
                    }
                    for meeting, day in zip(cycle.meetings, cycle.agenda.days, strict=True)
                ],
            }
        )


def _checked(change: Callable[[], T]) -> T:
    try:
        return change()
    except GroupError as error:
        raise Problem(error.status, error.detail) from error


def _planned(
    start: date, at: str, holidays: list[date], zone: str, field: str = "start"
) -> tuple[Meeting, ...]:
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
    """Plan a cycle for the group, with the agenda built from each member's situation. A
    situation given as text is coached and stored as a session in that member's name (their
    lesson and portfolio start from it); you may bring one of your own sessions instead."""
    group = visible_group(svc, group_id, who.user)
    if group.state_of(who.user) not in (MEMBER, FACILITATOR):
        raise Problem(409, "accept your invitation first: only members propose a cycle")
    _check_situations(group, body.situations)
    holidays = sorted(set(body.holidays))
    meetings = _planned(body.start, body.time, holidays, svc.cycles.time_zone)
    members, results, new = [], [], {}
    for number, given in enumerate(body.situations):
        if given.session_id is not None:
            stored = _own_session(svc, who.user, given, f"situations[{number}].session_id")
            result, session_id = stored.result, stored.id
        else:
            result, session_id = svc.coach.ask(str(given.situation)), None
            new[given.member] = result
        members.append(
            MemberSituation(member=given.member, situation=result.situation, session_id=session_id)
        )
        results.append(result)
    agenda = agenda_from_results(svc.coach.didactics, members, results)
    plan = CyclePlan(body.start, body.time, body.place, holidays, meetings)
    return CycleOut.of(svc.cycles.create(group, who.user, plan, agenda, new), who.user)


def _check_situations(group: StoredGroup, situations: list[SituationIn]) -> None:
    """Each situation is an accepted member's, and each member brings one."""
    seen: set[str] = set()
    for number, given in enumerate(situations):
        field = f"situations[{number}].member"
        if group.state_of(given.member) != MEMBER:
            raise Problem(  # 409: the request is well formed, the group's state refuses it
                409,
                f"{given.member} is not an accepted member of the group",
                errors=[{"field": field, "message": "not an accepted member of the group"}],
            )
        if given.member in seen:
            raise Problem(
                422,
                f"{given.member} brings one situation, named twice",
                errors=[{"field": field, "message": "named twice"}],
            )
        seen.add(given.member)


def _own_session(svc: ApiServices, user: str, given: SituationIn, field: str) -> StoredSession:
    """The session `user` brings for their own entry; 422 naming the field otherwise (someone
    else's sessions are theirs: give that member's situation as text)."""
    stored = svc.sessions.get(str(given.session_id), user) if given.member == user else None
    if stored is None:
        detail = (
            f"{given.session_id} is not one of your sessions"
            if given.member == user
            else f"only {given.member} can bring one of their sessions; give the situation's text"
        )
        raise Problem(422, detail, errors=[{"field": field, "message": detail}])
    return stored


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
