"""Vital week cycles of learning groups: four planned meetings, their agenda (as JSON, built
once when the cycle is proposed) and each member's notes per day. A cycle is seen by its
group's members and facilitator only. Shares the sessions' database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.db.groups import FACILITATOR, MEMBER, GroupError, GroupStore, StoredGroup
from api.db.sessions import SessionStore, plain_text
from api.db.tables import Base
from coach.cycles.agenda import Agenda
from coach.cycles.planning import Meeting
from coach.keys import MAX_USER_CHARS  # what a user id may be, and so what is stored

PLANNED, CANCELLED = "planned", "cancelled"
MAX_PLACE = 200
MAX_NOTE = 4000


class CycleRow(Base):
    __tablename__ = "vital_week_cycles"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    group_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("learning_groups.id", ondelete="CASCADE"), index=True
    )
    proposed_by: Mapped[str] = mapped_column(String(MAX_USER_CHARS))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    start: Mapped[date] = mapped_column(Date)
    time: Mapped[str] = mapped_column(String(5))  # HH:MM, local wall-clock time
    time_zone: Mapped[str] = mapped_column(String(64))
    place: Mapped[str | None] = mapped_column(String(MAX_PLACE), nullable=True)
    holidays: Mapped[list[str]] = mapped_column(JSON)
    meetings: Mapped[list[list[str]]] = mapped_column(JSON)  # [start, end] in ISO 8601, by day
    agenda: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    sequence: Mapped[int] = mapped_column(Integer)


class CycleNoteRow(Base):
    """What one member did and noticed on one day of a cycle."""

    __tablename__ = "vital_week_cycle_notes"

    cycle_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("vital_week_cycles.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(MAX_USER_CHARS), primary_key=True)
    did: Mapped[str] = mapped_column(Text)
    noticed: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class Note:
    day: int
    member: str
    did: str
    noticed: str


@dataclass(frozen=True)
class StoredCycle:
    id: str
    group: StoredGroup
    proposed_by: str
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


def _meetings(rows: list[list[str]], zone: str) -> tuple[Meeting, ...]:
    where = ZoneInfo(zone)
    return tuple(
        Meeting(
            day=number,
            start=datetime.fromisoformat(start).astimezone(where),
            end=datetime.fromisoformat(end).astimezone(where),
        )
        for number, (start, end) in enumerate(rows, start=1)
    )


def _stored(meetings: tuple[Meeting, ...]) -> list[list[str]]:
    return [[meeting.start.isoformat(), meeting.end.isoformat()] for meeting in meetings]


class CycleStore:
    def __init__(self, sessions: SessionStore, groups: GroupStore, time_zone: str) -> None:
        self._sessions = sessions
        self._groups = groups
        self.time_zone = time_zone  # the IANA zone new cycles are planned in

    def create(
        self,
        group: StoredGroup,
        by: str,
        start: date,
        time: str,
        place: str | None,
        holidays: list[date],
        meetings: tuple[Meeting, ...],
        agenda: Agenda,
    ) -> StoredCycle:
        row = CycleRow(
            id=uuid.uuid4().hex,
            group_id=group.id,
            proposed_by=by,
            created_at=datetime.now(UTC),
            start=start,
            time=time,
            time_zone=self.time_zone,
            place=plain_text(place) if place else None,
            holidays=[day.isoformat() for day in holidays],
            meetings=_stored(meetings),
            agenda=agenda.to_dict(),
            state=PLANNED,
            sequence=0,
        )
        with self._sessions.transaction() as db:
            db.add(row)
            db.flush()
            return self._load(db, row, group)

    def get(self, cycle_id: str, user: str) -> StoredCycle:
        """The cycle when `user` is its group's member or facilitator; GroupError 404 if not."""
        with self._sessions.transaction() as db:
            row, group = self._visible(db, cycle_id, user, lock=False)
            return self._load(db, row, group)

    def move(self, cycle_id: str, user: str, start: date, meetings: tuple[Meeting, ...]) -> None:
        with self._sessions.transaction() as db:
            row, _ = self._visible(db, cycle_id, user, lock=True)
            if row.state == CANCELLED:
                raise GroupError(409, "the cycle is cancelled; propose a new one instead")
            row.start, row.meetings, row.sequence = start, _stored(meetings), row.sequence + 1

    def cancel(self, cycle_id: str, user: str) -> None:
        with self._sessions.transaction() as db:
            row, _ = self._visible(db, cycle_id, user, lock=True)
            row.state = CANCELLED  # the plan is kept, to look back on

    def note(self, cycle_id: str, user: str, day: int, did: str, noticed: str) -> None:
        """`user`'s notes for `day`, replacing what they wrote for that day before."""
        with self._sessions.transaction() as db:
            _, group = self._visible(db, cycle_id, user, lock=True)
            if group.state_of(user) != MEMBER:
                raise GroupError(409, "only the group's members record notes")
            found = db.get(CycleNoteRow, (cycle_id, day, user))
            if found is None:
                found = CycleNoteRow(cycle_id=cycle_id, day=day, user_id=user)
                db.add(found)
            found.did, found.noticed = plain_text(did), plain_text(noticed)

    def _visible(
        self, db: Session, cycle_id: str, user: str, *, lock: bool
    ) -> tuple[CycleRow, StoredGroup]:
        query = select(CycleRow).where(CycleRow.id == cycle_id)
        row = db.scalars(query.with_for_update() if lock else query).first()
        group = self._groups.get(row.group_id, user) if row is not None else None
        if row is None or group is None or group.state_of(user) not in (MEMBER, FACILITATOR):
            raise GroupError(404, f"you have no cycle {cycle_id}")
        return row, group

    @staticmethod
    def _load(db: Session, row: CycleRow, group: StoredGroup) -> StoredCycle:
        notes = db.scalars(
            select(CycleNoteRow)
            .where(CycleNoteRow.cycle_id == row.id)
            .order_by(CycleNoteRow.day, CycleNoteRow.user_id)
        ).all()
        return StoredCycle(
            id=row.id,
            group=group,
            proposed_by=row.proposed_by,
            start=row.start,
            time=row.time,
            time_zone=row.time_zone,
            place=row.place,
            holidays=[date.fromisoformat(day) for day in row.holidays],
            meetings=_meetings(row.meetings, row.time_zone),
            agenda=Agenda.model_validate(row.agenda),
            state=row.state,
            sequence=row.sequence,
            notes=[Note(n.day, n.user_id, n.did, n.noticed) for n in notes],
        )
