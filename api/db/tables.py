"""The tables, declared together so that creating the schema creates every one of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from coach.keys import MAX_USER_CHARS  # what a user id may be, and so what is stored


class Base(DeclarativeBase):
    pass


class SessionRow(Base):
    __tablename__ = "coaching_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(MAX_USER_CHARS), index=True)
    # indexed: the retention deletes by age on every write
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    situation: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    grounded: Mapped[bool] = mapped_column(Boolean)
    result_json: Mapped[str] = mapped_column(Text)
    helpful: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)


class DraftRow(Base):
    """A lesson a professional recorded after a session, waiting for a curator."""

    __tablename__ = "draft_lessons"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    doc_id: Mapped[str] = mapped_column(String(120), unique=True)
    session_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(String(MAX_USER_CHARS))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # approved / rejected
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(MAX_USER_CHARS), nullable=True)


class UserSettingsRow(Base):
    """What a user chose about their own data; no row means every default (nothing shared)."""

    __tablename__ = "user_settings"

    user_id: Mapped[str] = mapped_column(String(MAX_USER_CHARS), primary_key=True)
    share_situations: Mapped[bool] = mapped_column(Boolean, default=False)
    # Learning records of what they do go to the organisation's LRS unless they opt out (NULL:
    # the default, on; a column added since, so a row made before has NULL).
    learning_records: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Record:
    """What every stored row has: its id, the user it belongs to and when it was made."""

    id: str
    user_id: str
    created_at: datetime


def record_of(row: SessionRow | DraftRow) -> tuple[str, str, datetime]:
    """A row's `Record` fields, in their order; its time in UTC (SQLite hands times back
    without their zone)."""
    moment = row.created_at
    return row.id, row.user_id, moment if moment.tzinfo else moment.replace(tzinfo=UTC)
