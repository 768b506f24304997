"""Lessons learned: a professional records one after a session, it waits as a draft, and a
curator approves it (it is indexed and the next answer can cite it) or rejects it.

Handlers are plain functions: FastAPI runs them in its threadpool, off the event loop, since
they write corpus files, index them and talk to the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.db import StoredDraft
from api.deps import ApiServices, CuratorRole, Professional, Svc
from api.problems import Problem
from api.routes.sessions import own_session
from api.schemas import DocumentOut, DraftOut, LessonRequest, RejectRequest
from coach.errors import CoachError
from coach.ingest.lessons import draft_lesson
from coach.vocabulary import DraftState, Status

router = APIRouter(prefix="/v1", tags=["lessons learned"])


def draft_out(draft: StoredDraft, svc: ApiServices) -> DraftOut:
    try:
        document, tag = svc.curator.get(draft.doc_id)
        shown: DocumentOut | None = DocumentOut.from_document(document, tag)
    except CoachError:
        shown = None  # the file was removed by hand; the draft record stays
    return DraftOut.from_stored(draft, shown)


@router.post("/sessions/{session_id}/lesson", response_model=DraftOut, status_code=201)
def record_lesson(session_id: str, body: LessonRequest, who: Professional, svc: Svc) -> DraftOut:
    """What you tried and learned becomes a draft lesson for the curators to review."""
    stored = own_session(svc, who, session_id)
    fields = draft_lesson(
        situation=stored.result.situation,
        language=stored.result.language,
        owner=who.user,
        what_tried=body.what_tried,
        what_worked=body.what_worked,
        what_not=body.what_not,
        lesson=body.lesson,
    )
    saved = svc.curator.create(fields)
    draft = svc.drafts.add(saved.document.id, session_id, who.user)
    return draft_out(draft, svc)


@router.get("/drafts", response_model=list[DraftOut])
def list_drafts(
    who: CuratorRole,
    svc: Svc,
    state: Annotated[DraftState, Query()] = "pending",
) -> list[DraftOut]:
    """Drafts waiting for review (or decided ones, by state), oldest first."""
    return [draft_out(draft, svc) for draft in svc.drafts.list(state)]


def _decide(
    svc: ApiServices,
    draft_id: str,
    by: str,
    state: DraftState,
    status: Status,
    reason: str | None = None,
) -> DraftOut:
    """Decide a pending draft: its document gets `status`, the draft record `state`."""
    draft = svc.drafts.get(draft_id)
    if draft is None:
        raise Problem(404, f"no draft {draft_id}")
    if draft.state != "pending":
        raise Problem(409, f"draft {draft_id} was already {draft.state}")
    svc.curator.set_status(draft.doc_id, status)
    return draft_out(svc.drafts.decide(draft_id, state, by, reason), svc)


@router.post("/drafts/{draft_id}/approve", response_model=DraftOut)
def approve_draft(draft_id: str, who: CuratorRole, svc: Svc) -> DraftOut:
    """The draft becomes an active lesson and is indexed: the next answer can cite it."""
    return _decide(svc, draft_id, who.user, "approved", "active")


@router.post("/drafts/{draft_id}/reject", response_model=DraftOut)
def reject_draft(draft_id: str, body: RejectRequest, who: CuratorRole, svc: Svc) -> DraftOut:
    """The draft is retired (kept, never indexed) with the reason."""
    return _decide(svc, draft_id, who.user, "rejected", "retired", body.reason)
