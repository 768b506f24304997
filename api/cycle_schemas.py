"""The wire schemas of vital week cycles: what a proposal, an answer, a note and a check-in
carry, and a cycle as its group's people see it (`CycleOut.of`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from api.db.cycles import ENERGY, MAX_NOTE
from api.db.group_tables import MAX_PLACE, MAX_WORD
from api.db.groups import MAX_GROUP_SIZE
from api.db.stored_cycles import StoredCycle
from api.routes.groups import UserId
from api.schemas import Input, IsoDay, Situation, WholeNumber
from coach.cycles.agenda import AgendaDay


class YourSituation(Input):
    """What you bring to a cycle: a situation from your work as text (the coach answers it and
    it is stored as one of your sessions), or one of your coaching sessions; or nothing
    (`none: true`), so the agenda need not wait for you."""

    # the schema says what the check below does: exactly one of the three
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["situation"], "properties": {"situation": {"type": "string"}}},
                {"required": ["session_id"], "properties": {"session_id": {"type": "string"}}},
                {"required": ["none"], "properties": {"none": {"const": True}}},
            ]
        }
    )

    situation: Situation | None = None
    session_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$")
    none: StrictBool = False

    @model_validator(mode="after")
    def _one_of_the_three(self) -> YourSituation:
        given = (self.situation is not None) + (self.session_id is not None) + self.none
        if given != 1:
            raise ValueError("give one of `situation` (its text), `session_id` or `none: true`")
        return self


class SuggestionIn(Input):
    """A situation you know a colleague works on: only they see it, and it becomes theirs only
    if they bring it (as it is or edited)."""

    member: UserId  # another accepted member of the group
    situation: Situation


class CycleRequest(Input):
    # the schema says what the check below does: your situation's text or a session, not both
    model_config = ConfigDict(
        json_schema_extra={
            "not": {
                "required": ["situation", "session_id"],
                "properties": {"situation": {"type": "string"}, "session_id": {"type": "string"}},
            }
        }
    )

    start: IsoDay  # the first meeting is on this day, or the next working day
    time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")  # HH:MM, local time
    place: str | None = Field(None, min_length=1, max_length=MAX_PLACE)
    holidays: list[IsoDay] = Field(default_factory=list, max_length=60)
    # what you bring (optional: you may answer later, like everyone else)
    situation: Situation | None = None
    session_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$")
    suggestions: list[SuggestionIn] = Field(default_factory=list, max_length=MAX_GROUP_SIZE - 1)
    # the agenda is built once every member answered, and at this time at the latest with the
    # situations given by then; default and latest: the first meeting's start
    agenda_at: datetime | None = None

    @model_validator(mode="after")
    def _one_own_situation(self) -> CycleRequest:
        if self.situation is not None and self.session_id is not None:
            raise ValueError("give `situation` (its text) or `session_id`, not both")
        return self


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


class SuggestionOut(BaseModel):
    by: str
    situation: str


class CycleOut(BaseModel):
    id: str
    group_id: str
    group_name: str
    my_state: Literal["member", "facilitator"]  # a facilitator reads along, writes nothing
    state: Literal["planned", "cancelled"]
    # The agenda is built once every member answered (brought a situation or none), or at
    # `agenda_at`; until then its days hold no items.
    agenda_ready: bool
    agenda_at: datetime | None
    proposed_by: str  # empty once they asked to be forgotten
    # who answered, and how (not what): members absent here have not answered yet
    answers: dict[str, Literal["brings", "none"]]
    # what the proposer suggested you bring, until you answer (only you see it)
    your_suggestion: SuggestionOut | None
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
                "agenda_ready": cycle.agenda_ready,
                "proposed_by": cycle.proposed_by,
                "agenda_at": cycle.agenda_at,
                "answers": cycle.answers,
                "your_suggestion": (
                    {"by": found.by, "situation": found.text}
                    if (found := cycle.suggestion_for(user))
                    else None
                ),
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
