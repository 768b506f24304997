"""Hybrid retrieval: dense (Chroma) and lexical (BM25) chunk rankings fused per document."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from coach.embedding import Embedder
from coach.language import detect_language
from coach.lexical import LexicalIndex
from coach.store import ChunkHit, ChunkStore, StoreLocation

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")
DOC_TYPES = ("procedure", "lesson")
# Indexes up to this many chunks are searched in memory (about 2 KB per chunk at 512-d).
MEMORY_CHUNKS = 200_000


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to a team, a document type and/or a document language."""

    team: str | None = None
    type: str | None = None
    language: str | None = None

    def _conditions(self) -> dict[str, str]:
        pairs = {"team": self.team, "type": self.type, "language": self.language}
        return {key: value for key, value in pairs.items() if value}

    def where(self) -> dict[str, Any] | None:
        """The Chroma `where` clause."""
        conditions = [{key: value} for key, value in self._conditions().items()]
        if not conditions:
            return None
        return conditions[0] if len(conditions) == 1 else {"$and": conditions}

    def allows(self, metadata: dict[str, Any]) -> bool:
        return all(metadata.get(key) == value for key, value in self._conditions().items())


@dataclass(frozen=True)
class Fusion:
    """Weighted reciprocal rank fusion. The defaults come from measurement on the evaluation
    situations (bench/retrieval_bench.py, README): BM25 cannot bridge languages, so it weighs
    half as much as the multilingual dense ranking; a small rrf_k lets the top ranks decide."""

    dense: float = 1.0
    lexical: float = 0.5
    rrf_k: int = 5

    def score(self, dense_rank: int | None, lexical_rank: int | None) -> float:
        total = 0.0
        if dense_rank is not None:
            total += self.dense / (self.rrf_k + dense_rank)
        if lexical_rank is not None:
            total += self.lexical / (self.rrf_k + lexical_rank)
        best = (self.dense + self.lexical) / (self.rrf_k + 1)
        return total / best if best else 0.0


@dataclass
class DocumentHit:
    """One retrieved document: its metadata and best chunks (best first)."""

    doc_id: str
    metadata: dict[str, Any]
    score: float = 0.0
    similarity: float | None = None  # cosine of its best chunk to the query (dense)
    lexical_score: float | None = None  # BM25 of its best chunk
    dense_rank: int | None = None  # 1-based, among documents
    lexical_rank: int | None = None
    chunks: list[ChunkHit] = field(default_factory=list)


@dataclass(frozen=True)
class Retrieval:
    language: str
    documents: list[DocumentHit]
    # The best dense cosine over all candidates (0.0 when none); None when no dense search ran.
    top_similarity: float | None


class Retriever:
    """Searches one index. It notices when the index was rewritten (a new generation, or a
    writer on the server) and reloads, so BM25 is never stale."""

    def __init__(
        self,
        embedder: Embedder,
        location: StoreLocation,
        fusion: Fusion | None = None,
        candidates: int = 40,
        chunks_per_document: int = 3,
        memory_chunks: int = MEMORY_CHUNKS,
    ) -> None:
        self.embedder = embedder
        self.location = location
        self.fusion = fusion or Fusion()
        self.candidates = candidates
        self.chunks_per_document = chunks_per_document
        self.memory_chunks = memory_chunks
        self.mode: Mode = "hybrid"  # what `search` does by default (evaluations compare modes)
        self._store: ChunkStore | None = None
        self._lexical: LexicalIndex | None = None
        self._columns: dict[str, NDArray[Any]] = {}
        self._matrix: NDArray[np.float32] | None = None  # chunk vectors, when searched in memory
        self._by_document: dict[str, list[int]] = {}
        self._reload = threading.Lock()
        # One query embedding at a time: the models already use both cores for one text, and
        # concurrent calls only fight over them.
        self._embedding = threading.Lock()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def store(self) -> ChunkStore:
        """The current index, reopened (and BM25 rebuilt) when it changed since last time."""
        with self._reload:
            if self._store is None or self._store.is_stale():
                self.close()
                self._load(
                    ChunkStore.open(self.location, self.embedder.name, self.embedder.dimension)
                )
            assert self._store is not None
            return self._store

    def _load(self, store: ChunkStore) -> None:
        """Read every chunk once: BM25 and the filter columns always, and the vectors too when
        the index is small enough to search in memory (a matrix product beats Chroma's query,
        about 7 ms, at any size up to `memory_chunks`)."""
        in_memory = store.chunk_count() <= self.memory_chunks
        if in_memory:
            hits, matrix = store.snapshot()
            active = [i for i, hit in enumerate(hits) if hit.metadata.get("status") == "active"]
            chunks = [hits[i] for i in active]
            matrix = matrix[active] if len(active) else matrix[:0]
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            self._matrix = (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)
        else:
            chunks = [hit for hit in store.get_chunks() if hit.metadata.get("status") == "active"]
            self._matrix = None
        self._lexical = LexicalIndex(chunks)
        self._columns = {
            key: np.array([str(hit.metadata.get(key)) for hit in chunks], dtype=object)
            for key in ("team", "type", "language")
        }
        self._by_document = {}
        for position, hit in enumerate(chunks):
            self._by_document.setdefault(hit.doc_id, []).append(position)
        self._store = store

    def search(
        self,
        query: str,
        *,
        filters: Filters | None = None,
        k: int = 5,
        mode: Mode | None = None,
        language: str | None = None,
    ) -> Retrieval:
        """The `k` best documents. `mode` defaults to the retriever's own (`self.mode`)."""
        mode = mode or self.mode
        filters = filters or Filters()
        language = language or detect_language(query)
        store = self.store()
        dense: list[ChunkHit] = []
        lexical: list[tuple[ChunkHit, float]] = []
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        if mode in ("hybrid", "dense"):
            dense = self._dense_hits(store, query, filters, max(self.candidates, 4 * k))
        if mode in ("hybrid", "lexical"):
            lexical = self._lexical_hits(query, language, filters, max(self.candidates, 4 * k))
        documents = self._fuse(dense, lexical)[:k]
        top = max((1.0 - hit.distance for hit in dense), default=0.0) if mode != "lexical" else None
        return Retrieval(language=language, documents=documents, top_similarity=top)

    def document_chunks(self, doc_ids: Iterable[str]) -> dict[str, list[ChunkHit]]:
        """All chunks of these documents, in document order."""
        ids = sorted(set(doc_ids))
        if not ids:
            return {}
        store = self.store()
        if self._matrix is not None and self._lexical is not None:
            chunks = self._lexical.chunks
            found = {
                doc_id: [chunks[i] for i in self._by_document.get(doc_id, [])] for doc_id in ids
            }
            for hits in found.values():
                hits.sort(key=lambda hit: int(hit.metadata.get("chunk_index", 0)))
            return found
        where = {"doc_id": ids[0]} if len(ids) == 1 else {"doc_id": {"$in": ids}}
        result: dict[str, list[ChunkHit]] = {doc_id: [] for doc_id in ids}
        for hit in store.get_chunks(where):
            result[hit.doc_id].append(hit)
        for hits in result.values():
            hits.sort(key=lambda hit: int(hit.metadata.get("chunk_index", 0)))
        return result

    def _dense_hits(
        self, store: ChunkStore, query: str, filters: Filters, n: int
    ) -> list[ChunkHit]:
        """Nearest chunks, in memory or from Chroma. With filters on Chroma, over-fetch and
        filter here first: a `where` clause is about ten times slower; it is the fallback when
        too few hits pass."""
        with self._embedding:
            vector = self.embedder.embed_query(query)
        if self._matrix is not None:
            return self._nearest_in_memory(vector, filters, n)
        where = filters.where()
        if where is None:
            return store.query(vector, k=n)
        hits = [hit for hit in store.query(vector, k=4 * n) if filters.allows(hit.metadata)]
        if len(hits) >= n:
            return hits[:n]
        return store.query(vector, k=n, where=where)

    def _nearest_in_memory(self, vector: list[float], filters: Filters, n: int) -> list[ChunkHit]:
        assert self._matrix is not None and self._lexical is not None
        if not len(self._matrix):
            return []
        scores = self._matrix @ np.asarray(vector, dtype=np.float32)
        mask = self._mask(filters)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        top = min(n, len(scores))
        candidates = np.argpartition(-scores, top - 1)[:top]
        ordered = candidates[np.argsort(-scores[candidates], kind="stable")]
        chunks = self._lexical.chunks
        return [
            replace(chunks[i], distance=float(1.0 - scores[i]))
            for i in ordered
            if np.isfinite(scores[i])
        ]

    def _mask(self, filters: Filters) -> NDArray[np.bool_] | None:
        mask: NDArray[np.bool_] | None = None
        for key, value in (
            ("team", filters.team),
            ("type", filters.type),
            ("language", filters.language),
        ):
            if value:
                allowed = self._columns[key] == value
                mask = allowed if mask is None else mask & allowed
        return mask

    def _lexical_hits(
        self, query: str, language: str, filters: Filters, n: int
    ) -> list[tuple[ChunkHit, float]]:
        assert self._lexical is not None
        hits = self._lexical.search(query, language, n, self._mask(filters))
        return [(self._lexical.chunks[hit.position], hit.score) for hit in hits]

    def _fuse(
        self, dense: list[ChunkHit], lexical: list[tuple[ChunkHit, float]]
    ) -> list[DocumentHit]:
        documents: dict[str, DocumentHit] = {}
        seen: dict[str, set[str]] = {}

        def hit_for(chunk: ChunkHit) -> DocumentHit:
            document = documents.get(chunk.doc_id)
            if document is None:
                document = documents[chunk.doc_id] = DocumentHit(chunk.doc_id, chunk.metadata)
                seen[chunk.doc_id] = set()
            return document

        def add_chunk(document: DocumentHit, chunk: ChunkHit) -> None:
            if chunk.id not in seen[document.doc_id]:
                seen[document.doc_id].add(chunk.id)
                document.chunks.append(chunk)

        rank = 0
        for chunk in dense:
            document = hit_for(chunk)
            if document.dense_rank is None:
                rank += 1
                document.dense_rank = rank
                document.similarity = 1.0 - chunk.distance
            add_chunk(document, chunk)
        rank = 0
        for chunk, score in lexical:
            document = hit_for(chunk)
            if document.lexical_rank is None:
                rank += 1
                document.lexical_rank = rank
                document.lexical_score = score
            add_chunk(document, chunk)
        for document in documents.values():
            document.score = self.fusion.score(document.dense_rank, document.lexical_rank)
            document.chunks = _best_chunks(document.chunks, self.chunks_per_document)
        return sorted(documents.values(), key=lambda document: (-document.score, document.doc_id))


def _best_chunks(chunks: list[ChunkHit], limit: int) -> list[ChunkHit]:
    """Dense hits come first in arrival order (nearest first), then lexical ones."""
    return chunks[:limit]
