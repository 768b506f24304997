"""The Chroma store: chunk vectors plus a manifest of committed documents, in one Chroma
database (a Chroma server's collections, or one segment of the embedded index).

A document's chunks become visible only when its manifest entry names their version (content
hash). Chunks are written first, the manifest entry second, old chunks removed last, so a run
killed at any point leaves every query seeing whole documents, and the next run sweeps leftovers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.errors import IndexMismatchError, IndexNotFoundError, StoreUnavailableError
from coach.index.chroma import batches, close_client, guarded, open_client
from coach.index.generations import Generations
from coach.index.records import ChunkHit, ChunkRecord, ManifestEntry, StoreLocation, as_metadata
from coach.index.tables import RecordTable

SCHEMA_VERSION = 1
GET_PAGE = 5000  # records a read asks Chroma for at a time
_MANIFEST_SUFFIX = "-manifest"
# A manifest record that changes with every write, so readers can tell their view is stale.
# Document ids match [a-z0-9-]+, so this id can never clash with one.
_REVISION_ID = "~revision"


def drop_collections(location: StoreLocation, client: Any) -> None:
    """Remove the chunk collection and its manifest (a rebuild on a Chroma server)."""
    names = (location.collection, location.collection + _MANIFEST_SUFFIX)
    existing = guarded(location, lambda: {c.name for c in client.list_collections()})
    for name in names:
        if name in existing:
            guarded(location, lambda name=name: client.delete_collection(name))


class ChunkStore:
    """The chunk collection and its manifest, in one Chroma database."""

    def __init__(
        self,
        location: StoreLocation,
        client: Any,
        chunks: Any,
        manifest: Any,
        folder: Path | None = None,
    ) -> None:
        self.location = location
        self.modified = False
        self._client = client
        self._chunks = chunks
        self._manifest = manifest
        self._folder = folder  # the embedded generation a reader opened
        self._opened_revision = ""

    @classmethod
    def open(
        cls, location: StoreLocation, embedder: str, dimension: int, folder: Path | None = None
    ) -> ChunkStore:
        """Open for reading: the Chroma server's collections, or one segment folder of the
        embedded index (`coach.index.layers.open_index` opens the embedded index as a whole).
        It must have been built by this embedder."""
        client = open_client(location, folder)
        try:
            chunks = guarded(location, lambda: client.get_collection(location.collection))
            manifest = guarded(
                location, lambda: client.get_collection(location.collection + _MANIFEST_SUFFIX)
            )
        except IndexNotFoundError:
            close_client(client)
            raise IndexNotFoundError(
                f"no index in the {location.describe()}; build it with `coach index`"
            ) from None
        store = cls(location, client, chunks, manifest, folder)
        try:
            store.check_identity(embedder, dimension)
            store._opened_revision = store.revision()
        except (IndexMismatchError, StoreUnavailableError):
            store.close()
            raise
        return store

    @classmethod
    def create(
        cls, location: StoreLocation, client: Any, embedder: str, dimension: int
    ) -> ChunkStore:
        """The collections in `client`, made for this embedder when they are not there."""
        return cls._create(location, client, embedder, dimension)

    @classmethod
    def _create(
        cls, location: StoreLocation, client: Any, embedder: str, dimension: int
    ) -> ChunkStore:
        identity = {"embedder": embedder, "dimension": dimension, "schema": SCHEMA_VERSION}
        chunks = guarded(
            location,
            lambda: client.get_or_create_collection(
                location.collection,
                metadata={**identity, "hnsw:space": "cosine"},
                embedding_function=None,
            ),
        )
        manifest = guarded(
            location,
            lambda: client.get_or_create_collection(
                location.collection + _MANIFEST_SUFFIX,
                metadata={"schema": SCHEMA_VERSION},
                embedding_function=None,
            ),
        )
        store = cls(location, client, chunks, manifest)
        store.check_identity(embedder, dimension)
        return store

    def close(self) -> None:
        close_client(self._client)

    def check_identity(self, embedder: str, dimension: int) -> None:
        meta = self._chunks.metadata or {}
        built_by, built_dim = meta.get("embedder"), meta.get("dimension")
        if built_by != embedder or built_dim != dimension:
            raise identity_mismatch(self.location, built_by, built_dim, embedder, dimension)

    # -- the manifest ----------------------------------------------------------------------

    def manifest(self) -> dict[str, ManifestEntry]:
        result = self._get_all(self._manifest, include=["metadatas"])
        return {
            doc_id: _entry(doc_id, meta)
            for doc_id, meta in zip(result["ids"], result["metadatas"], strict=True)
            if doc_id != _REVISION_ID
        }

    def revision(self) -> str:
        """Changes whenever a writer changed this index (empty for an index never written)."""
        result = guarded(
            self.location, lambda: self._manifest.get(ids=[_REVISION_ID], include=["metadatas"])
        )
        return str(result["metadatas"][0]["revision"]) if result["ids"] else ""

    def is_stale(self) -> bool:
        """Whether the index moved on since this reader opened it (a newer generation was
        published, or a writer changed the server's collections)."""
        if self._folder is not None:
            assert self.location.path is not None
            return Generations(self.location.path).segments() != [self._folder]
        return self.revision() != self._opened_revision

    def _touch(self) -> None:
        if self.modified:
            return
        self.modified = True
        guarded(
            self.location,
            lambda: self._manifest.upsert(
                ids=[_REVISION_ID], embeddings=[[0.0]], metadatas=[{"revision": uuid.uuid4().hex}]
            ),
        )

    def committed_hashes(self, doc_ids: Sequence[str]) -> dict[str, str]:
        if not doc_ids:
            return {}
        result = self._get_all(self._manifest, ids=list(doc_ids), include=["metadatas"])
        return {
            doc_id: str(meta["content_hash"])
            for doc_id, meta in zip(result["ids"], result["metadatas"], strict=True)
        }

    def commit(self, entries: Sequence[ManifestEntry]) -> None:
        """Make these document versions visible (their chunks must already be written)."""
        self._touch()
        for batch in batches(list(entries)):
            guarded(
                self.location,
                lambda batch=batch: self._manifest.upsert(
                    ids=[entry.doc_id for entry in batch],
                    embeddings=[[0.0] for _ in batch],
                    metadatas=[
                        {
                            "content_hash": entry.content_hash,
                            "n_chunks": entry.n_chunks,
                            "path": entry.path,
                        }
                        for entry in batch
                    ],
                ),
            )

    # -- chunks ----------------------------------------------------------------------------

    def write_chunks(self, records: Sequence[ChunkRecord]) -> None:
        """Write chunks of not yet committed versions (invisible until `commit`)."""
        self._touch()
        for batch in batches(list(records)):
            guarded(
                self.location,
                lambda batch=batch: self._chunks.upsert(
                    ids=[record.id for record in batch],
                    embeddings=[record.embedding for record in batch],
                    documents=[record.text for record in batch],
                    metadatas=[record.metadata for record in batch],
                ),
            )

    def drop_stale_chunks(self, doc_id: str, keep_hash: str | None) -> None:
        """Remove a document's chunks, except those of the version `keep_hash`."""
        self._touch()
        where: dict[str, Any] = {"doc_id": doc_id}
        if keep_hash is not None:
            where = {"$and": [{"doc_id": doc_id}, {"content_hash": {"$ne": keep_hash}}]}
        guarded(self.location, lambda: self._chunks.delete(where=where))

    def remove_documents(self, doc_ids: Sequence[str]) -> None:
        """Hide documents first (manifest), then delete their chunks."""
        if not doc_ids:
            return
        self._touch()
        guarded(self.location, lambda: self._manifest.delete(ids=list(doc_ids)))
        for doc_id in doc_ids:
            self.drop_stale_chunks(doc_id, keep_hash=None)

    def _get_all(self, collection: Any, **query: Any) -> dict[str, list[Any]]:
        """`collection.get(**query)` page by page: one call for a large collection fails in
        Chroma's SQLite ("too many SQL variables", beyond about 30,000 records)."""
        found: dict[str, list[Any]] = {"ids": []}
        fields = query.get("include", [])
        for name in fields:
            found[name] = []
        offset = 0
        while True:
            page = guarded(
                self.location,
                lambda offset=offset: collection.get(**query, limit=GET_PAGE, offset=offset),
            )
            found["ids"] += list(page["ids"])
            for name in fields:
                found[name] += list(page[name]) if page[name] is not None else []
            if len(page["ids"]) < GET_PAGE:
                return found
            offset += GET_PAGE

    def chunk_count(self) -> int:
        """How many chunks are stored (committed or not)."""
        count: int = guarded(self.location, self._chunks.count)
        return count

    @property
    def folder(self) -> Path | None:
        """The embedded segment this store is, or None on a Chroma server."""
        return self._folder

    def sweep(self, manifest: dict[str, ManifestEntry]) -> int:
        """Delete every chunk that no committed version owns (left by an interrupted run)."""
        result = self._get_all(self._chunks, include=["metadatas"])
        stale = [
            chunk
            for chunk, meta in zip(result["ids"], result["metadatas"], strict=True)
            if (entry := manifest.get(str(meta.get("doc_id")))) is None
            or entry.content_hash != meta.get("content_hash")
        ]
        if stale:
            self._touch()
        for batch in batches(stale):
            guarded(self.location, lambda batch=batch: self._chunks.delete(ids=batch))
        return len(stale)

    def get_chunks(self, where: dict[str, Any] | None = None) -> list[ChunkHit]:
        """Chunks of committed versions (for example to build a lexical index)."""
        result = self._get_all(self._chunks, where=where, include=["metadatas", "documents"])
        hits = [
            _hit(chunk, meta, text)
            for chunk, meta, text in zip(
                result["ids"], result["metadatas"], result["documents"], strict=True
            )
        ]
        return self._committed(hits)

    def snapshot(self) -> tuple[list[ChunkHit], NDArray[np.float32]]:
        """Every committed chunk with its embedding (rows in the same order), for a reader
        that searches in memory."""
        result = self._get_all(self._chunks, include=["metadatas", "documents", "embeddings"])
        hits: list[ChunkHit] = []
        rows: list[Any] = []
        manifest = self.manifest()
        for chunk, meta, text, vector in zip(
            result["ids"],
            result["metadatas"],
            result["documents"],
            result["embeddings"],
            strict=True,
        ):
            entry = manifest.get(str(meta["doc_id"]))
            if entry is not None and entry.content_hash == meta.get("content_hash"):
                hits.append(_hit(chunk, meta, text))
                rows.append(vector)
        if not rows:  # nothing active indexed: an empty matrix of the index's width
            width = int((self._chunks.metadata or {}).get("dimension") or 0)
            return hits, np.zeros((0, width), dtype=np.float32)
        return hits, np.asarray(rows, dtype=np.float32)

    def tables(self, vectors: bool = True) -> list[tuple[RecordTable, NDArray[np.bool_]]]:
        """The committed records as one table, all of them counting (read and stemmed here:
        a Chroma server's collection has no saved table)."""
        table = RecordTable.build(*(self.snapshot() if vectors else (self.get_chunks(), None)))
        return [(table, np.ones(len(table), dtype=bool))]

    def query(
        self, embedding: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[ChunkHit]:
        """The `k` nearest chunks of committed, active document versions, nearest first.

        Only active documents are indexed, so no status filter goes to Chroma (a `where` clause
        makes its search about ten times slower); the status is checked on the hits instead.
        """
        result = guarded(
            self.location,
            lambda: self._chunks.query(
                query_embeddings=[list(embedding)],
                n_results=k,
                where=where,
                include=["metadatas", "documents", "distances"],
            ),
        )
        hits = [
            _hit(chunk, meta, text, float(distance))
            for chunk, meta, text, distance in zip(
                result["ids"][0],
                result["metadatas"][0],
                result["documents"][0],
                result["distances"][0],
                strict=True,
            )
            if meta.get("status") == "active"
        ]
        return self._committed(hits)

    def _committed(self, hits: list[ChunkHit]) -> list[ChunkHit]:
        hashes = self.committed_hashes(sorted({hit.doc_id for hit in hits}))
        return [hit for hit in hits if hashes.get(hit.doc_id) == hit.metadata.get("content_hash")]


def _hit(
    record_id: str, meta: Mapping[str, object], text: str | None, distance: float = 0.0
) -> ChunkHit:
    return ChunkHit(record_id, str(meta["doc_id"]), text or "", as_metadata(meta), distance)


def _entry(doc_id: str, meta: dict[str, Any]) -> ManifestEntry:
    return ManifestEntry(
        doc_id=doc_id,
        content_hash=str(meta["content_hash"]),
        n_chunks=int(meta["n_chunks"]),
        path=str(meta.get("path", "")),
    )


def identity_mismatch(
    location: StoreLocation, built_by: object, built_dim: object, embedder: str, dimension: int
) -> IndexMismatchError:
    """The error for an index built by another embedder than the configured one."""
    return IndexMismatchError(
        f"the {location.describe()} was built with {built_by} ({built_dim}-d), "
        f"but the configured embedder is {embedder} ({dimension}-d). Rebuild it with "
        "`coach index --rebuild`, or set COACH_EMBEDDING_MODEL to the model that built it."
    )
