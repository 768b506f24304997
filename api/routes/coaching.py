"""What a professional's page asks: coaching a work situation (one JSON answer or a stream of
events), searching the sources, reading a cited source, the teams to narrow a request to, and
the didactic questions the coach asks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import threading
from collections.abc import AsyncIterator
from concurrent.futures import Future
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from api.deps import Anyone, ApiServices, CoachCaller, SearchCaller, Svc
from api.openapi import errors
from api.problems import Problem, public_detail, status_for
from api.schemas import CoachRequest, DocumentOut, SearchRequest, SearchResponse
from coach.engine import source_of, validate_request
from coach.errors import CoachError
from coach.keys import Principal
from coach.result import CoachingResult
from coach.retrieve.filters import Filters

router = APIRouter(prefix="/v1", tags=["coaching"])


@router.post(
    "/coach",
    response_model=CoachingResult,
    responses={200: {"content": {"text/event-stream": {}}}, **errors(429)},
)
async def coach_endpoint(
    body: CoachRequest,
    who: CoachCaller,
    svc: Svc,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Coach a work situation; the session is stored before the answer is sent.

    With `Accept: text/event-stream` the answer streams: `progress` events per stage, then
    one `result` event (the result schema plus `session_id`). Each user may ask
    `COACH_RATE_COACH_PER_MINUTE` times a minute (429 and `Retry-After` beyond)."""
    filters = body.filters()
    validate_request(body.situation, filters, body.k)
    if accept and "text/event-stream" in accept:
        return StreamingResponse(
            _stream(svc, who, body, filters),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    result = await run_in_threadpool(svc.coach.ask, body.situation, filters, body.k)
    stored = await run_in_threadpool(
        functools.partial(svc.sessions.add, who.user, result, team=_known_team(svc, body.team))
    )
    return JSONResponse(
        result.model_dump(mode="json"),
        headers={"Location": f"/v1/sessions/{stored.id}", "X-Session-Id": stored.id},
    )


async def _stream(
    svc: ApiServices, who: Principal, body: CoachRequest, filters: Filters
) -> AsyncIterator[str]:
    """The events of one streamed answer. The coaching runs on the bounded `svc.streams`
    executor and reports through a queue. When the client goes away, Starlette cancels this
    generator: a job still waiting for a worker is cancelled, and one already running stops at
    its next stage (before generation, the costly part with an LLM) and stores nothing: nobody
    is there to read the answer."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    gone = threading.Event()

    def emit(kind: str, data: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, (kind, data))

    def stage(name: str) -> None:
        if gone.is_set():
            raise _ClientGone
        emit("progress", name)

    def work() -> None:
        try:
            result = svc.coach.ask(body.situation, filters, body.k, progress=stage)
            if gone.is_set():
                return
            stored = svc.sessions.add(who.user, result, team=_known_team(svc, body.team))
            emit("result", {**result.model_dump(mode="json"), "session_id": stored.id})
        except _ClientGone:
            return
        except CoachError as exc:
            emit("error", {"status": status_for(exc), "detail": public_detail(exc)})
        except Exception:
            emit("error", {"status": 500, "detail": "the coach hit an unexpected error"})

    def never_ran(job: Future[None]) -> None:
        # Cancelled before a worker was free: its client left (nobody hears this), or the
        # service is shutting down (the client hears why no answer comes).
        if job.cancelled():
            emit("error", {"status": 503, "detail": "the service is shutting down; try again"})

    job = svc.streams.submit(work)
    job.add_done_callback(never_ran)
    try:
        yield _event("progress", {"stage": "received"})
        while True:
            kind, data = await queue.get()
            if kind == "progress":
                yield _event("progress", {"stage": data})
                continue
            yield _event(kind, data)
            break
    finally:
        gone.set()  # a running job stops at its next stage
        job.cancel()  # one still waiting for a worker never starts


class _ClientGone(Exception):
    """The client of a streamed answer left: the work stops at the next stage."""


def _event(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post("/search", response_model=SearchResponse, responses=errors(429))
def search(body: SearchRequest, who: SearchCaller, svc: Svc) -> SearchResponse:
    """Sources only: the documents that bear on a query, best first. Each user may search
    `COACH_RATE_SEARCH_PER_MINUTE` times a minute (429 and `Retry-After` beyond)."""
    filters = Filters(**body.filters.model_dump())
    validate_request(body.query, filters, body.k)
    retrieval = svc.coach.search(body.query, filters, body.k)
    return SearchResponse(sources=[source_of(doc) for doc in retrieval.documents])


@router.get("/didactic-questions")
def didactic_questions(who: Anyone, svc: Svc) -> list[dict[str, Any]]:
    """The sustainable didactic questions, in both languages, with their phase."""
    return [
        {
            "id": q.id,
            "phase": q.phase,
            "text": q.text,
            "why": q.why,
            "fits_when": q.fits_when,
            "models": list(q.models),
        }
        for q in svc.coach.didactics.questions
    ]


@router.get("/teams")
def teams(who: Anyone, svc: Svc) -> dict[str, list[str]]:
    """The teams that active documents belong to (to narrow a coaching request)."""
    found = {doc.team for doc, _tag in svc.curator.documents() if doc.is_active and doc.team}
    return {"teams": sorted(found)}


@router.get("/sources/{doc_id}", response_model=DocumentOut)
def source(doc_id: str, who: Anyone, svc: Svc) -> DocumentOut:
    """An active document, to read what an answer cites (drafts and retired ones are 404)."""
    document, tag = svc.curator.get(doc_id)
    if not document.is_active:
        raise Problem(404, f"no active document {doc_id}")
    return DocumentOut.from_document(document, tag)


def _known_team(svc: ApiServices, team: str | None) -> str | None:
    """The team a request was narrowed to, for its learning record, when it is one the
    documents name: free text (a name, a diagnosis) never reaches the LRS."""
    return team if team and team in svc.coach.retriever.teams() else None
