"""Vital week cycles of learning groups: four planned meetings, their agenda (as JSON, built
once when the cycle is proposed) and each member's notes per day. A cycle is seen by its
group's members and facilitator only. Shares the sessions' database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.db.groups import FACILITATOR, MEMBER, GroupError, GroupRow, GroupStore, StoredGroup
from api.db.learning import LearningEvent
from api.db.sessions import SessionStore, plain_text, session_row
from api.db.tables import Base
from coach.cycles.agenda import Agenda, without_member
from coach.cycles.planning import CYCLE_DAYS, Meeting
from coach.keys import MAX_USER_CHARS  # what a user id may be, and so what is stored
from coach.result import CoachingResult

PLANNED, CANCELLED = "planned", "cancelled"
MAX_PLACE = 200
MAX_NOTE = 4000
MAX_WORD = 40  # the optional word of a check-in
ENERGY = (1, 5)  # a check-in's energy: from 1 to 5


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


class CheckInRow(Base):
    """One member's check-in at the start of one day: energy and an optional word. Private to
    the member unless they share it with their group."""

    __tablename__ = "vital_week_cycle_check_ins"

    cycle_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("vital_week_cycles.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(MAX_USER_CHARS), primary_key=True)
    energy: Mapped[int] = mapped_column(Integer)
    word: Mapped[str | None] = mapped_column(String(MAX_WORD), nullable=True)
    shared: Mapped[bool] = mapped_column(Boolean)


Row = TypeVar("Row", CycleNoteRow, CheckInRow)


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

    @property
    def completed(self) -> bool:
        """Held: not cancelled, and its last meeting has ended."""
        return self.state == PLANNED and self.meetings[-1].end <= datetime.now(UTC)

    def check_ins_seen_by(self, user: str) -> list[CheckIn]:
        """The check-ins `user` may see: their own, and the ones others shared."""
        return [c for c in self.check_ins if c.member == user or c.shared]

    def session_of(self, user: str) -> str | None:
        """The coaching session stored for `user`'s situation in this cycle, if they bring one."""
        return next((m.session_id for m in self.agenda.members if m.member == user), None)


def _former_group(row: GroupRow) -> StoredGroup:
    """A group as someone outside it sees it: its name and team, none of its people."""
    return StoredGroup(row.id, row.name, row.created_at, None, [], row.team)


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
        plan: CyclePlan,
        agenda: Agenda,
        new_sessions: dict[str, CoachingResult],
    ) -> StoredCycle:
        """The cycle, and a coaching session in each member's name for the situation they
        brought new (`new_sessions`, by member; the agenda refers to them), in one transaction:
        a failure stores neither."""
        rows = {member: session_row(member, result) for member, result in new_sessions.items()}
        members = tuple(
            m.model_copy(update={"session_id": rows[m.member].id}) if m.member in rows else m
            for m in agenda.members
        )
        row = CycleRow(
            id=uuid.uuid4().hex,
            group_id=group.id,
            proposed_by=by,
            created_at=datetime.now(UTC),
            start=plan.start,
            time=plan.time,
            time_zone=self.time_zone,
            place=plain_text(plan.place) if plan.place else None,
            holidays=[day.isoformat() for day in plan.holidays],
            meetings=_stored(plan.meetings),
            agenda=agenda.model_copy(update={"members": members}).to_dict(),
            state=PLANNED,
            sequence=0,
        )
        with self._sessions.transaction() as db:
            db.add_all(rows.values())
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
        """The plan is kept, to look back on; SEQUENCE goes up, so a calendar client that
        imports the file again marks the same events cancelled."""
        with self._sessions.transaction() as db:
            row, _ = self._visible(db, cycle_id, user, lock=True)
            if row.state != CANCELLED:
                row.state, row.sequence = CANCELLED, row.sequence + 1

    def check_in(
        self, cycle_id: str, user: str, day: int, energy: int, word: str | None, shared: bool
    ) -> None:
        """`user`'s check-in for `day`, replacing the one they gave for that day before."""
        with self._sessions.transaction() as db:
            found = self._members_row(db, CheckInRow, cycle_id, user, day, "check in")
            found.energy, found.shared = energy, shared
            found.word = plain_text(word) if word else None

    def _members_row(
        self, db: Session, table: type[Row], cycle_id: str, user: str, day: int, doing: str
    ) -> Row:
        """`user`'s row of `table` for `day` (a note or a check-in), made when there is none;
        only the group's members may, and their first of the day says they took part."""
        _, group = self._visible(db, cycle_id, user, lock=True)
        if group.state_of(user) != MEMBER:
            raise GroupError(409, f"only the group's members {doing}")
        self._attended(db, cycle_id, group, user, day)
        found = db.get(table, (cycle_id, day, user))
        if found is None:
            found = table(cycle_id=cycle_id, day=day, user_id=user)
            db.add(found)
        return found

    def _attended(
        self, db: Session, cycle_id: str, group: StoredGroup, user: str, day: int
    ) -> None:
        """A member's first note or check-in of a day says they took part in it (and, on the
        last day, in the cycle): told once, before either is stored."""
        key = (cycle_id, day, user)
        if db.get(CycleNoteRow, key) is not None or db.get(CheckInRow, key) is not None:
            return
        now = datetime.now(UTC)
        told = LearningEvent("attended_day", user, cycle_id, now, team=group.team, day=day)
        self._sessions.learned(db, told)
        if day == CYCLE_DAYS:
            self._sessions.learned(
                db, LearningEvent("completed_cycle", user, cycle_id, now, team=group.team)
            )

    def for_user(self, user: str) -> list[StoredCycle]:
        """Every cycle of the groups `user` is a member or the facilitator of, and every cycle
        they wrote a note or checked in on (also of a group they left since: what they did
        there is theirs), newest first."""
        mine = [g for g in self._groups.mine(user) if g.state_of(user) in (MEMBER, FACILITATOR)]
        found = {cycle.id: cycle for cycle in self._of_groups(mine)}
        with self._sessions.transaction() as db:
            took_part = (
                select(CycleNoteRow.cycle_id)
                .where(CycleNoteRow.user_id == user)
                .union(select(CheckInRow.cycle_id).where(CheckInRow.user_id == user))
            )
            rows = db.execute(
                select(CycleRow, GroupRow)
                .join(GroupRow)
                .where(CycleRow.id.in_(took_part), CycleRow.id.not_in(list(found)))
            ).all()
            for row, group_row in rows:
                found[row.id] = self._load(db, row, _former_group(group_row))
        return sorted(found.values(), key=lambda c: (c.created_at, c.id), reverse=True)

    def of_group(self, group: StoredGroup) -> list[StoredCycle]:
        """The group's cycles, newest first (the caller checked who may see the group)."""
        return self._of_groups([group])

    def _of_groups(self, groups: list[StoredGroup]) -> list[StoredCycle]:
        by_id = {group.id: group for group in groups}
        with self._sessions.transaction() as db:
            rows = db.scalars(
                select(CycleRow)
                .where(CycleRow.group_id.in_(by_id))
                .order_by(CycleRow.created_at.desc(), CycleRow.id)
            ).all()
            return [self._load(db, row, by_id[row.group_id]) for row in rows]

    def all_cycles(self) -> list[tuple[StoredCycle, str | None]]:
        """Every cycle with its group's team, for counts that name no one (insights)."""
        with self._sessions.transaction() as db:
            rows = db.execute(select(CycleRow, GroupRow).join(GroupRow)).all()
            return [(self._load(db, row, _former_group(g)), g.team) for row, g in rows]

    def forget(self, user: str) -> int:
        """Everything of `user` in any cycle: their notes and check-ins, their situation and
        what the coach made of it in the agendas, and their name as who proposed a cycle. How
        many notes and check-ins went. Their groups are left separately (`GroupStore.forget`)."""
        with self._sessions.transaction() as db:
            gone = [
                db.execute(delete(table).where(table.user_id == user))
                for table in (CycleNoteRow, CheckInRow)
            ]
            for row in db.scalars(select(CycleRow)).all():
                agenda = Agenda.model_validate(row.agenda)
                if any(member.member == user for member in agenda.members):
                    row.agenda = without_member(agenda, user).to_dict()
            db.execute(update(CycleRow).where(CycleRow.proposed_by == user).values(proposed_by=""))
        return sum(int(getattr(each, "rowcount", 0) or 0) for each in gone)

    def note(self, cycle_id: str, user: str, day: int, did: str, noticed: str) -> None:
        """`user`'s notes for `day`, replacing what they wrote for that day before."""
        with self._sessions.transaction() as db:
            found = self._members_row(db, CycleNoteRow, cycle_id, user, day, "record notes")
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
            created_at=row.created_at.replace(tzinfo=row.created_at.tzinfo or UTC),
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
            check_ins=[
                CheckIn(c.day, c.user_id, c.energy, c.word, c.shared)
                for c in db.scalars(
                    select(CheckInRow)
                    .where(CheckInRow.cycle_id == row.id)
                    .order_by(CheckInRow.day, CheckInRow.user_id)
                ).all()
            ],
        )
