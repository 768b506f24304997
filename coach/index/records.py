"""What an index holds: where it lives, its records and their metadata, and the manifest
entries that make a document's records visible."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, cast

from coach.ingest.corpus import Document
from coach.vocabulary import DocType, Language, Status


@dataclass(frozen=True)
class StoreLocation:
    """Where the index lives: an embedded folder, or a Chroma server."""

    collection: str
    path: Path | None = None
    host: str | None = None
    port: int = 8000
    ssl: bool = False

    def describe(self) -> str:
        if self.host:
            scheme = "https" if self.ssl else "http"
            return (
                f"Chroma server {scheme}://{self.host}:{self.port} (collection {self.collection})"
            )
        return f"embedded index {self.path} (collection {self.collection})"


@dataclass(frozen=True)
class ManifestEntry:
    doc_id: str
    content_hash: str
    n_chunks: int
    path: str


class DocumentMetadata(TypedDict):
    """A document's fields, flat, as every one of its records carries them (an unset optional
    field is an empty string; tags are comma-separated)."""

    doc_id: str
    title: str
    type: DocType
    language: Language
    team: str
    owner: str
    tags: str
    updated: str
    status: Status
    path: str


class RecordMetadata(TypedDict, total=False):
    """What a record is: a chunk, or an advice item with its section, step and priority."""

    chunk_index: int
    heading_path: str
    record: str  # "item" for an advice item; absent for a chunk
    item_priority: int
    item_step: int


class ChunkMetadata(DocumentMetadata, RecordMetadata, total=False):
    """A record's metadata in the store: its document's fields, the version of the document it
    belongs to, and what it is."""

    content_hash: str


def document_metadata(document: Document) -> DocumentMetadata:
    """A document's fields as a vector store keeps them (flat strings)."""
    return {
        "doc_id": document.id,
        "title": document.title,
        "type": document.type,
        "language": document.language,
        "team": document.team or "",
        "owner": document.owner or "",
        "tags": ",".join(document.tags),
        "updated": document.updated.isoformat() if document.updated else "",
        "status": document.status,
        "path": document.path,
    }


def as_metadata(raw: Mapping[str, object]) -> ChunkMetadata:
    """Metadata as a store returns it, typed: the store only ever holds what the indexer wrote."""
    return cast(ChunkMetadata, dict(raw))


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk or advice item as written to the store."""

    id: str
    text: str
    embedding: list[float]
    metadata: ChunkMetadata


@dataclass(frozen=True)
class ChunkHit:
    """One record as read back from the store (`distance` 0.0 when it was not a query)."""

    id: str
    doc_id: str
    text: str
    metadata: ChunkMetadata
    distance: float


def chunk_id(doc_id: str, content_hash: str, index: int) -> str:
    return f"{doc_id}:{content_hash[:16]}:{index}"
