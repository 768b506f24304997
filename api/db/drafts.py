"""Draft lessons: what a professional recorded after a session, until a curator decides."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select

from api.db.learning import LearningEvent
from api.db.sessions import SessionStore
from api.db.tables import DraftRow, Record, record_of
from coach.vocabulary import DraftState


@dataclass(frozen=True)
class StoredDraft(Record):
    doc_id: str
    session_id: str
    state: DraftState
    reason: str | None
    decided_by: str | None


def _draft(row: DraftRow) -> StoredDraft:
    return StoredDraft(
        *record_of(row),
        doc_id=row.doc_id,
        session_id=row.session_id,
        state=cast(DraftState, row.state),  # only ever written from a DraftState
        reason=row.reason,
        decided_by=row.decided_by,
    )


class DraftStore:
    """Drafts share the sessions' database (the session store is passed in)."""

    def __init__(self, sessions: SessionStore) -> None:
        self._sessions = sessions

    def add(self, doc_id: str, session_id: str, user_id: str) -> StoredDraft:
        row = DraftRow(
            id=uuid.uuid4().hex,
            doc_id=doc_id,
            session_id=session_id,
            user_id=user_id,
            created_at=datetime.now(UTC),
            state="pending",
        )
        with self._sessions.transaction() as db:
            db.add(row)
            self._sessions.learned(
                db, LearningEvent("lesson_recorded", user_id, doc_id, row.created_at)
            )
        return _draft(row)

    def list_for_user(self, user_id: str) -> list[StoredDraft]:
        """Every draft `user_id` recorded, whatever its state, oldest first."""
        with self._sessions.transaction() as db:
            query = select(DraftRow).where(DraftRow.user_id == user_id)
            rows = db.scalars(query.order_by(DraftRow.created_at, DraftRow.id)).all()
            return [_draft(row) for row in rows]

    def list(self, state: DraftState | None = "pending") -> list[StoredDraft]:
        with self._sessions.transaction() as db:
            query = select(DraftRow).order_by(DraftRow.created_at)
            if state:
                query = query.where(DraftRow.state == state)
            return [_draft(row) for row in db.scalars(query).all()]

    def get(self, draft_id: str) -> StoredDraft | None:
        with self._sessions.transaction() as db:
            row = db.get(DraftRow, draft_id)
            return _draft(row) if row is not None else None

    def pending_count(self, user_id: str) -> int:
        """How many of `user_id`'s drafts wait for a curator's decision."""
        with self._sessions.transaction() as db:
            query = select(DraftRow.id).where(
                DraftRow.user_id == user_id, DraftRow.state == "pending"
            )
            return len(db.scalars(query).all())

    def decide(
        self, draft_id: str, state: DraftState, by: str, reason: str | None = None
    ) -> StoredDraft:
        with self._sessions.transaction() as db:
            row = db.get(DraftRow, draft_id)
            assert row is not None
            row.state, row.decided_by, row.reason = state, by, reason
            if state == "approved":  # the author's learning, not the curator's
                event = LearningEvent("lesson_accepted", row.user_id, row.doc_id, datetime.now(UTC))
                self._sessions.learned(db, event)
            return _draft(row)
