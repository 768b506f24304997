"""Learning groups: a few professionals (2 to 8, counting invitations) who learn together,
with at most one facilitator. Only the group's own people see it; everyone else, curators
and admins too, only how many groups there are. Shares the sessions' database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from api.db.group_tables import (
    CheckInRow,
    CycleAnswerRow,
    CycleNoteRow,
    CycleRow,
    GroupMemberRow,
    GroupRow,
)
from api.db.learning import LearningEvent
from api.db.sessions import SessionStore, plain_text

MAX_GROUP_SIZE = 8  # members and open invitations, counting the creator; not the facilitator
MIN_GROUP_SIZE = 2
# The groups one person may be a member of when they create another (one user created 400 in
# 2 s); invitations do not count, so nobody is kept from creating one by being invited.
MAX_GROUPS_PER_USER = 20

# The states a person has in a group. A declined invitation and a member who left are
# dropped (no row), so they may be invited again. A facilitator is invited too, and is the
# group's facilitator only once they accept; then they read along and write nothing.
INVITED, MEMBER, FACILITATOR = "invited", "member", "facilitator"
INVITED_FACILITATOR = "invited_facilitator"
# As stored: the state column holds 16 characters in databases made before.
_ASKED_TO_FACILITATE = "inv_facilitator"
# The states that count towards the group's size (the facilitator does not).
_COUNTED = (INVITED, MEMBER)


@dataclass(frozen=True)
class Person:
    user: str
    state: str  # invited, member or invited_facilitator


@dataclass(frozen=True)
class StoredGroup:
    id: str
    name: str
    created_at: datetime
    facilitator: str | None
    people: list[Person]
    team: str | None = None

    def state_of(self, user: str) -> str | None:
        """`user`'s state in the group (member, invited, facilitator or invited_facilitator),
        or None: a stranger."""
        if user == self.facilitator:
            return FACILITATOR
        return next((person.state for person in self.people if person.user == user), None)

    @property
    def members(self) -> list[str]:
        """The accepted members."""
        return [person.user for person in self.people if person.state == MEMBER]


class GroupError(Exception):
    """A change the group's state does not allow; `status` is 404 (the caller may not see the
    group, or has nothing to act on) or 409 (they see it, but it conflicts)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def exists_work(group_id: str) -> Any:
    """Whether anyone wrote a note or checked in on one of the group's cycles (an EXISTS)."""
    cycles = select(CycleRow.id).where(CycleRow.group_id == group_id)
    return (
        select(CycleNoteRow.cycle_id)
        .where(CycleNoteRow.cycle_id.in_(cycles))
        .union_all(select(CheckInRow.cycle_id).where(CheckInRow.cycle_id.in_(cycles)))
        .exists()
    )


def _withdraw_answers(db: Session, group_id: str, user: str) -> None:
    """What `user` brought to the group's cycles whose agenda is not built yet: withdrawn when
    they leave (their situation would otherwise reach the agenda, and whoever joins since)."""
    waiting = select(CycleRow.id).where(
        CycleRow.group_id == group_id, CycleRow.agenda_ready.is_(False)
    )
    db.execute(
        delete(CycleAnswerRow).where(
            CycleAnswerRow.cycle_id.in_(waiting), CycleAnswerRow.user_id == user
        )
    )


def _joined(user: str, group: GroupRow) -> LearningEvent:
    # No team: a group's is free text ("Team of Piet Jansen"), not for the LRS.
    return LearningEvent("joined_group", user, group.id, datetime.now(UTC))


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
        """A group with `creator` as its member, `invitees` invited and `facilitator` invited to
        facilitate (the caller checked the size and that nobody is named twice); GroupError 409
        when the creator is in MAX_GROUPS_PER_USER groups already."""
        row = GroupRow(
            id=uuid.uuid4().hex,
            name=plain_text(name),
            created_at=datetime.now(UTC),
            facilitator=None,
            team=plain_text(team) if team else None,
        )
        with self._sessions.transaction() as db:
            self._sessions.lock_user(db, creator)
            member_of = select(func.count()).where(
                GroupMemberRow.user_id == creator, GroupMemberRow.state == MEMBER
            )
            if int(db.scalar(member_of) or 0) >= MAX_GROUPS_PER_USER:
                raise GroupError(
                    409,
                    f"you are a member of {MAX_GROUPS_PER_USER} groups already: leave one "
                    "before you create another",
                )
            db.add(row)
            db.flush()
            db.add(GroupMemberRow(group_id=row.id, user_id=creator, state=MEMBER))
            self._sessions.learned(db, _joined(creator, row))
            for user in invitees:
                db.add(
                    GroupMemberRow(group_id=row.id, user_id=user, state=INVITED, invited_by=creator)
                )
            if facilitator is not None:
                db.add(
                    GroupMemberRow(
                        group_id=row.id,
                        user_id=facilitator,
                        state=_ASKED_TO_FACILITATE,
                        invited_by=creator,
                    )
                )
            db.flush()
            return self._load(db, row)

    @staticmethod
    def _theirs(user: str) -> Any:
        """The ids of the groups `user` is one of the people of."""
        return (
            select(GroupMemberRow.group_id)
            .where(GroupMemberRow.user_id == user)
            .union(select(GroupRow.id).where(GroupRow.facilitator == user))
        )

    def _count_of(self, db: Session, user: str) -> int:
        found = db.scalar(select(func.count()).select_from(self._theirs(user).subquery()))
        return int(found or 0)

    def mine(
        self, user: str, limit: int | None = None, offset: int = 0
    ) -> tuple[list[StoredGroup], int]:
        """The groups `user` is a member of, invited to or facilitates, newest first (`limit`
        of them from `offset`; all without a limit), and how many there are in all."""
        with self._sessions.reading() as db:
            query = (
                select(GroupRow)
                .where(GroupRow.id.in_(self._theirs(user)))
                .order_by(GroupRow.created_at.desc(), GroupRow.id)
                .offset(offset)
            )
            rows = db.scalars(query if limit is None else query.limit(limit)).all()
            return [self._load(db, row) for row in rows], self._count_of(db, user)

    def get(self, group_id: str, user: str) -> StoredGroup | None:
        """The group when `user` is one of its people; None otherwise (unknown to them)."""
        with self._sessions.reading() as db:
            return self.visible(db, group_id, user)

    def visible(self, db: Session, group_id: str, user: str) -> StoredGroup | None:
        """`get` inside the caller's transaction `db`."""
        row = db.get(GroupRow, group_id)
        found = self._load(db, row) if row is not None else None
        return found if found is not None and found.state_of(user) else None

    def invite(
        self, group_id: str, by: str, user: str, *, facilitator: bool = False
    ) -> StoredGroup:
        """`by` (a member) invites `user` as a member, or as the group's facilitator (at most
        one, invited or accepted; not counted in the group's size)."""
        with self._sessions.transaction() as db:
            row, group = self._locked(db, group_id, by)
            if group.state_of(by) != MEMBER:
                raise GroupError(409, "only members invite; accept your invitation first")
            if group.state_of(user) is not None:
                raise GroupError(409, f"{user} is already the group's {group.state_of(user)}")
            if facilitator and (
                group.facilitator is not None
                or any(p.state == INVITED_FACILITATOR for p in group.people)
            ):
                raise GroupError(409, "the group has a facilitator (or invited one) already")
            if not facilitator and sum(p.state in _COUNTED for p in group.people) >= MAX_GROUP_SIZE:
                raise GroupError(
                    409,
                    f"the group is full: at most {MAX_GROUP_SIZE} members, counting open "
                    "invitations",
                )
            state = _ASKED_TO_FACILITATE if facilitator else INVITED
            db.add(GroupMemberRow(group_id=group_id, user_id=user, state=state, invited_by=by))
            db.flush()
            return self._load(db, row)

    def accept(self, group_id: str, user: str) -> StoredGroup:
        """`user` accepts their invitation: as a member, or as the group's facilitator."""
        with self._sessions.transaction() as db:
            row, _ = self._locked(db, group_id, user)
            member = db.get(GroupMemberRow, (group_id, user))
            if member is None or member.state not in (INVITED, _ASKED_TO_FACILITATE):
                raise GroupError(409, f"you have no open invitation to group {group_id}")
            if member.state == _ASKED_TO_FACILITATE:
                row.facilitator = user
                db.delete(member)
            else:
                member.state = MEMBER
                self._sessions.learned(db, _joined(user, row))
            db.flush()
            return self._load(db, row)

    def decline(self, group_id: str, user: str) -> None:
        with self._sessions.transaction() as db:
            self._locked(db, group_id, user)
            member = db.get(GroupMemberRow, (group_id, user))
            if member is None or member.state not in (INVITED, _ASKED_TO_FACILITATE):
                raise GroupError(409, f"you have no open invitation to group {group_id}")
            db.delete(member)

    def leave(self, group_id: str, user: str) -> bool:
        """`user` leaves (a member) or steps down (the facilitator); True when that left the
        group without members, so it is gone (`_dissolve`)."""
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
            _withdraw_answers(db, group_id, user)
            if any(person.state == MEMBER for person in self._load(db, row).people):
                return False
            self._dissolve(db, row)
            return True

    def _dissolve(self, db: Session, row: GroupRow) -> None:
        """A group without members is gone for everyone: its invitations and facilitator go.
        Its cycles stay while anyone wrote a note or checked in there (what a member wrote is
        theirs, and stays in their export and portfolio); otherwise the group goes with them."""
        db.execute(delete(GroupMemberRow).where(GroupMemberRow.group_id == row.id))
        row.facilitator = None
        if not db.scalar(select(exists_work(row.id))):
            db.delete(row)

    def forget(self, user: str) -> int:
        """`user` leaves every group (a group left without members is gone), their open
        invitations are dropped, they step down as facilitator, and no invitation names them as
        its sender any more; how many groups they were one of the people of."""
        groups, _ = self.mine(user)
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
                _withdraw_answers(db, group.id, user)  # also one made since the cycles' forget
                db.flush()
                if not any(p.state == MEMBER for p in self._load(db, row).people):
                    self._dissolve(db, row)
            db.execute(
                update(GroupMemberRow)
                .where(GroupMemberRow.invited_by == user)
                .values(invited_by=None)
            )
            # Groups kept for what former members wrote: gone once nothing is left of it.
            kept = select(GroupRow).where(
                GroupRow.id.not_in(select(GroupMemberRow.group_id)),
                GroupRow.facilitator.is_(None),
            )
            for row in db.scalars(kept).all():
                if not db.scalar(select(exists_work(row.id))):
                    db.delete(row)
        return len(groups)

    def counts(self) -> tuple[int, int]:
        """How many groups there are and how many members they have: nothing else."""
        with self._sessions.reading() as db:
            groups = db.scalar(
                select(func.count())
                .select_from(GroupRow)
                .where(GroupRow.id.in_(select(GroupMemberRow.group_id)))
            )
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
            people=[
                Person(
                    person.user_id,
                    INVITED_FACILITATOR if person.state == _ASKED_TO_FACILITATE else person.state,
                )
                for person in people
            ],
            team=row.team,
        )
