"""Learning groups: a professional creates one and invites colleagues, who accept or decline;
a member invites more and may leave; the last member to leave ends the group. Only the
group's members, invitees and facilitator see it (to anyone else it does not exist);
curators see how many groups there are, nothing more.

Handlers are plain functions: FastAPI runs them in its threadpool, off the event loop, since
each one talks to the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.db.group_tables import MAX_GROUP_NAME, MAX_TEAM
from api.db.groups import (
    FACILITATOR,
    MAX_GROUP_SIZE,
    MEMBER,
    GroupError,
    StoredGroup,
)
from api.deps import ApiServices, CuratorRole, Professional, Svc
from api.openapi import errors
from api.problems import Problem
from api.schemas import Input
from coach.keys import MAX_USER_CHARS

router = APIRouter(tags=["groups"])

# A user id as keys name them: printable, no control characters, at most MAX_USER_CHARS.
UserId = Annotated[
    str, Field(min_length=1, max_length=MAX_USER_CHARS, pattern=r"^[^\x00-\x1f\x7f]+$")
]
T = TypeVar("T")
GROUP_CYCLES = 20  # the cycles a group's answer lists


class GroupRequest(Input):
    name: str = Field(min_length=1, max_length=MAX_GROUP_NAME)
    # the colleagues to invite: the group has 2 to 8 members, counting its creator
    members: list[UserId] = Field(min_length=1, max_length=MAX_GROUP_SIZE - 1)
    # an experienced colleague, expert or L&D, invited to read along (once they accept)
    facilitator: UserId | None = None
    # the team the group works in: L&D's insights count cycles by team, never by name
    team: str | None = Field(None, min_length=1, max_length=MAX_TEAM)


class InviteRequest(Input):
    user: UserId
    # as a member (counts towards the 8), or as the group's one facilitator, who reads along
    role: Literal["member", "facilitator"] = "member"


class PersonOut(BaseModel):
    user: str
    state: Literal["member", "invited", "invited_facilitator"]


class CycleSummary(BaseModel):
    """One of the group's vital week cycles (`GET /v1/cycles/{id}` has its plan)."""

    id: str
    state: Literal["planned", "cancelled"]
    completed: bool
    first_day: date
    last_day: date


class GroupOut(BaseModel):
    id: str
    name: str
    team: str | None
    created_at: datetime
    facilitator: str | None  # once they accepted; an open invitation is in `members`
    members: list[PersonOut]
    my_state: Literal["member", "invited", "facilitator", "invited_facilitator"]
    # the newest GROUP_CYCLES, newest first; empty for an invitee, who sees no plans yet
    cycles: list[CycleSummary]
    cycles_total: int

    @classmethod
    def of(cls, group: StoredGroup, user: str, svc: ApiServices) -> GroupOut:
        joined = group.state_of(user) in (MEMBER, FACILITATOR)
        cycles = svc.cycles.of_group(group, GROUP_CYCLES) if joined else []
        return cls.model_validate(
            {
                "id": group.id,
                "name": group.name,
                "team": group.team,
                "created_at": group.created_at,
                "facilitator": group.facilitator,
                "members": [{"user": p.user, "state": p.state} for p in group.people],
                "my_state": group.state_of(user),
                "cycles_total": svc.cycles.count_of_group(group.id) if joined else 0,
                "cycles": [
                    {
                        "id": cycle.id,
                        "state": cycle.state,
                        "completed": cycle.completed,
                        "first_day": cycle.meetings[0].start.date(),
                        "last_day": cycle.meetings[-1].start.date(),
                    }
                    for cycle in cycles
                ],
            }
        )


class GroupList(BaseModel):
    items: list[GroupOut]
    total: int  # how many groups you are one of the people of
    limit: int
    offset: int


class GroupStats(BaseModel):
    """How many groups there are and how many members they have together; no names."""

    groups: int
    members: int


def _checked(change: Callable[[], T]) -> T:
    try:
        return change()
    except GroupError as error:
        raise Problem(error.status, error.detail) from error


@router.post("/v1/groups", status_code=201, response_model=GroupOut, responses=errors(409))
def create_group(body: GroupRequest, who: Professional, svc: Svc) -> GroupOut:
    """A new group with you as its member and `members` invited."""
    invitees = list(dict.fromkeys(user for user in body.members if user != who.user))
    if not invitees:
        raise Problem(422, "`members` must name at least one colleague other than you")
    if body.facilitator is not None and body.facilitator in {who.user, *invitees}:
        raise Problem(
            409, "the facilitator cannot also be a member: name someone else or leave it out"
        )
    group = _checked(
        lambda: svc.groups.create(who.user, body.name, invitees, body.facilitator, body.team)
    )
    return GroupOut.of(group, who.user, svc)


@router.get("/v1/groups", response_model=GroupList)
def my_groups(
    who: Professional,
    svc: Svc,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> GroupList:
    """The groups you are a member of, invited to or facilitate, newest first, a page at a
    time."""
    groups, total = svc.groups.mine(who.user, limit, offset)
    return GroupList(
        items=[GroupOut.of(group, who.user, svc) for group in groups],
        total=total,
        limit=limit,
        offset=offset,
    )


def visible_group(svc: ApiServices, group_id: str, user: str) -> StoredGroup:
    """The group `user` is one of the people of (member, invitee, facilitator); 404 for anyone
    else, to whom it does not exist."""
    group = svc.groups.get(group_id, user)
    if group is None:
        raise Problem(404, f"you have no group {group_id}")
    return group


@router.get("/v1/groups/{group_id}", response_model=GroupOut)
def get_group(group_id: str, who: Professional, svc: Svc) -> GroupOut:
    return GroupOut.of(visible_group(svc, group_id, who.user), who.user, svc)


@router.post("/v1/groups/{group_id}/members", response_model=GroupOut, responses=errors(409))
def invite(group_id: str, body: InviteRequest, who: Professional, svc: Svc) -> GroupOut:
    """Invite a colleague (members only; a group has at most 8, counting invitations), or
    invite the group's facilitator (`role: facilitator`; at most one), who reads along once
    they accept."""
    facilitator = body.role == FACILITATOR
    group = _checked(
        lambda: svc.groups.invite(group_id, who.user, body.user, facilitator=facilitator)
    )
    return GroupOut.of(group, who.user, svc)


@router.post("/v1/groups/{group_id}/accept", response_model=GroupOut, responses=errors(409))
def accept(group_id: str, who: Professional, svc: Svc) -> GroupOut:
    return GroupOut.of(_checked(lambda: svc.groups.accept(group_id, who.user)), who.user, svc)


@router.post("/v1/groups/{group_id}/decline", status_code=204, responses=errors(409))
def decline(group_id: str, who: Professional, svc: Svc) -> Response:
    """The invitation is dropped; you may be invited again."""
    _checked(lambda: svc.groups.decline(group_id, who.user))
    return Response(status_code=204)


@router.post("/v1/groups/{group_id}/leave", status_code=204, responses=errors(409))
def leave(group_id: str, who: Professional, svc: Svc) -> Response:
    """You leave (a facilitator steps down); when no member is left, the group is gone."""
    _checked(lambda: svc.groups.leave(group_id, who.user))
    return Response(status_code=204)


@router.get("/v1/insights/groups", response_model=GroupStats)
def group_stats(who: CuratorRole, svc: Svc) -> GroupStats:
    """That learning groups exist: how many, with how many members; never who or what."""
    groups, members = svc.groups.counts()
    return GroupStats(groups=groups, members=members)
