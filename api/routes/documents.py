"""Curating the corpus documents: list, read, create, update and retire (curators only).

Handlers are plain functions: FastAPI runs them in its threadpool, off the event loop, since
they read the corpus and write and index its files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse

from api.deps import CuratorRole, Svc
from api.openapi import errors
from api.problems import Problem
from api.schemas import ID_REGEX, MAX_OFFSET, DocumentIn, DocumentList, DocumentOut, NewDocument
from coach.ingest.corpus import Document
from coach.vocabulary import DocType, Language, Status

router = APIRouter(prefix="/v1", tags=["curation"])

IfMatch = Annotated[str | None, Header(description="The document's ETag, as you read it.")]
DocId = Annotated[str, Path(pattern=ID_REGEX, max_length=120, description="a-z, 0-9 and - only.")]


def require_if_match(if_match: str | None) -> str:
    if not if_match:
        raise Problem(
            428, "send the document's ETag as If-Match, so no one else's change is overwritten"
        )
    return if_match


@router.get("/documents", response_model=DocumentList)
def list_documents(
    who: CuratorRole,
    svc: Svc,
    type: Annotated[DocType | None, Query()] = None,
    team: str | None = None,
    language: Annotated[Language | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    q: Annotated[str | None, Query(description="Words in the id or title.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
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
        items=[DocumentOut.from_document(doc, tag, with_body=False) for doc, tag in page],
        total=len(matches),
        limit=limit,
        offset=offset,
    )


def _document_response(document: Document, tag: str, status: int = 200) -> JSONResponse:
    return JSONResponse(
        DocumentOut.from_document(document, tag).model_dump(mode="json"),
        status_code=status,
        headers={"ETag": tag, "Location": f"/v1/documents/{document.id}"},
    )


@router.get("/documents/{doc_id}", response_model=DocumentOut)
def get_document(doc_id: DocId, who: CuratorRole, svc: Svc) -> JSONResponse:
    """One document with its body; the ETag header is what an update sends as If-Match."""
    document, tag = svc.curator.get(doc_id)
    return _document_response(document, tag)


@router.post("/documents", response_model=DocumentOut, status_code=201, responses=errors(409))
def create_document(body: NewDocument, who: CuratorRole, svc: Svc) -> JSONResponse:
    """Validate with the lint rules, write the file atomically, index it at once."""
    saved = svc.curator.create(body.fields(body.id))
    return _document_response(saved.document, saved.etag, status=201)


@router.put("/documents/{doc_id}", response_model=DocumentOut)
def update_document(
    doc_id: DocId, body: DocumentIn, who: CuratorRole, svc: Svc, if_match: IfMatch = None
) -> JSONResponse:
    """Replace a document. Send the ETag you read as If-Match: a stale one gets 412."""
    saved = svc.curator.update(doc_id, body.fields(doc_id), require_if_match(if_match))
    return _document_response(saved.document, saved.etag)


@router.delete("/documents/{doc_id}", response_model=DocumentOut)
def retire_document(
    doc_id: DocId, who: CuratorRole, svc: Svc, if_match: IfMatch = None
) -> JSONResponse:
    """Retire the document (status: retired): it leaves the index, the file stays. Send the ETag
    you read as If-Match, as for an update."""
    saved = svc.curator.set_status(doc_id, "retired", require_if_match(if_match))
    return _document_response(saved.document, saved.etag)
