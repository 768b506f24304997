"""Vital week cycles of learning groups: four planned meetings, each member's own situation
for them, their agenda (as JSON, built once the members have answered or at the time the
proposer set) and each member's notes and check-ins per day. A cycle is seen by its group's
members and facilitator only; only members write, and only in their own name. Shares the
sessions' database.

Who answered what (`CycleAnswerRow`): a member brings a situation (one of their own sessions,
or text they typed, coached and stored as their session by their own request) or brings none.
What the proposer typed for someone else is a suggestion that member alone sees, until they
bring it (as it is or edited) or something else; nothing is stored in their name before."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TypeVar

from sqlalchemy import (
    delete,
    func,
    select,
    union,
    update,
)
from sqlalchemy.orm import Session

from api.db.group_tables import (
    CheckInRow,
    CycleAnswerRow,
    CycleNoteRow,
    CycleRecordRow,
    CycleRow,
    GroupRow,
)
from api.db.groups import FACILITATOR, MEMBER, GroupError, GroupStore, StoredGroup
from api.db.learning import LearningEvent
from api.db.sessions import SessionStore, plain_text, session_row
from api.db.stored_cycles import (
    BRINGS,
    BRINGS_NONE,
    CANCELLED,
    PLANNED,
    SUGGESTED,
    Brought,
    CyclePlan,
    StoredCycle,
    brought_situations,
    former_group,
    load_cycle,
    meetings_of,
    stored_meetings,
    utc,
)
from coach.cycles.agenda import Agenda, agenda_from_results, without_member
from coach.cycles.planning import Meeting
from coach.ingest.didactics import Didactics

# Cycles of one group not yet over (planned, last meeting still to come): one group proposed
# cycles without end.
MAX_OPEN_CYCLES = 4
MAX_NOTE = 4000
ENERGY = (1, 5)  # a check-in's energy: from 1 to 5


Row = TypeVar("Row", CycleNoteRow, CheckInRow)


class CycleStore:
    def __init__(
        self,
        sessions: SessionStore,
        groups: GroupStore,
        time_zone: str,
        didactics: Callable[[], Didactics],
    ) -> None:
        self._sessions = sessions
        self._groups = groups
        self.time_zone = time_zone  # the IANA zone new cycles are planned in
        self._didactics = didactics  # the current questions, for an agenda built later

    def create(
        self,
        group_id: str,
        by: str,
        plan: CyclePlan,
        agenda_at: datetime | None,
        brought: Brought | None,
        suggestions: dict[str, str],
    ) -> StoredCycle:
        """A cycle proposed by `by` (a member of the group), who brings `brought` (or answers
        later), with `suggestions` (member: text) for other members to bring if they choose;
        its agenda is built once every member answered, or at `agenda_at`. GroupError 404/409
        when `by` is no member (any more) or the group has MAX_OPEN_CYCLES cycles to come."""
        now = datetime.now(UTC)
        with self._sessions.transaction() as db:
            # locked before it is read: membership and the cycles to come hold until commit
            db.scalars(select(GroupRow.id).where(GroupRow.id == group_id).with_for_update()).all()
            group = self._groups.visible(db, group_id, by)
            if group is None:
                raise GroupError(404, f"you have no group {group_id}")
            if group.state_of(by) != MEMBER:
                raise GroupError(
                    409, "only the group's members propose a cycle (a facilitator reads along)"
                )
            if self._open_cycles(db, group_id, now) >= MAX_OPEN_CYCLES:
                raise GroupError(
                    409,
                    f"the group has {MAX_OPEN_CYCLES} cycles still to come: cancel one, or wait "
                    "until one is over",
                )
            row = CycleRow(
                id=uuid.uuid4().hex,
                group_id=group_id,
                proposed_by=by,
                created_at=now,
                start=plan.start,
                time=plan.time,
                time_zone=self.time_zone,
                place=plain_text(plan.place) if plan.place else None,
                holidays=[day.isoformat() for day in plan.holidays],
                meetings=stored_meetings(plan.meetings),
                agenda=agenda_from_results(self._didactics(), [], []).to_dict(),
                state=PLANNED,
                sequence=0,
                agenda_at=agenda_at.astimezone(UTC) if agenda_at else None,  # SQLite drops zones
                agenda_ready=False,
            )
            db.add(row)
            db.flush()
            for member, text in suggestions.items():
                if group.state_of(member) != MEMBER or member == by:
                    raise GroupError(409, f"{member} is not another accepted member of the group")
                db.add(
                    CycleAnswerRow(
                        cycle_id=row.id,
                        user_id=member,
                        state=SUGGESTED,
                        suggestion=plain_text(text),
                        suggested_by=by,
                    )
                )
            if brought is not None:
                self._bring(db, row.id, by, brought)
            self._settle(db, row, group, now)
            return load_cycle(db, row, group)

    def answer(self, cycle_id: str, user: str, brought: Brought | None) -> StoredCycle:
        """`user` (a member) brings `brought`, or nothing (None); 409 once it is built."""
        with self._sessions.transaction() as db:
            row, group = self._visible(db, cycle_id, user, lock=True)
            if group.state_of(user) != MEMBER:
                raise GroupError(409, "only the group's members bring a situation")
            if row.state == CANCELLED:
                raise GroupError(409, "the cycle is cancelled")
            now = datetime.now(UTC)
            self._settle(db, row, group, now)
            if row.agenda_ready is not False:
                raise GroupError(
                    409,
                    "the agenda is set: it was built with the situations given in time; "
                    "bring yours to the group's next cycle",
                )
            self._bring(db, cycle_id, user, brought)
            self._settle(db, row, group, now)
            return load_cycle(db, row, group)

    def build_now(self, cycle_id: str, user: str) -> StoredCycle:
        """The agenda built now, with the situations given so far (the proposer sets the time;
        409 for anyone else, and once it is built)."""
        with self._sessions.transaction() as db:
            row, group = self._visible(db, cycle_id, user, lock=True)
            if row.proposed_by != user or group.state_of(user) != MEMBER:
                raise GroupError(409, "only who proposed the cycle sets when its agenda is built")
            if row.state == CANCELLED or row.agenda_ready is not False:
                raise GroupError(409, "the agenda is built already, or the cycle is cancelled")
            row.agenda_at = datetime.now(UTC)
            self._settle(db, row, group, row.agenda_at)
            return load_cycle(db, row, group)

    def _bring(self, db: Session, cycle_id: str, user: str, brought: Brought | None) -> None:
        found = db.get(CycleAnswerRow, (cycle_id, user))
        if found is None:
            found = CycleAnswerRow(cycle_id=cycle_id, user_id=user)
            db.add(found)
        found.suggestion = found.suggested_by = found.session_id = None
        found.state = BRINGS_NONE
        if brought is None:
            return
        if brought.result is not None:
            session = session_row(user, brought.result)
            db.add(session)
            self._sessions.learned(
                db,
                LearningEvent(
                    "asked",
                    user,
                    session.id,
                    session.created_at,
                    language=brought.result.language,
                    situation=brought.result.situation,
                ),
            )
            found.session_id = session.id
        else:
            found.session_id = brought.session_id
        found.state = BRINGS
        db.flush()

    def _settle(self, db: Session, row: CycleRow, group: StoredGroup, now: datetime) -> None:
        """Build the agenda when it is due: every member answered, or its time came. From the
        situations brought by then, whose sessions are still there."""
        if row.agenda_ready is not False or row.state == CANCELLED:
            return
        answers = {
            a.user_id: a
            for a in db.scalars(
                select(CycleAnswerRow).where(CycleAnswerRow.cycle_id == row.id)
            ).all()
        }
        answered = all(m in answers and answers[m].state != SUGGESTED for m in group.members)
        if not answered and (row.agenda_at is None or utc(row.agenda_at) > now):
            return
        current = [a for a in answers.values() if a.user_id in group.members]  # not who left
        members, results = brought_situations(db, current)
        row.agenda = agenda_from_results(self._didactics(), members, results).to_dict()
        row.agenda_ready = True
        db.execute(
            delete(CycleAnswerRow).where(
                CycleAnswerRow.cycle_id == row.id, CycleAnswerRow.state == SUGGESTED
            )
        )
        db.flush()

    def get(self, cycle_id: str, user: str) -> StoredCycle:
        """The cycle when `user` is its group's member or facilitator; GroupError 404 if not.
        A proposed cycle whose agenda is due gets it built first."""
        with self._sessions.reading() as db:
            row, group = self._visible(db, cycle_id, user, lock=False)
            due = row.agenda_ready is False and row.state != CANCELLED
            if not due:
                return load_cycle(db, row, group)
        with self._sessions.transaction() as db:
            row, group = self._visible(db, cycle_id, user, lock=True)
            self._settle(db, row, group, datetime.now(UTC))
            return load_cycle(db, row, group)

    def move(self, cycle_id: str, user: str, start: date, meetings: tuple[Meeting, ...]) -> None:
        with self._sessions.transaction() as db:
            row, group = self._visible(db, cycle_id, user, lock=True)
            _member_writes(group, user, "move a cycle")
            if row.state == CANCELLED:
                raise GroupError(409, "the cycle is cancelled; propose a new one instead")
            if meetings_of(row.meetings, row.time_zone)[0].start <= datetime.now(UTC):
                raise GroupError(409, "the cycle has begun: its meetings stay as they were held")
            row.start, row.meetings = start, stored_meetings(meetings)
            row.sequence += 1
            if row.agenda_ready is False and row.agenda_at is not None:
                row.agenda_at = min(utc(row.agenda_at), meetings[0].start).astimezone(UTC)

    def cancel(self, cycle_id: str, user: str) -> None:
        """The plan is kept, to look back on; SEQUENCE goes up, so a calendar client that
        imports the file again marks the same events cancelled."""
        with self._sessions.transaction() as db:
            row, group = self._visible(db, cycle_id, user, lock=True)
            _member_writes(group, user, "cancel a cycle")
            if meetings_of(row.meetings, row.time_zone)[-1].end <= datetime.now(UTC):
                raise GroupError(409, "the cycle is over: it was held, and stays so")
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
        only the group's members may, and not in a cancelled cycle. The learning records it
        means are told when the meeting has started (`record_learning`)."""
        row, group = self._visible(db, cycle_id, user, lock=True)
        _member_writes(group, user, doing)
        if row.state == CANCELLED:
            raise GroupError(409, "the cycle is cancelled: its notes and check-ins are closed")
        row.records_done = None
        found = db.get(table, (cycle_id, day, user))
        if found is None:
            found = table(cycle_id=cycle_id, day=day, user_id=user)
            db.add(found)
        return found

    def for_user(self, user: str) -> list[StoredCycle]:
        """Every cycle of the groups `user` is a member or the facilitator of, and every cycle
        they wrote a note or checked in on or brought a situation to (also of a group they left
        since, or that is gone: what they did there is theirs), newest first."""
        groups, _ = self._groups.mine(user)
        mine = [g for g in groups if g.state_of(user) in (MEMBER, FACILITATOR)]
        found = {cycle.id: cycle for cycle in self._of_groups(mine)}
        with self._sessions.reading() as db:
            took_part = union(
                select(CycleNoteRow.cycle_id).where(CycleNoteRow.user_id == user),
                select(CheckInRow.cycle_id).where(CheckInRow.user_id == user),
                select(CycleAnswerRow.cycle_id).where(
                    CycleAnswerRow.user_id == user, CycleAnswerRow.state == BRINGS
                ),
            )
            rows = db.execute(
                select(CycleRow, GroupRow)
                .join(GroupRow)
                .where(CycleRow.id.in_(took_part), CycleRow.id.not_in(list(found)))
            ).all()
            for row, group_row in rows:
                found[row.id] = load_cycle(db, row, former_group(group_row))
        return sorted(found.values(), key=lambda c: (c.created_at, c.id), reverse=True)

    def of_group(self, group: StoredGroup, limit: int | None = None) -> list[StoredCycle]:
        """The group's cycles, newest first (the caller checked who may see the group)."""
        return self._of_groups([group], limit)

    def _of_groups(self, groups: list[StoredGroup], limit: int | None = None) -> list[StoredCycle]:
        by_id = {group.id: group for group in groups}
        with self._sessions.reading() as db:
            query = (
                select(CycleRow)
                .where(CycleRow.group_id.in_(by_id))
                .order_by(CycleRow.created_at.desc(), CycleRow.id)
            )
            rows = db.scalars(query if limit is None else query.limit(limit)).all()
            return [load_cycle(db, row, by_id[row.group_id]) for row in rows]

    def count_of_group(self, group_id: str) -> int:
        with self._sessions.reading() as db:
            found = db.scalar(
                select(func.count()).select_from(CycleRow).where(CycleRow.group_id == group_id)
            )
            return int(found or 0)

    def all_cycles(self) -> list[StoredCycle]:
        """Every cycle, for counts that name no one (insights)."""
        with self._sessions.reading() as db:
            rows = db.execute(select(CycleRow, GroupRow).join(GroupRow)).all()
            return [load_cycle(db, row, former_group(g)) for row, g in rows]

    def forget(self, user: str) -> int:
        """Everything of `user` in any cycle: their notes and check-ins, their answers and the
        suggestions they made, their situation and what the coach made of it in the agendas,
        the learning records told, and their name as who proposed a cycle. How many notes and
        check-ins went. Their groups are left separately (`GroupStore.forget`)."""
        with self._sessions.transaction() as db:
            gone = [
                db.execute(delete(table).where(table.user_id == user))
                for table in (CycleNoteRow, CheckInRow)
            ]
            db.execute(delete(CycleAnswerRow).where(CycleAnswerRow.user_id == user))
            db.execute(delete(CycleAnswerRow).where(CycleAnswerRow.suggested_by == user))
            db.execute(delete(CycleRecordRow).where(CycleRecordRow.user_id == user))
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
        """The cycle's row and its group, read in `db` (one request, one connection), when
        `user` is a member or the facilitator; with `lock`, locked until `db` commits."""
        query = select(CycleRow).where(CycleRow.id == cycle_id)
        row = db.scalars(query.with_for_update() if lock else query).first()
        group = self._groups.visible(db, row.group_id, user) if row is not None else None
        if row is None or group is None or group.state_of(user) not in (MEMBER, FACILITATOR):
            raise GroupError(404, f"you have no cycle {cycle_id}")
        return row, group

    @staticmethod
    def _open_cycles(db: Session, group_id: str, now: datetime) -> int:
        rows = db.scalars(
            select(CycleRow.meetings).where(
                CycleRow.group_id == group_id, CycleRow.state == PLANNED
            )
        ).all()
        return sum(datetime.fromisoformat(meetings[-1][1]) > now for meetings in rows)


def _member_writes(group: StoredGroup, user: str, doing: str) -> None:
    if group.state_of(user) != MEMBER:
        raise GroupError(409, f"only the group's members {doing}; a facilitator reads along")
