"""Lessons learned: a professional records one after a session, it waits as a draft, and a
curator approves it (it is indexed and the next answer can cite it) or rejects it.

A draft's file and its record change together, under the corpus write lock (`Curator.writing`),
so concurrent decisions on one draft end with one winner, whose document and record agree; a
user has at most `max_pending_drafts` drafts waiting. The ETag of a draft is its document's
(`document.etag`): approve and reject honour it as If-Match (412 when it changed).

Handlers are plain functions: FastAPI runs them in its threadpool, off the event loop, since
they write corpus files, index them and talk to the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query

from api.db import StoredDraft, StoredSession
from api.deps import ApiServices, CuratorRole, Professional, Svc
from api.openapi import errors
from api.problems import Problem
from api.routes.sessions import own_session
from api.schemas import DocumentOut, DraftOut, LessonRequest, RejectRequest
from coach.ingest.curation import Fields
from coach.ingest.lessons import draft_lesson
from coach.keys import Principal
from coach.vocabulary import DraftState, Status

router = APIRouter(prefix="/v1", tags=["lessons learned"])


IfMatch = Annotated[str | None, Header(description="The draft's `document.etag`.")]


def drafts_out(drafts: list[StoredDraft], svc: ApiServices) -> list[DraftOut]:
    """The drafts with their documents, from one read of the corpus."""
    documents = {doc.id: (doc, tag) for doc, tag in svc.curator.documents()}
    shown = [documents.get(draft.doc_id) for draft in drafts]
    return [
        # No document: its file was removed by hand; the draft record stays.
        DraftOut.from_stored(draft, DocumentOut.from_document(*found) if found else None)
        for draft, found in zip(drafts, shown, strict=True)
    ]


def draft_out(draft: StoredDraft, svc: ApiServices) -> DraftOut:
    return drafts_out([draft], svc)[0]


def submit(svc: ApiServices, who: Principal, session_id: str, fields: Fields) -> StoredDraft:
    """Write the draft's file and its record as one step, if `who` has room for another."""
    with svc.curator.writing():
        waiting = svc.drafts.pending_count(who.user)
        if svc.max_pending_drafts and waiting >= svc.max_pending_drafts:
            raise Problem(
                429,
                f"you have {waiting} lessons waiting for review, the most one person may have; "
                "wait until a curator has approved or rejected one, then record this lesson",
            )
        saved = svc.curator.create(fields)
        return svc.drafts.add(saved.document.id, session_id, who.user)


@router.post(
    "/sessions/{session_id}/lesson",
    response_model=DraftOut,
    status_code=201,
    responses=errors(429),
)
def record_lesson(session_id: str, body: LessonRequest, who: Professional, svc: Svc) -> DraftOut:
    """What you tried and learned becomes a draft lesson for the curators to review."""
    return record_lesson_from(svc, who, own_session(svc, who, session_id), body)


def record_lesson_from(
    svc: ApiServices, who: Principal, stored: StoredSession, body: LessonRequest
) -> DraftOut:
    """The lesson `who` learned from their session `stored`, as a draft for review."""
    # exactly what POST /v1/sessions/{id}/lesson/preview showed (api.routes.privacy)
    fields = draft_lesson(
        situation=stored.result.situation, language=stored.result.language, **body.model_dump()
    )
    return draft_out(submit(svc, who, stored.id, fields), svc)


@router.get("/drafts", response_model=list[DraftOut])
def list_drafts(
    who: CuratorRole,
    svc: Svc,
    state: Annotated[DraftState, Query()] = "pending",
) -> list[DraftOut]:
    """Drafts waiting for review (or decided ones, by state), oldest first."""
    return drafts_out(svc.drafts.list(state), svc)


def _decide(
    svc: ApiServices,
    draft_id: str,
    by: str,
    state: DraftState,
    status: Status,
    if_match: str | None,
    reason: str | None = None,
) -> DraftOut:
    """Decide a pending draft: its document gets `status`, the draft record `state`, as one
    step under the corpus write lock (the second of two decisions finds it decided: 409)."""
    with svc.curator.writing():
        draft = svc.drafts.get(draft_id)
        if draft is None:
            raise Problem(404, f"no draft {draft_id}")
        if draft.state != "pending":
            raise Problem(409, f"draft {draft_id} was already {draft.state}")
        svc.curator.set_status(draft.doc_id, status, if_match)
        decided = svc.drafts.decide(draft_id, state, by, reason)
    return draft_out(decided, svc)


@router.post("/drafts/{draft_id}/approve", response_model=DraftOut, responses=errors(409))
def approve_draft(draft_id: str, who: CuratorRole, svc: Svc, if_match: IfMatch = None) -> DraftOut:
    """The draft becomes an active lesson and is indexed: the next answer can cite it. With
    If-Match (the draft's `document.etag`), only the version you read: 412 otherwise."""
    return _decide(svc, draft_id, who.user, "approved", "active", if_match)


@router.post("/drafts/{draft_id}/reject", response_model=DraftOut, responses=errors(409))
def reject_draft(
    draft_id: str, body: RejectRequest, who: CuratorRole, svc: Svc, if_match: IfMatch = None
) -> DraftOut:
    """The draft is retired (kept, never indexed) with the reason. If-Match as for approve."""
    return _decide(svc, draft_id, who.user, "rejected", "retired", if_match, body.reason)
