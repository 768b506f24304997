"""Coaching sessions in a real database through SQLAlchemy (SQLite by default, PostgreSQL by
URL). A session is committed before its response is sent, so a restart loses none. Both
databases behave the same: the tests run every store on each."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, event, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from api.db.learning import LearningEvent, Listener
from api.db.tables import Base, Record, SessionRow, UserSettingsRow, record_of
from coach.atomic import exclusive_lock
from coach.result import CoachingResult

# Any number, the same in every worker: schema creation holds this PostgreSQL advisory lock.
_SCHEMA_LOCK = 4_711_013


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


def session_row(user_id: str, result: CoachingResult, at: datetime | None = None) -> SessionRow:
    """A new session of `user_id`, made now (or `at`), for the caller to add to a transaction."""
    return SessionRow(
        id=uuid.uuid4().hex,
        user_id=user_id,
        created_at=(at or datetime.now(UTC)).astimezone(UTC),
        situation=plain_text(result.situation),
        language=result.language,
        grounded=result.grounded,
        result_json=result.model_dump_json(),
    )


# An execution option of the read-only transactions (`SessionStore.reading`).
_READ_ONLY = "coach_read_only"


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets readers work while a session is written; a writer waits for another (up to
    10 s) instead of failing with "database is locked" under concurrent requests. The driver's
    own transaction handling is off: `_sqlite_begin` says when a transaction begins."""
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=FULL")
    # A group's cycles, notes and check-ins go with it (ON DELETE CASCADE), as on PostgreSQL.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """A transaction that may write takes SQLite's write lock when it begins (BEGIN IMMEDIATE),
    so what it checks stays true until it commits: SQLite ignores `SELECT ... FOR UPDATE`, and
    the driver's own BEGIN came only before the first write, after the checks (two invitations
    at once took a group over its cap; accept against the last member leaving failed with
    StaleDataError). A read-only transaction reads one snapshot and locks nothing."""
    read_only = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@dataclass(frozen=True)
class InsightRow:
    """A stored result as insights see it: whether its user shares their situations, and who
    they are only so that a theme counts people (insights never show it)."""

    result: CoachingResult
    helpful: bool | None
    shared: bool
    user: str


def plain_text(value: str) -> str:
    """Text as both databases store it: PostgreSQL refuses NUL in a text column, so NUL becomes
    U+FFFD on either (JSON columns escape it and keep the exact text)."""
    return value.replace("\x00", "\ufffd")


def _private_file(path: Path) -> None:
    """Create `path` readable and writable by its owner only, or tighten it when it exists.
    SQLite gives its write-ahead log and shared-memory files the database file's mode."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if each.exists():
            each.chmod(0o600)


def _sqlite_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return None if database.startswith("file:") else Path(database)


class SessionStore:
    """Owns the database (engine and schema); the draft and user stores share it. Sessions
    older than `retention_days` (0: keep them all) are deleted when the store opens and on
    every session it stores."""

    def __init__(self, url: str, retention_days: int = 0) -> None:
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        self.retention_days = retention_days
        sqlite_file = _sqlite_file(self.engine)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        if sqlite_file is not None:
            _private_file(sqlite_file)
            lock = sqlite_file.with_name(sqlite_file.name + ".lock")
            _private_file(lock)
            with exclusive_lock(lock), self.engine.begin() as connection:
                _create_schema(connection)
        else:
            with self.engine.begin() as connection:
                if self.engine.dialect.name == "postgresql":
                    connection.execute(text(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})"))
                _create_schema(connection)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
        )
        self.listeners: list[Listener] = []  # told of each learning event (`api.db.learning`)
        self.purge_expired()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A transaction that may write: on SQLite it holds the write lock from its start, on
        PostgreSQL rows are locked where it selects them `FOR UPDATE`. One request uses one at
        a time: a store called inside another's transaction takes its session (`db`), so a
        request never holds two of the pool's connections (40 concurrent check-ins exhausted
        the pool when each opened a second one)."""
        with self._sessions.begin() as db:
            yield db

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads: one snapshot, no lock, so reads never queue behind
        writes on SQLite."""
        with self._readers.begin() as db:
            yield db

    def lock_user(self, db: Session, user: str) -> None:
        """Hold `user`'s lock until `db` commits, for a check of what they have against a cap
        (SQLite: the transaction holds the write lock already)."""
        if self.engine.dialect.name == "postgresql":
            db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:user))"), {"user": user})

    def learned(self, db: Session, event: LearningEvent) -> None:
        """Tell the listeners of `event`, inside the transaction `db` that stores it."""
        for listener in self.listeners:
            listener(db, event)

    def ping(self) -> None:
        with self.engine.execution_options(**{_READ_ONLY: True}).connect() as connection:
            connection.execute(text("SELECT 1"))

    def add(
        self,
        user_id: str,
        result: CoachingResult,
        *,
        at: datetime | None = None,
        team: str | None = None,
    ) -> StoredSession:
        """Store a session (made now, or `at`), after deleting those past the retention; `team`:
        the team the user asked within (a filter), for the learning record's context."""
        row = session_row(user_id, result, at)
        with self.transaction() as db:
            self._purge(db)
            db.add(row)
            self.learned(
                db,
                LearningEvent(
                    "asked",
                    user_id,
                    row.id,
                    row.created_at,
                    language=result.language,
                    team=team,
                    situation=result.situation,
                ),
            )
        return _stored(row)

    def purge_expired(self) -> int:
        """Delete the sessions older than the retention; how many went."""
        with self.transaction() as db:
            return self._purge(db)

    def _purge(self, db: Session) -> int:
        if self.retention_days <= 0:
            return 0
        cutoff = datetime.now(UTC) - timedelta(days=self.retention_days)
        gone = db.execute(delete(SessionRow).where(SessionRow.created_at < cutoff))
        return int(getattr(gone, "rowcount", 0) or 0)

    def list_for(self, user_id: str, limit: int, offset: int) -> tuple[list[StoredSession], int]:
        with self.reading() as db:
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

    def all_for(self, user_id: str) -> list[StoredSession]:
        """Every session of `user_id`, newest first (what an export of their data holds)."""
        with self.reading() as db:
            rows = db.scalars(
                select(SessionRow)
                .where(SessionRow.user_id == user_id)
                .order_by(SessionRow.created_at.desc(), SessionRow.id)
            ).all()
            return [_stored(row) for row in rows]

    def get(self, session_id: str, user_id: str) -> StoredSession | None:
        """The session when it belongs to `user_id`; None otherwise (someone else's = unknown)."""
        with self.reading() as db:
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
            row.comment = plain_text(comment) if comment is not None else None
            event = LearningEvent(
                "feedback",
                user_id,
                row.id,
                datetime.now(UTC),
                language=row.language,
                helpful=helpful,
            )
            self.learned(db, event)
            return _stored(row)

    def insight_rows(self) -> list[InsightRow]:
        """Every stored result, newest first, with its feedback and whether its user shares
        their situations now (a withdrawn consent hides the earlier ones too)."""
        with self.reading() as db:
            rows = db.execute(
                select(
                    SessionRow.result_json,
                    SessionRow.helpful,
                    UserSettingsRow.share_situations,
                    SessionRow.user_id,
                )
                .outerjoin(UserSettingsRow, UserSettingsRow.user_id == SessionRow.user_id)
                .order_by(SessionRow.created_at.desc(), SessionRow.id)
            ).all()
            return [
                InsightRow(CoachingResult.model_validate_json(data), helpful, bool(shared), user)
                for data, helpful, shared, user in rows
            ]


def _create_schema(connection: Connection) -> None:
    """Every table, every column added to a table since a database was made, and every index of
    the sessions table (one added since is created too), in one transaction the caller
    serialises across processes."""
    Base.metadata.create_all(connection)
    _add_missing_columns(connection)
    for index in Base.metadata.tables[SessionRow.__tablename__].indexes:
        index.create(connection, checkfirst=True)


def _add_missing_columns(connection: Connection) -> None:
    """A database made by an earlier version lacks the columns added since: add them. Only a
    nullable column can be added to rows that exist; the rows get NULL (its absent value)."""
    found = inspect(connection)
    quote = connection.dialect.identifier_preparer.quote
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in found.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise RuntimeError(
                    f"{table.name}.{column.name} is missing and cannot be added to existing rows "
                    "(it is not nullable): migrate the database by hand"
                )
            kind = column.type.compile(dialect=connection.dialect)
            connection.execute(
                text(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {kind}")
            )
