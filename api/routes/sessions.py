"""A professional's own coaching sessions: list, read, delete, feedback, a Markdown summary.

Handlers are plain functions: FastAPI runs them in its threadpool, off the event loop, since
each one talks to the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response

from api.db import StoredSession
from api.deps import ApiServices, Professional, Svc
from api.problems import Problem
from api.schemas import MAX_OFFSET, FeedbackRequest, SessionList, SessionOut
from api.summary import session_markdown
from coach.keys import Principal

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


def _no_session(session_id: str) -> Problem:
    # Someone else's session is as unknown as a missing one.
    return Problem(404, f"you have no session {session_id}")


def own_session(svc: ApiServices, who: Principal, session_id: str) -> StoredSession:
    stored = svc.sessions.get(session_id, who.user)
    if stored is None:
        raise _no_session(session_id)
    return stored


@router.get("", response_model=SessionList)
def list_sessions(
    who: Professional,
    svc: Svc,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> SessionList:
    """Your own sessions, newest first."""
    items, total = svc.sessions.list_for(who.user, limit, offset)
    return SessionList(
        items=[SessionOut.from_stored(item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{session_id}", response_model=SessionOut)
def get_session(session_id: str, who: Professional, svc: Svc) -> SessionOut:
    return SessionOut.from_stored(own_session(svc, who, session_id))


@router.delete("/{session_id}", status_code=204)
def delete_session(session_id: str, who: Professional, svc: Svc) -> Response:
    """Gone for good."""
    if not svc.sessions.delete(session_id, who.user):
        raise _no_session(session_id)
    return Response(status_code=204)


@router.post("/{session_id}/feedback", response_model=SessionOut)
def feedback(session_id: str, body: FeedbackRequest, who: Professional, svc: Svc) -> SessionOut:
    stored = svc.sessions.set_feedback(session_id, who.user, body.helpful, body.comment)
    if stored is None:
        raise _no_session(session_id)
    return SessionOut.from_stored(stored)


@router.get("/{session_id}/summary")
def summary(session_id: str, who: Professional, svc: Svc) -> PlainTextResponse:
    """Markdown, for the talent development conversation."""
    stored = own_session(svc, who, session_id)
    return PlainTextResponse(session_markdown(stored), media_type="text/markdown; charset=utf-8")
