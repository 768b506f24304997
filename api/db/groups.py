"""Learning groups: a few professionals (2 to 8, counting invitations) who learn together,
with at most one facilitator. Only the group's own people see it; everyone else, curators
and admins too, only how many groups there are. Shares the sessions' database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, String, delete, func, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.db.learning import LearningEvent
from api.db.sessions import SessionStore, plain_text
from api.db.tables import Base
from coach.keys import MAX_USER_CHARS  # what a user id may be, and so what is stored

MAX_GROUP_SIZE = 8  # members and open invitations, counting the creator; not the facilitator
MIN_GROUP_SIZE = 2
MAX_GROUP_NAME = 80
MAX_TEAM = 80

# The states a person has in a group. A declined invitation and a member who left are
# dropped (no row), so they may be invited again.
INVITED, MEMBER, FACILITATOR = "invited", "member", "facilitator"


class GroupRow(Base):
    __tablename__ = "learning_groups"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_GROUP_NAME))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    facilitator: Mapped[str | None] = mapped_column(
        String(MAX_USER_CHARS), nullable=True, index=True
    )
    # The team the group works in, as its members name it: insights count cycles by team.
    team: Mapped[str | None] = mapped_column(String(MAX_TEAM), nullable=True)


class GroupMemberRow(Base):
    """A member or an open invitation (`state`)."""

    __tablename__ = "learning_group_members"

    group_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("learning_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(MAX_USER_CHARS), primary_key=True, index=True)
    state: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[str | None] = mapped_column(String(MAX_USER_CHARS), nullable=True)


@dataclass(frozen=True)
class Person:
    user: str
    state: str  # invited or member


@dataclass(frozen=True)
class StoredGroup:
    id: str
    name: str
    created_at: datetime
    facilitator: str | None
    people: list[Person]
    team: str | None = None

    def state_of(self, user: str) -> str | None:
        """`user`'s state in the group (member, invited or facilitator), or None: a stranger."""
        if user == self.facilitator:
            return FACILITATOR
        return next((person.state for person in self.people if person.user == user), None)


class GroupError(Exception):
    """A change the group's state does not allow; `status` is 404 (the caller may not see the
    group, or has nothing to act on) or 409 (they see it, but it conflicts)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _joined(user: str, group: GroupRow) -> LearningEvent:
    return LearningEvent("joined_group", user, group.id, datetime.now(UTC), team=group.team)


class GroupStore:
    def __init__(self, sessions: SessionStore) -> None:
        self._sessions = sessions

    def create(
        self,
        creator: str,
        name: str,
        invitees: list[str],
        facilitator: str | None,
        team: str | None = None,
    ) -> StoredGroup:
        """A group with `creator` as its member and `invitees` invited (the caller checked the
        size and that nobody is named twice)."""
        row = GroupRow(
            id=uuid.uuid4().hex,
            name=plain_text(name),
            created_at=datetime.now(UTC),
            facilitator=facilitator,
            team=plain_text(team) if team else None,
        )
        with self._sessions.transaction() as db:
            db.add(row)
            db.flush()
            db.add(GroupMemberRow(group_id=row.id, user_id=creator, state=MEMBER))
            self._sessions.learned(db, _joined(creator, row))
            for user in invitees:
                db.add(
                    GroupMemberRow(group_id=row.id, user_id=user, state=INVITED, invited_by=creator)
                )
            db.flush()
            return self._load(db, row)

    def mine(self, user: str) -> list[StoredGroup]:
        """Every group `user` is a member of, invited to or facilitates, newest first."""
        with self._sessions.transaction() as db:
            theirs = select(GroupMemberRow.group_id).where(GroupMemberRow.user_id == user)
            rows = db.scalars(
                select(GroupRow)
                .where(or_(GroupRow.id.in_(theirs), GroupRow.facilitator == user))
                .order_by(GroupRow.created_at.desc(), GroupRow.id)
            ).all()
            return [self._load(db, row) for row in rows]

    def get(self, group_id: str, user: str) -> StoredGroup | None:
        """The group when `user` is one of its people; None otherwise (unknown to them)."""
        with self._sessions.transaction() as db:
            row = db.get(GroupRow, group_id)
            found = self._load(db, row) if row is not None else None
            return found if found is not None and found.state_of(user) else None

    def invite(self, group_id: str, by: str, user: str) -> StoredGroup:
        with self._sessions.transaction() as db:
            row, group = self._locked(db, group_id, by)
            if group.state_of(by) != MEMBER:
                raise GroupError(409, "only members invite; accept your invitation first")
            if group.state_of(user) is not None:
                raise GroupError(409, f"{user} is already the group's {group.state_of(user)}")
            if len(group.people) >= MAX_GROUP_SIZE:
                raise GroupError(
                    409,
                    f"the group is full: at most {MAX_GROUP_SIZE} members, counting open "
                    "invitations",
                )
            db.add(GroupMemberRow(group_id=group_id, user_id=user, state=INVITED, invited_by=by))
            db.flush()
            return self._load(db, row)

    def accept(self, group_id: str, user: str) -> StoredGroup:
        with self._sessions.transaction() as db:
            row, _ = self._locked(db, group_id, user)
            member = db.get(GroupMemberRow, (group_id, user))
            if member is None or member.state != INVITED:
                raise GroupError(409, f"you have no open invitation to group {group_id}")
            member.state = MEMBER
            db.flush()
            self._sessions.learned(db, _joined(user, row))
            return self._load(db, row)

    def decline(self, group_id: str, user: str) -> None:
        with self._sessions.transaction() as db:
            self._locked(db, group_id, user)
            member = db.get(GroupMemberRow, (group_id, user))
            if member is None or member.state != INVITED:
                raise GroupError(409, f"you have no open invitation to group {group_id}")
            db.delete(member)

    def leave(self, group_id: str, user: str) -> bool:
        """`user` leaves (a member) or steps down (the facilitator); True when that left the
        group without members, so it is gone."""
        with self._sessions.transaction() as db:
            row, group = self._locked(db, group_id, user)
            if group.state_of(user) == FACILITATOR:
                row.facilitator = None
                return False
            member = db.get(GroupMemberRow, (group_id, user))
            if member is None or member.state != MEMBER:
                raise GroupError(409, "you are invited, not a member: decline instead")
            db.delete(member)
            db.flush()
            if any(person.state == MEMBER for person in self._load(db, row).people):
                return False
            db.execute(delete(GroupMemberRow).where(GroupMemberRow.group_id == group_id))
            db.delete(row)
            return True

    def forget(self, user: str) -> int:
        """`user` leaves every group (a group left without members is gone), their open
        invitations are dropped, they step down as facilitator, and no invitation names them as
        its sender any more; how many groups they were one of the people of."""
        groups = self.mine(user)
        with self._sessions.transaction() as db:
            for group in groups:
                row = db.scalars(
                    select(GroupRow).where(GroupRow.id == group.id).with_for_update()
                ).first()
                if row is None:
                    continue
                if row.facilitator == user:
                    row.facilitator = None
                db.execute(
                    delete(GroupMemberRow).where(
                        GroupMemberRow.group_id == group.id, GroupMemberRow.user_id == user
                    )
                )
                db.flush()
                if not any(p.state == MEMBER for p in self._load(db, row).people):
                    db.execute(delete(GroupMemberRow).where(GroupMemberRow.group_id == group.id))
                    db.delete(row)
            db.execute(
                update(GroupMemberRow)
                .where(GroupMemberRow.invited_by == user)
                .values(invited_by=None)
            )
        return len(groups)

    def counts(self) -> tuple[int, int]:
        """How many groups there are and how many members they have: nothing else."""
        with self._sessions.transaction() as db:
            groups = db.scalar(select(func.count()).select_from(GroupRow))
            members = db.scalar(
                select(func.count())
                .select_from(GroupMemberRow)
                .where(GroupMemberRow.state == MEMBER)
            )
            return int(groups or 0), int(members or 0)

    def _locked(self, db: Session, group_id: str, user: str) -> tuple[GroupRow, StoredGroup]:
        """The group's row, locked until the transaction ends (PostgreSQL; SQLite writes one at
        a time anyway), when `user` may see it; GroupError 404 otherwise."""
        row = db.scalars(select(GroupRow).where(GroupRow.id == group_id).with_for_update()).first()
        group = self._load(db, row) if row is not None else None
        if row is None or group is None or group.state_of(user) is None:
            raise GroupError(404, f"you have no group {group_id}")
        return row, group

    @staticmethod
    def _load(db: Session, row: GroupRow) -> StoredGroup:
        people = db.scalars(
            select(GroupMemberRow)
            .where(GroupMemberRow.group_id == row.id)
            .order_by(GroupMemberRow.user_id)
        ).all()
        return StoredGroup(
            id=row.id,
            name=row.name,
            created_at=_utc(row.created_at),
            facilitator=row.facilitator,
            people=[Person(person.user_id, person.state) for person in people],
            team=row.team,
        )
