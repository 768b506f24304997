"""A vital week cycle as the stores hand it out (`StoredCycle` and its parts), and how one is
read from its rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.group_tables import CheckInRow, CycleAnswerRow, CycleNoteRow, CycleRow, GroupRow
from api.db.groups import StoredGroup
from api.db.tables import SessionRow
from coach.cycles.agenda import Agenda, MemberSituation
from coach.cycles.planning import Meeting
from coach.result import CoachingResult

PLANNED, CANCELLED = "planned", "cancelled"
# A member's answer to a proposed cycle; no row: not answered yet.
BRINGS, BRINGS_NONE, SUGGESTED = "brings", "none", "suggested"


@dataclass(frozen=True)
class CyclePlan:
    """When and where a cycle meets, as proposed."""

    start: date
    time: str  # HH:MM
    place: str | None
    holidays: list[date]
    meetings: tuple[Meeting, ...]


@dataclass(frozen=True)
class CheckIn:
    day: int
    member: str
    energy: int
    word: str | None
    shared: bool


@dataclass(frozen=True)
class Note:
    day: int
    member: str
    did: str
    noticed: str


@dataclass(frozen=True)
class Suggestion:
    """A situation the proposer typed for `member`: theirs to bring, edit or ignore."""

    member: str
    by: str
    text: str


@dataclass(frozen=True)
class Brought:
    """What a member brings to a proposed cycle: a new situation (its coaching result, stored
    as their session), one of their sessions, or nothing."""

    result: CoachingResult | None = None
    session_id: str | None = None


@dataclass(frozen=True)
class StoredCycle:
    id: str
    group: StoredGroup
    proposed_by: str
    created_at: datetime
    start: date
    time: str
    time_zone: str
    place: str | None
    holidays: list[date]
    meetings: tuple[Meeting, ...]
    agenda: Agenda
    state: str
    sequence: int
    notes: list[Note]
    check_ins: list[CheckIn]  # every member's: show others' only when `shared`
    agenda_ready: bool = True
    agenda_at: datetime | None = None
    answers: dict[str, str] = field(default_factory=dict)  # member: brings or none
    brought: dict[str, str] = field(default_factory=dict)  # member: the session they brought
    suggestions: tuple[Suggestion, ...] = ()  # show each to its member only

    @property
    def completed(self) -> bool:
        """Held: not cancelled, and its last meeting has ended."""
        return self.state == PLANNED and self.meetings[-1].end <= datetime.now(UTC)

    def check_ins_seen_by(self, user: str) -> list[CheckIn]:
        """The check-ins `user` may see: their own, and the ones others shared."""
        return [c for c in self.check_ins if c.member == user or c.shared]

    def suggestion_for(self, user: str) -> Suggestion | None:
        return next((s for s in self.suggestions if s.member == user), None)

    def session_of(self, user: str) -> str | None:
        """The coaching session of `user`'s situation in this cycle, if they bring one."""
        found = next((m.session_id for m in self.agenda.members if m.member == user), None)
        return found or (None if self.agenda_ready else self.brought.get(user))


def former_group(row: GroupRow) -> StoredGroup:
    """A group as someone outside it sees it: its name and team, none of its people."""
    return StoredGroup(row.id, row.name, row.created_at, None, [], row.team)


def meetings_of(rows: list[list[str]], zone: str) -> tuple[Meeting, ...]:
    where = ZoneInfo(zone)
    return tuple(
        Meeting(
            day=number,
            start=datetime.fromisoformat(start).astimezone(where),
            end=datetime.fromisoformat(end).astimezone(where),
        )
        for number, (start, end) in enumerate(rows, start=1)
    )


def stored_meetings(meetings: tuple[Meeting, ...]) -> list[list[str]]:
    return [[meeting.start.isoformat(), meeting.end.isoformat()] for meeting in meetings]


def brought_situations(
    db: Session, answers: list[CycleAnswerRow]
) -> tuple[list[MemberSituation], list[CoachingResult]]:
    """The situations brought (by member), each with the coaching result of its session, read
    in `db`; one whose session is gone (its member deleted it) is left out."""
    members, results = [], []
    for answer in sorted(answers, key=lambda a: a.user_id):
        session = db.get(SessionRow, answer.session_id) if answer.session_id else None
        if answer.state != BRINGS or session is None or session.user_id != answer.user_id:
            continue
        result = CoachingResult.model_validate_json(session.result_json)
        members.append(
            MemberSituation(
                member=answer.user_id, situation=result.situation, session_id=session.id
            )
        )
        results.append(result)
    return members, results


def load_cycle(db: Session, row: CycleRow, group: StoredGroup) -> StoredCycle:
    """The cycle of `row` as its group's people see it (read in `db`)."""
    notes = db.scalars(
        select(CycleNoteRow)
        .where(CycleNoteRow.cycle_id == row.id)
        .order_by(CycleNoteRow.day, CycleNoteRow.user_id)
    ).all()
    answers = db.scalars(
        select(CycleAnswerRow)
        .where(CycleAnswerRow.cycle_id == row.id)
        .order_by(CycleAnswerRow.user_id)
    ).all()
    return StoredCycle(
        id=row.id,
        group=group,
        proposed_by=row.proposed_by,
        created_at=utc(row.created_at),
        start=row.start,
        time=row.time,
        time_zone=row.time_zone,
        place=row.place,
        holidays=[date.fromisoformat(day) for day in row.holidays],
        meetings=meetings_of(row.meetings, row.time_zone),
        agenda=Agenda.model_validate(row.agenda),
        state=row.state,
        sequence=row.sequence,
        notes=[Note(n.day, n.user_id, n.did, n.noticed) for n in notes],
        check_ins=[
            CheckIn(c.day, c.user_id, c.energy, c.word, c.shared)
            for c in db.scalars(
                select(CheckInRow)
                .where(CheckInRow.cycle_id == row.id)
                .order_by(CheckInRow.day, CheckInRow.user_id)
            ).all()
        ],
        agenda_ready=row.agenda_ready is not False,
        agenda_at=utc(row.agenda_at) if row.agenda_at else None,
        answers={a.user_id: a.state for a in answers if a.state != SUGGESTED},
        brought={a.user_id: a.session_id for a in answers if a.session_id},
        suggestions=tuple(
            Suggestion(a.user_id, a.suggested_by or "", a.suggestion or "")
            for a in answers
            if a.state == SUGGESTED
        ),
    )


def utc(moment: datetime) -> datetime:
    """A stored time in UTC (SQLite hands times back without their zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
