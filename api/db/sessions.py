"""Coaching sessions in a real database through SQLAlchemy (SQLite by default, PostgreSQL by
URL). A session is committed before its response is sent, so a restart loses none."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.db.tables import Base, Record, SessionRow, record_of
from coach.result import CoachingResult


@dataclass(frozen=True)
class StoredSession(Record):
    result: CoachingResult
    helpful: bool | None
    comment: str | None


def _stored(row: SessionRow) -> StoredSession:
    return StoredSession(
        *record_of(row),
        result=CoachingResult.model_validate_json(row.result_json),
        helpful=row.helpful,
        comment=row.comment,
    )


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets readers work while a session is written; a writer waits for another (up to
    10 s) instead of failing with "database is locked" under concurrent requests."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class SessionStore:
    """Owns the database (engine and schema); the draft store shares it."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as db:
            yield db

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def add(self, user_id: str, result: CoachingResult) -> StoredSession:
        row = SessionRow(
            id=uuid.uuid4().hex,
            user_id=user_id,
            created_at=datetime.now(UTC),
            situation=result.situation,
            language=result.language,
            grounded=result.grounded,
            result_json=result.model_dump_json(),
        )
        with self.transaction() as db:
            db.add(row)
        return _stored(row)

    def list_for(self, user_id: str, limit: int, offset: int) -> tuple[list[StoredSession], int]:
        with self.transaction() as db:
            total = db.scalar(
                select(func.count()).select_from(SessionRow).where(SessionRow.user_id == user_id)
            )
            rows = db.scalars(
                select(SessionRow)
                .where(SessionRow.user_id == user_id)
                .order_by(SessionRow.created_at.desc(), SessionRow.id)
                .limit(limit)
                .offset(offset)
            ).all()
            return [_stored(row) for row in rows], int(total or 0)

    def get(self, session_id: str, user_id: str) -> StoredSession | None:
        """The session when it belongs to `user_id`; None otherwise (someone else's = unknown)."""
        with self.transaction() as db:
            row = db.get(SessionRow, session_id)
            return _stored(row) if row is not None and row.user_id == user_id else None

    def delete(self, session_id: str, user_id: str) -> bool:
        with self.transaction() as db:
            row = db.get(SessionRow, session_id)
            if row is None or row.user_id != user_id:
                return False
            db.delete(row)
            return True

    def set_feedback(
        self, session_id: str, user_id: str, helpful: bool, comment: str | None
    ) -> StoredSession | None:
        with self.transaction() as db:
            row = db.get(SessionRow, session_id)
            if row is None or row.user_id != user_id:
                return None
            row.helpful = helpful
            row.comment = comment
            return _stored(row)

    def all_results(self) -> list[tuple[CoachingResult, bool | None]]:
        """Every stored result with its feedback (for insights)."""
        with self.transaction() as db:
            rows = db.scalars(select(SessionRow).order_by(SessionRow.created_at.desc())).all()
            return [(CoachingResult.model_validate_json(r.result_json), r.helpful) for r in rows]
