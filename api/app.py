"""The FastAPI service: coaching, search and sessions under /v1, health at /healthz and /readyz.

Settings are read once (`create_app(settings)`); the embedder, retriever and database are built
once per process in the lifespan. Workers keep no state of their own beyond caches: sessions live
in the database, documents in the corpus and the index.
"""

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from api.db import DraftStore, SessionStore, StoredDraft, StoredSession
from api.headers import WorkerHeader
from api.insights import compute_insights
from api.limits import BodyLimit
from api.problems import Problem, install, problem_response, status_for
from api.summary import session_markdown
from coach.engine import MAX_K, Coach, source_of, validate_request
from coach.errors import CoachError
from coach.index.indexer import Indexer
from coach.ingest.corpus import Document
from coach.ingest.curation import Curator, Fields
from coach.ingest.lessons import draft_lesson
from coach.keys import KeyStore, Principal
from coach.result import MAX_SITUATION_CHARS, CoachingResult, Source
from coach.retrieve.retriever import Filters
from coach.settings import Settings
from coach.vocabulary import Role

MAX_BODY_BYTES = 256 * 1024


# The web page: static files, nothing from elsewhere (the CSP says so to the browser too).
WEB = Path(__file__).with_name("web")
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-cache",
}


class CoachRequest(BaseModel):
    situation: str = Field(min_length=1, max_length=MAX_SITUATION_CHARS)
    team: str | None = None
    type: Literal["procedure", "lesson"] | None = None
    language: Literal["nl", "en"] | None = None
    k: int = Field(5, ge=1, le=MAX_K)


class SearchFilters(BaseModel):
    team: str | None = None
    type: Literal["procedure", "lesson"] | None = None
    language: Literal["nl", "en"] | None = None


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=MAX_SITUATION_CHARS)
    filters: SearchFilters = SearchFilters()
    k: int = Field(5, ge=1, le=MAX_K)


class Me(BaseModel):
    user: str
    role: str
    local_mode: bool


class SearchResponse(BaseModel):
    sources: list[Source]


class FeedbackRequest(BaseModel):
    helpful: bool
    comment: str | None = Field(None, max_length=4000)


class SessionOut(BaseModel):
    id: str
    created_at: str
    situation: str
    grounded: bool
    helpful: bool | None
    comment: str | None
    result: CoachingResult


class SessionList(BaseModel):
    items: list[SessionOut]
    total: int
    limit: int
    offset: int


class DocumentIn(BaseModel):
    """A document as a form sends it. Values are checked by the corpus lint rules, so a bad
    type or language comes back as a 422 listing every problem at once."""

    title: str = ""
    type: str = ""
    language: str = ""
    body: str = ""
    team: str | None = None
    owner: str | None = None
    tags: list[str] = []
    updated: date | None = None
    status: str = "active"

    def fields(self, doc_id: str) -> Fields:
        return Fields(
            id=doc_id,
            title=self.title.strip(),
            type=self.type,
            language=self.language,
            body=self.body,
            team=(self.team or "").strip() or None,
            owner=(self.owner or "").strip() or None,
            tags=tuple(tag.strip() for tag in self.tags if tag.strip()),
            updated=self.updated,
            status=self.status,
        )


class NewDocument(DocumentIn):
    id: str = Field(min_length=1, max_length=120)


class DocumentOut(BaseModel):
    id: str
    title: str
    type: str
    language: str
    team: str | None
    owner: str | None
    tags: list[str]
    updated: date | None
    status: str
    path: str
    etag: str
    body: str | None = None


class DocumentList(BaseModel):
    items: list[DocumentOut]
    total: int
    limit: int
    offset: int


def _document_out(document: Document, tag: str, with_body: bool = True) -> DocumentOut:
    return DocumentOut(
        id=document.id,
        title=document.title,
        type=document.type,
        language=document.language,
        team=document.team,
        owner=document.owner,
        tags=list(document.tags),
        updated=document.updated,
        status=document.status,
        path=document.path,
        etag=tag,
        body=document.body if with_body else None,
    )


class LessonRequest(BaseModel):
    what_tried: str = Field("", max_length=4000)
    what_worked: str = Field("", max_length=4000)
    what_not: str = Field("", max_length=4000)
    lesson: str = Field(min_length=1, max_length=4000)


class RejectRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class DraftOut(BaseModel):
    id: str
    doc_id: str
    session_id: str
    user_id: str
    created_at: str
    state: str
    reason: str | None
    decided_by: str | None
    document: DocumentOut | None = None


@dataclass
class Services:
    coach: Coach
    sessions: SessionStore
    keys: KeyStore
    curator: Curator
    drafts: DraftStore
    local_mode: bool


def _session_out(stored: StoredSession) -> SessionOut:
    return SessionOut(
        id=stored.id,
        created_at=stored.created_at.isoformat(),
        situation=stored.result.situation,
        grounded=stored.result.grounded,
        helpful=stored.helpful,
        comment=stored.comment,
        result=stored.result,
    )


def create_app(settings: Settings, coach: Coach | None = None) -> FastAPI:
    """The service for these settings. `coach` may be given (already loaded) or is built here."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from coach.factory import build_coach

        built: Coach = (
            coach if coach is not None else await run_in_threadpool(build_coach, settings)
        )
        indexer = Indexer(
            built.retriever.embedder,
            built.retriever.location,
            settings.chunk_tokens,
            group_chunks=settings.index_group_chunks,
        )
        sessions = SessionStore(settings.sessions_url())
        services = Services(
            coach=built,
            sessions=sessions,
            drafts=DraftStore(sessions),
            keys=KeyStore(settings.keys_path()),
            curator=Curator(settings.corpus_dir, indexer),
            local_mode=settings.local_mode,
        )
        app.state.services = services
        try:
            yield
        finally:
            services.sessions.close()
            if coach is None:
                built.retriever.close()

    app = FastAPI(
        title="Coach",
        version="1",
        summary="Coaching for learning while working, grounded in the organisation's documents.",
        lifespan=lifespan,
    )
    install(app)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(WorkerHeader)
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    def services(request: Request) -> Services:
        found: Services = request.app.state.services
        return found

    def principal(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Principal:
        found = services(request)
        if found.local_mode:
            return Principal("local", "admin")
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Problem(
                401,
                "send your API key as `Authorization: Bearer KEY` (an admin creates one with "
                "`coach keys add USER --role ROLE`)",
            )
        who = found.keys.lookup(authorization.split(" ", 1)[1].strip())
        if who is None:
            raise Problem(401, "this API key is unknown or revoked; ask an admin for a new one")
        return who

    def role(*allowed: Role) -> Callable[..., Principal]:
        def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
            if who.role != "admin" and who.role not in allowed:
                raise Problem(
                    403,
                    f"this needs the role {' or '.join(allowed)}; your key has the role {who.role}",
                )
            return who

        return check

    Anyone = Annotated[Principal, Depends(role("professional", "curator"))]
    Professional = Annotated[Principal, Depends(role("professional"))]
    CuratorRole = Annotated[Principal, Depends(role("curator"))]
    Svc = Annotated[Services, Depends(services)]

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        """The web page for professionals and L&D staff (it uses only this API)."""
        return FileResponse(WEB / "index.html", headers=PAGE_HEADERS)

    @app.get("/v1/me", tags=["access"], response_model=Me)
    def me(who: Anyone, svc: Svc) -> Me:
        """Who your key says you are, and whether the service runs in local mode."""
        return Me(user=who.user, role=who.role, local_mode=svc.local_mode)

    @app.get("/v1/teams", tags=["coaching"])
    def teams(who: Anyone, svc: Svc) -> dict[str, list[str]]:
        """The teams that active documents belong to (to narrow a coaching request)."""
        found = {doc.team for doc, _tag in svc.curator.documents() if doc.is_active and doc.team}
        return {"teams": sorted(found)}

    @app.get("/v1/sources/{doc_id}", tags=["coaching"], response_model=DocumentOut)
    def source(doc_id: str, who: Anyone, svc: Svc) -> DocumentOut:
        """An active document, to read what an answer cites (drafts and retired ones are 404)."""
        document, tag = svc.curator.get(doc_id)
        if not document.is_active:
            raise Problem(404, f"no active document {doc_id}")
        return _document_out(document, tag)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz(svc: Svc) -> Response:
        """The index and the database answer; 503 otherwise."""
        checks: dict[str, str] = {}
        try:
            svc.coach.retriever.store()
            checks["index"] = "ok"
        except CoachError as exc:
            checks["index"] = str(exc)
        try:
            svc.sessions.ping()
            checks["database"] = "ok"
        except Exception as exc:  # any driver error means: not ready
            checks["database"] = f"unreachable: {type(exc).__name__}"
        if all(value == "ok" for value in checks.values()):
            return JSONResponse({"status": "ready", "checks": checks})
        failing = "; ".join(f"{name}: {value}" for name, value in checks.items() if value != "ok")
        return problem_response(503, f"not ready: {failing}", checks=checks)

    @app.post(
        "/v1/coach",
        tags=["coaching"],
        response_model=CoachingResult,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def coach_endpoint(
        body: CoachRequest,
        who: Professional,
        svc: Svc,
        accept: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Coach a work situation; the session is stored before the answer is sent.

        With `Accept: text/event-stream` the answer streams: `progress` events per stage, then
        one `result` event (the result schema plus `session_id`)."""
        filters = Filters(team=body.team, type=body.type, language=body.language)
        validate_request(body.situation, filters, body.k)
        if accept and "text/event-stream" in accept:
            return StreamingResponse(
                _stream(svc, who, body, filters),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        result = await run_in_threadpool(svc.coach.ask, body.situation, filters, body.k)
        stored = await run_in_threadpool(svc.sessions.add, who.user, result)
        return JSONResponse(
            result.model_dump(mode="json"),
            headers={"Location": f"/v1/sessions/{stored.id}", "X-Session-Id": stored.id},
        )

    async def _stream(
        svc: Services, who: Principal, body: CoachRequest, filters: Filters
    ) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def emit(kind: str, data: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, data))

        def work() -> None:
            try:
                result = svc.coach.ask(
                    body.situation, filters, body.k, progress=lambda s: emit("progress", s)
                )
                stored = svc.sessions.add(who.user, result)
                emit("result", {**result.model_dump(mode="json"), "session_id": stored.id})
            except CoachError as exc:
                emit("error", {"status": status_for(exc), "detail": str(exc)})
            except Exception:
                emit("error", {"status": 500, "detail": "the coach hit an unexpected error"})

        threading.Thread(target=work, daemon=True).start()
        yield _event("progress", {"stage": "received"})
        while True:
            kind, data = await queue.get()
            if kind == "progress":
                yield _event("progress", {"stage": data})
                continue
            yield _event(kind, data)
            break

    @app.post("/v1/search", tags=["coaching"], response_model=SearchResponse)
    async def search(body: SearchRequest, who: Anyone, svc: Svc) -> SearchResponse:
        """Sources only: the documents that bear on a query, best first."""
        filters = Filters(**body.filters.model_dump())
        validate_request(body.query, filters, body.k)
        retrieval = await run_in_threadpool(
            lambda: svc.coach.retriever.search(body.query, filters=filters, k=body.k)
        )
        return SearchResponse(sources=[source_of(doc) for doc in retrieval.documents])

    @app.get("/v1/didactic-questions", tags=["coaching"])
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

    @app.get("/v1/sessions", tags=["sessions"], response_model=SessionList)
    def list_sessions(
        who: Professional,
        svc: Svc,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> SessionList:
        """Your own sessions, newest first."""
        items, total = svc.sessions.list_for(who.user, limit, offset)
        return SessionList(
            items=[_session_out(item) for item in items], total=total, limit=limit, offset=offset
        )

    def own_session(svc: Services, who: Principal, session_id: str) -> StoredSession:
        stored = svc.sessions.get(session_id, who.user)
        if stored is None:  # someone else's session is as unknown as a missing one
            raise Problem(404, f"you have no session {session_id}")
        return stored

    @app.get("/v1/sessions/{session_id}", tags=["sessions"], response_model=SessionOut)
    def get_session(session_id: str, who: Professional, svc: Svc) -> SessionOut:
        return _session_out(own_session(svc, who, session_id))

    @app.delete("/v1/sessions/{session_id}", tags=["sessions"], status_code=204)
    def delete_session(session_id: str, who: Professional, svc: Svc) -> Response:
        """Gone for good."""
        if not svc.sessions.delete(session_id, who.user):
            raise Problem(404, f"you have no session {session_id}")
        return Response(status_code=204)

    @app.post("/v1/sessions/{session_id}/feedback", tags=["sessions"], response_model=SessionOut)
    def feedback(session_id: str, body: FeedbackRequest, who: Professional, svc: Svc) -> SessionOut:
        stored = svc.sessions.set_feedback(session_id, who.user, body.helpful, body.comment)
        if stored is None:
            raise Problem(404, f"you have no session {session_id}")
        return _session_out(stored)

    @app.get("/v1/sessions/{session_id}/summary", tags=["sessions"])
    def summary(session_id: str, who: Professional, svc: Svc) -> PlainTextResponse:
        """Markdown, for the talent development conversation."""
        stored = own_session(svc, who, session_id)
        return PlainTextResponse(
            session_markdown(stored), media_type="text/markdown; charset=utf-8"
        )

    def draft_out(draft: StoredDraft, svc: Services) -> DraftOut:
        try:
            document, tag = svc.curator.get(draft.doc_id)
            shown: DocumentOut | None = _document_out(document, tag)
        except CoachError:
            shown = None  # the file was removed by hand; the draft record stays
        return DraftOut(
            **{k: v for k, v in vars(draft).items() if k != "created_at"},
            created_at=draft.created_at.isoformat(),
            document=shown,
        )

    @app.post(
        "/v1/sessions/{session_id}/lesson",
        tags=["lessons learned"],
        response_model=DraftOut,
        status_code=201,
    )
    async def record_lesson(
        session_id: str, body: LessonRequest, who: Professional, svc: Svc
    ) -> DraftOut:
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
        saved = await run_in_threadpool(svc.curator.create, fields)
        draft = svc.drafts.add(saved.document.id, session_id, who.user)
        return draft_out(draft, svc)

    @app.get("/v1/drafts", tags=["lessons learned"], response_model=list[DraftOut])
    def list_drafts(
        who: CuratorRole,
        svc: Svc,
        state: Annotated[Literal["pending", "approved", "rejected"], Query()] = "pending",
    ) -> list[DraftOut]:
        """Drafts waiting for review (or decided ones, by state), oldest first."""
        return [draft_out(draft, svc) for draft in svc.drafts.list(state)]

    def pending_draft(svc: Services, draft_id: str) -> StoredDraft:
        draft = svc.drafts.get(draft_id)
        if draft is None:
            raise Problem(404, f"no draft {draft_id}")
        if draft.state != "pending":
            raise Problem(409, f"draft {draft_id} was already {draft.state}")
        return draft

    @app.post("/v1/drafts/{draft_id}/approve", tags=["lessons learned"], response_model=DraftOut)
    async def approve_draft(draft_id: str, who: CuratorRole, svc: Svc) -> DraftOut:
        """The draft becomes an active lesson and is indexed: the next answer can cite it."""
        draft = pending_draft(svc, draft_id)
        await run_in_threadpool(svc.curator.set_status, draft.doc_id, "active")
        return draft_out(svc.drafts.decide(draft_id, "approved", who.user), svc)

    @app.post("/v1/drafts/{draft_id}/reject", tags=["lessons learned"], response_model=DraftOut)
    async def reject_draft(
        draft_id: str, body: RejectRequest, who: CuratorRole, svc: Svc
    ) -> DraftOut:
        """The draft is retired (kept, never indexed) with the reason."""
        draft = pending_draft(svc, draft_id)
        await run_in_threadpool(svc.curator.set_status, draft.doc_id, "retired")
        return draft_out(svc.drafts.decide(draft_id, "rejected", who.user, body.reason), svc)

    @app.get("/v1/insights", tags=["insights"])
    def insights(who: CuratorRole, svc: Svc) -> dict[str, Any]:
        """Frequent themes, ungrounded situations (corpus gaps), feedback per document."""
        return compute_insights(svc.sessions.all_results())

    @app.get("/v1/documents", tags=["curation"], response_model=DocumentList)
    def list_documents(
        who: CuratorRole,
        svc: Svc,
        type: Annotated[Literal["procedure", "lesson"] | None, Query()] = None,
        team: str | None = None,
        language: Annotated[Literal["nl", "en"] | None, Query()] = None,
        status: Annotated[Literal["active", "draft", "retired"] | None, Query()] = None,
        q: Annotated[str | None, Query(description="Words in the id or title.")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> DocumentList:
        """Every valid document of the corpus (any status), filtered, by id."""
        wanted = {"type": type, "team": team, "language": language, "status": status}
        words = (q or "").lower().split()
        matches = [
            (doc, tag)
            for doc, tag in svc.curator.documents()
            if all(value is None or getattr(doc, key) == value for key, value in wanted.items())
            and all(word in f"{doc.id} {doc.title}".lower() for word in words)
        ]
        matches.sort(key=lambda pair: pair[0].id)
        page = matches[offset : offset + limit]
        return DocumentList(
            items=[_document_out(doc, tag, with_body=False) for doc, tag in page],
            total=len(matches),
            limit=limit,
            offset=offset,
        )

    def document_response(saved_doc: Document, tag: str, status: int = 200) -> JSONResponse:
        return JSONResponse(
            _document_out(saved_doc, tag).model_dump(mode="json"),
            status_code=status,
            headers={"ETag": tag, "Location": f"/v1/documents/{saved_doc.id}"},
        )

    @app.get("/v1/documents/{doc_id}", tags=["curation"], response_model=DocumentOut)
    def get_document(doc_id: str, who: CuratorRole, svc: Svc) -> JSONResponse:
        """One document with its body; the ETag header is what an update sends as If-Match."""
        document, tag = svc.curator.get(doc_id)
        return document_response(document, tag)

    @app.post("/v1/documents", tags=["curation"], response_model=DocumentOut, status_code=201)
    async def create_document(body: NewDocument, who: CuratorRole, svc: Svc) -> JSONResponse:
        """Validate with the lint rules, write the file atomically, index it at once."""
        saved = await run_in_threadpool(svc.curator.create, body.fields(body.id))
        return document_response(saved.document, saved.etag, status=201)

    @app.put("/v1/documents/{doc_id}", tags=["curation"], response_model=DocumentOut)
    async def update_document(
        doc_id: str,
        body: DocumentIn,
        who: CuratorRole,
        svc: Svc,
        if_match: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Replace a document. Send the ETag you read as If-Match: a stale one gets 412."""
        if not if_match:
            raise Problem(
                428, "send the document's ETag as If-Match, so no one else's change is overwritten"
            )
        saved = await run_in_threadpool(svc.curator.update, doc_id, body.fields(doc_id), if_match)
        return document_response(saved.document, saved.etag)

    @app.delete("/v1/documents/{doc_id}", tags=["curation"], response_model=DocumentOut)
    async def retire_document(
        doc_id: str,
        who: CuratorRole,
        svc: Svc,
        if_match: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Retire the document (status: retired): it leaves the index, the file stays."""
        saved = await run_in_threadpool(svc.curator.set_status, doc_id, "retired", if_match)
        return document_response(saved.document, saved.etag)

    return app


def _event(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def app_from_env() -> FastAPI:
    """The service for the settings in the environment (COACH_*): what each uvicorn worker
    process builds when `coach serve --workers N` runs more than one."""
    return create_app(Settings())
