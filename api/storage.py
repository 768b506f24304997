"""Coaching sessions in a real database through SQLAlchemy (SQLite by default, PostgreSQL by
URL). A session is committed before its response is sent, so a restart loses none."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from coach.result import CoachingResult


class Base(DeclarativeBase):
    pass


class SessionRow(Base):
    __tablename__ = "coaching_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    situation: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    grounded: Mapped[bool] = mapped_column(Boolean)
    result_json: Mapped[str] = mapped_column(Text)
    helpful: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)


@dataclass(frozen=True)
class StoredSession:
    id: str
    user_id: str
    created_at: datetime
    result: CoachingResult
    helpful: bool | None
    comment: str | None


def _stored(row: SessionRow) -> StoredSession:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return StoredSession(
        id=row.id,
        user_id=row.user_id,
        created_at=created,
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
    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
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
        with self._transaction() as db:
            db.add(row)
        return _stored(row)

    def list_for(self, user_id: str, limit: int, offset: int) -> tuple[list[StoredSession], int]:
        with self._transaction() as db:
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
        with self._transaction() as db:
            row = db.get(SessionRow, session_id)
            return _stored(row) if row is not None and row.user_id == user_id else None

    def delete(self, session_id: str, user_id: str) -> bool:
        with self._transaction() as db:
            row = db.get(SessionRow, session_id)
            if row is None or row.user_id != user_id:
                return False
            db.delete(row)
            return True

    def set_feedback(
        self, session_id: str, user_id: str, helpful: bool, comment: str | None
    ) -> StoredSession | None:
        with self._transaction() as db:
            row = db.get(SessionRow, session_id)
            if row is None or row.user_id != user_id:
                return None
            row.helpful = helpful
            row.comment = comment
            return _stored(row)

    def all_results(self) -> list[tuple[CoachingResult, bool | None]]:
        """Every stored result with its feedback (for insights)."""
        with self._transaction() as db:
            rows = db.scalars(select(SessionRow).order_by(SessionRow.created_at.desc())).all()
            return [(CoachingResult.model_validate_json(r.result_json), r.helpful) for r in rows]


class DraftRow(Base):
    """A lesson a professional recorded after a session, waiting for a curator."""

    __tablename__ = "draft_lessons"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    doc_id: Mapped[str] = mapped_column(String(120), unique=True)
    session_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # approved / rejected
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


@dataclass(frozen=True)
class StoredDraft:
    id: str
    doc_id: str
    session_id: str
    user_id: str
    created_at: datetime
    state: str
    reason: str | None
    decided_by: str | None


def _draft(row: DraftRow) -> StoredDraft:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return StoredDraft(
        row.id, row.doc_id, row.session_id, row.user_id, created, row.state, row.reason,
        row.decided_by,
    )  # fmt: skip


class DraftStore:
    """Drafts share the sessions' database (the engine is passed in)."""

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
        with self._sessions._transaction() as db:
            db.add(row)
        return _draft(row)

    def list(self, state: str | None = "pending") -> list[StoredDraft]:
        with self._sessions._transaction() as db:
            query = select(DraftRow).order_by(DraftRow.created_at)
            if state:
                query = query.where(DraftRow.state == state)
            return [_draft(row) for row in db.scalars(query).all()]

    def get(self, draft_id: str) -> StoredDraft | None:
        with self._sessions._transaction() as db:
            row = db.get(DraftRow, draft_id)
            return _draft(row) if row is not None else None

    def decide(self, draft_id: str, state: str, by: str, reason: str | None = None) -> StoredDraft:
        with self._sessions._transaction() as db:
            row = db.get(DraftRow, draft_id)
            assert row is not None
            row.state, row.decided_by, row.reason = state, by, reason
            return _draft(row)
