"""Curating the corpus: documents written from fields, validated with the lint rules, saved
atomically, guarded by ETags, and re-indexed at once."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from coach.atomic import exclusive_lock, write_atomic
from coach.errors import ConflictError, CorpusError, NotFoundError, Problem, StaleVersionError
from coach.index.indexer import Indexer, IndexReport
from coach.ingest.corpus import (
    Document,
    is_valid_id,
    parse_document_text,
)
from coach.ingest.corpus import Fields as Fields  # re-exported: the API and lessons build them
from coach.ingest.reader import CorpusReader
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


def etag(document: Document) -> str:
    """A document's ETag: its file's version (bytes and place), as a quoted string. A draft's
    ETag is its document's: deciding a draft sends it as If-Match like an update does."""
    return f'"{document.content_hash[:32]}"'


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
    `writing()` holds that lock for a caller whose own bookkeeping must be part of the step (a
    draft's record beside its document); the curator's writes inside it do not lock again.
    Reads go through one `CorpusReader`, so unchanged files are not parsed again.
    """

    def __init__(self, corpus_dir: Path, indexer: Indexer | None) -> None:
        self.corpus_dir = corpus_dir
        self.indexer = indexer
        # the indexer's own reader when there is one: a save re-parses only the saved file
        self.reader = indexer.reader(corpus_dir) if indexer else CorpusReader(corpus_dir)
        self._holder = threading.local()

    def documents(self) -> list[tuple[Document, str]]:
        """Every valid document with its ETag, from one scan."""
        return [(doc, etag(doc)) for doc in self.reader.scan().documents]

    def get(self, doc_id: str) -> tuple[Document, str]:
        if is_valid_id(doc_id):
            for document in self.reader.scan().documents:
                if document.id == doc_id:
                    return document, etag(document)
        raise NotFoundError(f"no document {doc_id} in the corpus")

    def create(self, fields: Fields) -> Saved:
        rel = f"{folder_for(fields)}/{fields.id}.md"
        data, document = self._validated(rel, fields)  # before any file is looked at
        with self.writing():
            name = f"{fields.id}.md"
            for parsed in self.reader.scan().files:
                if parsed.doc_id == fields.id or Path(parsed.path).name == name:
                    raise ConflictError(f"a document with id {fields.id} already exists")
            return self._save(rel, data, document)

    def update(self, doc_id: str, fields: Fields, if_match: str) -> Saved:
        if fields.id != doc_id:
            raise CorpusError(
                f"the id cannot change ({doc_id} -> {fields.id}); create a new document instead",
                [Problem(f"{doc_id}.md", 1, "id-mismatch", "the id cannot change")],
            )
        with self.writing():
            current = self._current(doc_id, if_match)
            return self._save(current.path, *self._validated(current.path, fields))

    def set_status(self, doc_id: str, status: Status, if_match: str | None = None) -> Saved:
        """Give the document `status`; with `if_match`, only if it is still that version."""
        with self.writing():
            current = self._current(doc_id, if_match)
            fields = replace(Fields.of(current), status=status)
            return self._save(current.path, *self._validated(current.path, fields))

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the corpus write lock (one writer across threads and processes); re-entrant
        within a thread."""
        if getattr(self._holder, "held", False):
            yield
            return
        with exclusive_lock(self.corpus_dir / WRITE_LOCK):
            self._holder.held = True
            try:
                yield
            finally:
                self._holder.held = False

    def _current(self, doc_id: str, if_match: str | None) -> Document:
        current, current_etag = self.get(doc_id)
        if if_match is not None and if_match.strip() != current_etag:
            raise StaleVersionError(
                f"{doc_id} changed since you read it; reload it, redo your change and try again"
            )
        return current

    def _validated(self, rel: str, fields: Fields) -> tuple[bytes, Document]:
        """The file for these fields and its document, checked with the lint rules."""
        problems: list[Problem] = []
        if fields.id.lower() == "readme":
            message = "`readme` is not a document id: README files are never read as documents"
            problems.append(Problem(rel, 1, "reserved-id", message, "id"))
        text = render(fields)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            message = f"not valid Unicode text ({exc.reason}); send UTF-8"
            raise CorpusError(message, [*problems, Problem(rel, 1, "encoding", message)]) from exc
        parsed = parse_document_text(text, rel)
        problems += parsed.problems
        if parsed.document is None or problems:
            raise CorpusError(f"the document is not valid: {len(problems)} problem(s)", problems)
        return data, parsed.document

    def _save(self, rel: str, data: bytes, document: Document) -> Saved:
        write_atomic(self.corpus_dir / rel, data)
        report = self.indexer.run(self.corpus_dir) if self.indexer else None
        return Saved(document, etag(document), report)
