"""The learning records of vital week cycles, told when they come true rather than when
something is written: a member attended a day once that meeting has started (a note written on
Monday for Thursday said `attended` on Monday), and completed the cycle once its last meeting
has ended; never for a cancelled cycle. Each is told once (`CycleRecordRow`); the xAPI
deliverer asks for what is due before each round."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.group_tables import (
    CheckInRow,
    CycleNoteRow,
    CycleRecordRow,
    CycleRow,
    GroupMemberRow,
)
from api.db.groups import MEMBER
from api.db.learning import LearningEvent
from api.db.sessions import SessionStore
from api.db.stored_cycles import PLANNED, meetings_of


class CycleRecords:
    def __init__(self, sessions: SessionStore) -> None:
        self._sessions = sessions

    def record_due(self, now: datetime | None = None) -> int:
        """Tell the learning records now due, once each: a member attended a day (a note or a
        check-in of theirs for it) once that meeting has started, stamped with its start; and
        completed the cycle once its last meeting has ended, stamped with its end. Never for a
        cancelled cycle. How many were told."""
        now = now or datetime.now(UTC)
        told = 0
        with self._sessions.transaction() as db:
            # each cycle is told by one worker at a time; another skips what is locked
            rows = db.scalars(
                select(CycleRow)
                .where(CycleRow.state == PLANNED, CycleRow.records_done.is_not(True))
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                told += self._record_cycle(db, row, now)
        return told

    def _record_cycle(self, db: Session, row: CycleRow, now: datetime) -> int:
        meetings = meetings_of(row.meetings, row.time_zone)
        sent = {
            (r.user_id, r.day)
            for r in db.scalars(select(CycleRecordRow).where(CycleRecordRow.cycle_id == row.id))
        }
        took_part = {
            (user, day)
            for table in (CycleNoteRow, CheckInRow)
            for user, day in db.execute(
                select(table.user_id, table.day).where(table.cycle_id == row.id)
            ).all()
        }
        due: list[tuple[str, int, LearningEvent]] = [
            (
                user,
                day,
                LearningEvent("attended_day", user, row.id, meetings[day - 1].start, day=day),
            )
            for user, day in sorted(took_part)
            if meetings[day - 1].start <= now and (user, day) not in sent
        ]
        over = meetings[-1].end <= now
        if over:  # completed: who took part and is still one of its group's members
            members = set(
                db.scalars(
                    select(GroupMemberRow.user_id).where(
                        GroupMemberRow.group_id == row.group_id, GroupMemberRow.state == MEMBER
                    )
                )
            )
            due += [
                (user, 0, LearningEvent("completed_cycle", user, row.id, meetings[-1].end))
                for user in sorted({user for user, _ in took_part} & members)
                if (user, 0) not in sent
            ]
        for user, day, event in due:
            db.add(CycleRecordRow(cycle_id=row.id, user_id=user, day=day))
            self._sessions.learned(db, event)
        if over:
            row.records_done = True
        return len(due)
