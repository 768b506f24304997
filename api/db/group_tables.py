"""The tables of learning groups and their vital week cycles, below the stores that use
them (`groups`, `cycles`): a group's store asks whether anyone wrote in its cycles."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.tables import Base
from coach.keys import MAX_USER_CHARS  # what a user id may be, and so what is stored

MAX_GROUP_NAME = 80
MAX_TEAM = 80
MAX_PLACE = 200
MAX_WORD = 40  # the optional word of a check-in


class GroupRow(Base):
    __tablename__ = "learning_groups"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_GROUP_NAME))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The facilitator who accepted their invitation (an open one is a member row).
    facilitator: Mapped[str | None] = mapped_column(
        String(MAX_USER_CHARS), nullable=True, index=True
    )
    # The team the group works in, as its members name it: free text, so shown to the group's
    # own people only (not in insights, not in learning records).
    team: Mapped[str | None] = mapped_column(String(MAX_TEAM), nullable=True)


class GroupMemberRow(Base):
    """A member, an open invitation, or an open invitation to facilitate (`state`)."""

    __tablename__ = "learning_group_members"

    group_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("learning_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(MAX_USER_CHARS), primary_key=True, index=True)
    state: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[str | None] = mapped_column(String(MAX_USER_CHARS), nullable=True)


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
    # Columns added since (NULL in rows made before): the agenda is built by this time at the
    # latest; whether it is built (NULL: built when proposed, as before); whether every
    # learning record due is sent (a note written since clears it).
    agenda_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    agenda_ready: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    records_done: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class CycleAnswerRow(Base):
    """A member's answer to a proposed cycle (`state`), or a suggestion made to them."""

    __tablename__ = "vital_week_cycle_answers"

    cycle_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("vital_week_cycles.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(MAX_USER_CHARS), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    suggestion: Mapped[str | None] = mapped_column(Text, nullable=True)
    suggested_by: Mapped[str | None] = mapped_column(String(MAX_USER_CHARS), nullable=True)


class CycleRecordRow(Base):
    """A learning record told for a cycle: a member attended `day`, or (day 0) completed it."""

    __tablename__ = "vital_week_cycle_records"

    cycle_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("vital_week_cycles.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(MAX_USER_CHARS), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)


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
