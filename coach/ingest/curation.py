"""Curating the corpus: documents written from fields, validated with the lint rules, saved
atomically, guarded by ETags, and re-indexed at once."""

from __future__ import annotations

import hashlib
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from coach.atomic import exclusive_lock, write_atomic
from coach.errors import ConflictError, CorpusError, NotFoundError, Problem, StaleVersionError
from coach.index.indexer import Indexer, IndexReport
from coach.ingest.corpus import Document, parse_document_text, scan_corpus
from coach.ingest.corpus import Fields as Fields  # re-exported: the API and lessons build them
from coach.vocabulary import Status


def render(fields: Fields) -> str:
    """The Markdown file for these fields, front matter in the corpus format's order."""
    front: dict[str, Any] = {
        "id": fields.id,
        "title": fields.title,
        "type": fields.type,
        "language": fields.language,
    }
    for key in ("team", "owner"):
        value = getattr(fields, key)
        if value:
            front[key] = value
    if fields.tags:
        front["tags"] = list(fields.tags)
    if fields.updated:
        front["updated"] = fields.updated
    front["status"] = fields.status
    header = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{header}---\n{fields.body.strip()}\n"


def etag(raw: bytes) -> str:
    return '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'


def folder_for(fields: Fields) -> str:
    """Where a new document goes: its team's folder (as the sample corpus does), else its type."""
    name = fields.team or fields.type
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "documents"


@dataclass(frozen=True)
class Saved:
    document: Document
    etag: str
    report: IndexReport | None


# The lock file curator writes hold, in the corpus folder (ignored by the corpus scan).
WRITE_LOCK = ".write.lock"


class Curator:
    """Reads and writes one corpus folder, and keeps the index in step after every write.

    Writes are serialised across threads and processes (check the ETag, write, re-index as one
    step, under a lock file in the corpus folder), so of two concurrent updates with the same
    ETag exactly one wins and the other gets a conflict, whichever API worker serves them.
    """

    def __init__(self, corpus_dir: Path, indexer: Indexer | None) -> None:
        self.corpus_dir = corpus_dir
        self.indexer = indexer

    def documents(self) -> list[tuple[Document, str]]:
        scan = scan_corpus(self.corpus_dir)
        return [(doc, etag(self._raw(doc.path))) for doc in scan.documents]

    def get(self, doc_id: str) -> tuple[Document, str]:
        for document in scan_corpus(self.corpus_dir).documents:
            if document.id == doc_id:
                return document, etag(self._raw(document.path))
        raise NotFoundError(f"no document {doc_id} in the corpus")

    def create(self, fields: Fields) -> Saved:
        with self._writing():
            existing = {doc.id: doc for doc in scan_corpus(self.corpus_dir).documents}
            taken = [p for p in self.corpus_dir.rglob(f"{fields.id}.md") if p.is_file()]
            if fields.id in existing or taken:
                raise ConflictError(f"a document with id {fields.id} already exists")
            return self._write(f"{folder_for(fields)}/{fields.id}.md", fields)

    def update(self, doc_id: str, fields: Fields, if_match: str) -> Saved:
        if fields.id != doc_id:
            raise CorpusError(
                f"the id cannot change ({doc_id} -> {fields.id}); create a new document instead",
                [Problem(f"{doc_id}.md", 1, "id-mismatch", "the id cannot change")],
            )
        with self._writing():
            current, current_etag = self.get(doc_id)
            if if_match.strip() != current_etag:
                raise StaleVersionError(
                    f"{doc_id} changed since you read it; reload it, redo your edit and save again"
                )
            return self._write(current.path, fields)

    def set_status(self, doc_id: str, status: Status, if_match: str | None = None) -> Saved:
        with self._writing():
            current, current_etag = self.get(doc_id)
            if if_match is not None and if_match.strip() != current_etag:
                raise ConflictError(f"{doc_id} changed since you read it; reload it and try again")
            return self._write(current.path, replace(Fields.of(current), status=status))

    def _writing(self) -> AbstractContextManager[None]:
        return exclusive_lock(self.corpus_dir / WRITE_LOCK)

    def _raw(self, rel: str) -> bytes:
        return (self.corpus_dir / rel).read_bytes()

    def _write(self, rel: str, fields: Fields) -> Saved:
        text = render(fields)
        parsed = parse_document_text(text, rel)
        if parsed.document is None:
            raise CorpusError(
                f"the document is not valid: {len(parsed.problems)} problem(s)", parsed.problems
            )
        data = text.encode("utf-8")
        write_atomic(self.corpus_dir / rel, data)
        report = self.indexer.run(self.corpus_dir) if self.indexer else None
        return Saved(parsed.document, etag(data), report)
