"""The outbox of learning records (xAPI statements): written in the transaction of the action
they record, delivered to the Learning Record Store later (`api.xapi.delivery`), each with the
id the coach chose, so a retry cannot record anything twice.

A worker claims due statements for a while before it sends them; another worker skips them
until the claim runs out (a worker killed mid-delivery delays them by that long, loses none).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.db.sessions import SessionStore
from api.db.tables import Base
from coach.keys import MAX_USER_CHARS

CLAIM_SECONDS = 60  # how long a worker has to deliver what it claimed
MAX_BACKOFF_SECONDS = 300
ACTOR_KEY = "xapi_actor_key"


class OutboxRow(Base):
    __tablename__ = "xapi_outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the statement's id
    user_id: Mapped[str] = mapped_column(String(MAX_USER_CHARS), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    statement: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claim: Mapped[str | None] = mapped_column(String(32), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ServiceValueRow(Base):
    """A value the service made once and keeps, the same for every worker (the key that makes
    user ids opaque in learning records)."""

    __tablename__ = "service_values"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class Claimed:
    id: str
    statement: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class KeptRecord:
    """A statement as the outbox keeps it: `delivered_at` None while it waits."""

    id: str
    statement: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class OutboxStatus:
    pending: int  # not delivered yet
    failing: int  # of those, tried at least once
    delivered: int
    oldest_pending: datetime | None
    next_attempt: datetime | None
    last_error: str | None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite keeps no zone


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else _aware(moment)


def backoff(attempts: int) -> timedelta:
    """How long to wait after `attempts` failed deliveries: 2, 4, 8 ... seconds, at most 5 min."""
    return timedelta(seconds=min(2 ** max(attempts, 1), MAX_BACKOFF_SECONDS))


class Outbox:
    """Learning records waiting for, or past, delivery; shares the sessions' database."""

    def __init__(self, sessions: SessionStore) -> None:
        self._sessions = sessions

    @staticmethod
    def add(db: Session, user: str, statement: dict[str, Any], at: datetime) -> None:
        """Queue `statement` (it carries its own `id`) in the caller's transaction."""
        db.add(
            OutboxRow(
                id=statement["id"],
                user_id=user,
                created_at=at.astimezone(UTC),  # SQLite keeps no zone: UTC, as read back
                statement=statement,
                attempts=0,
                next_attempt_at=at.astimezone(UTC),
            )
        )

    def claim(self, limit: int = 50, now: datetime | None = None) -> tuple[str, list[Claimed]]:
        """Up to `limit` due statements, oldest first, claimed for CLAIM_SECONDS: the claim's
        token and the statements."""
        moment = now or datetime.now(UTC)
        token = uuid.uuid4().hex
        with self._sessions.transaction() as db:
            due = (
                select(OutboxRow.id)
                .where(
                    OutboxRow.delivered_at.is_(None),
                    OutboxRow.next_attempt_at <= moment,
                    or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < moment),
                )
                .order_by(OutboxRow.created_at, OutboxRow.id)
                .limit(limit)
            )
            ids = list(db.scalars(due).all())
            if ids:
                db.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id.in_(ids))
                    .values(claim=token, claimed_until=moment + timedelta(seconds=CLAIM_SECONDS))
                )
            rows = db.scalars(
                select(OutboxRow).where(OutboxRow.claim == token).order_by(OutboxRow.created_at)
            ).all()
            return token, [Claimed(row.id, row.statement, row.attempts) for row in rows]

    def delivered(self, token: str, ids: list[str]) -> None:
        with self._sessions.transaction() as db:
            db.execute(
                update(OutboxRow)
                .where(OutboxRow.claim == token, OutboxRow.id.in_(ids))
                .values(delivered_at=datetime.now(UTC), claim=None, claimed_until=None)
            )

    def failed(self, token: str, ids: list[str], error: str) -> None:
        """Try these again later, waiting longer after each failure."""
        now = datetime.now(UTC)
        with self._sessions.transaction() as db:
            for row in db.scalars(
                select(OutboxRow).where(OutboxRow.claim == token, OutboxRow.id.in_(ids))
            ).all():
                row.attempts += 1
                row.next_attempt_at = now + backoff(row.attempts)
                row.claim, row.claimed_until, row.last_error = None, None, error[:500]

    def retry_now(self) -> int:
        """Make every undelivered statement due at once (for a flush); how many."""
        with self._sessions.transaction() as db:
            done = db.execute(
                update(OutboxRow)
                .where(OutboxRow.delivered_at.is_(None))
                .values(next_attempt_at=datetime.now(UTC), claim=None, claimed_until=None)
            )
            return int(getattr(done, "rowcount", 0) or 0)

    def status(self) -> OutboxStatus:
        with self._sessions.transaction() as db:
            waiting = OutboxRow.delivered_at.is_(None)
            pending, failing, oldest, upcoming = db.execute(
                select(
                    func.count(),
                    func.count().filter(OutboxRow.attempts > 0),
                    func.min(OutboxRow.created_at),
                    func.min(OutboxRow.next_attempt_at),
                ).where(waiting)
            ).one()
            delivered = db.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(OutboxRow.delivered_at.is_not(None))
            )
            error = db.scalar(
                select(OutboxRow.last_error)
                .where(waiting, OutboxRow.last_error.is_not(None))
                .order_by(OutboxRow.next_attempt_at.desc())
                .limit(1)
            )
            return OutboxStatus(
                pending=int(pending or 0),
                failing=int(failing or 0),
                delivered=int(delivered or 0),
                oldest_pending=_utc(oldest),
                next_attempt=_utc(upcoming),
                last_error=error,
            )

    def kept_for(self, user: str) -> list[KeptRecord]:
        """Every statement of `user`'s the outbox holds, delivered or waiting, oldest first."""
        with self._sessions.transaction() as db:
            rows = db.scalars(
                select(OutboxRow)
                .where(OutboxRow.user_id == user)
                .order_by(OutboxRow.created_at, OutboxRow.id)
            ).all()
            return [
                KeptRecord(row.id, row.statement, _aware(row.created_at), _utc(row.delivered_at))
                for row in rows
            ]

    def rewrite_waiting(
        self, user: str, rewrite: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> int:
        """Replace each of `user`'s statements not delivered yet by `rewrite(statement)` (what
        they no longer allow taken out); how many changed. One a worker is sending at this
        moment goes as it was; delivered ones are the LRS's already."""
        changed = 0
        with self._sessions.transaction() as db:
            for row in db.scalars(
                select(OutboxRow)
                .where(OutboxRow.user_id == user, OutboxRow.delivered_at.is_(None))
                .with_for_update()
            ).all():
                revised = rewrite(row.statement)
                if revised != row.statement:
                    row.statement = revised  # a new value: a JSON column sees no change in place
                    changed += 1
        return changed

    def forget(self, user: str) -> int:
        """Delete every statement of `user`'s, delivered or not: the rows name them and may
        hold a situation's text. The LRS keeps what it was sent; voiding it there is the
        organisation's (README, "Learning records")."""
        with self._sessions.transaction() as db:
            gone = db.execute(delete(OutboxRow).where(OutboxRow.user_id == user))
            return int(getattr(gone, "rowcount", 0) or 0)

    def actor_key(self) -> str:
        """The deployment's key for opaque user ids: made by the first worker that needs it,
        then the same for all (an insert that loses the race reads the winner's)."""
        with self._sessions.transaction() as db:
            found = db.get(ServiceValueRow, ACTOR_KEY)
            if found is not None:
                return found.value
        try:
            with self._sessions.transaction() as db:
                db.add(ServiceValueRow(name=ACTOR_KEY, value=secrets.token_hex(32)))
        except IntegrityError:  # another worker inserted it first
            pass
        with self._sessions.transaction() as db:
            row = db.get(ServiceValueRow, ACTOR_KEY)
            assert row is not None
            return row.value
