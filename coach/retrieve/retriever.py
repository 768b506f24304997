"""Hybrid retrieval: dense (Chroma) and lexical (BM25) chunk rankings fused per document."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.index.embedders import Embedder
from coach.index.layers import open_index
from coach.index.protocol import SearchableStore
from coach.index.records import ChunkHit, ChunkMetadata, StoreLocation
from coach.index.tables import FILTER_COLUMNS, RecordTable, is_item, joined
from coach.retrieve.dense import TWO_PASS_FROM, DenseIndex
from coach.retrieve.filters import Filters
from coach.retrieve.fusion import MODES, Fusion, Mode
from coach.retrieve.language import detect_language
from coach.retrieve.lexical import LexicalIndex

# Indexes up to this many chunks are searched in memory (about 2 KB per chunk at 512-d).
MEMORY_CHUNKS = 200_000


@dataclass
class DocumentHit:
    """One retrieved document: its metadata and best chunks (best first)."""

    doc_id: str
    metadata: ChunkMetadata
    score: float = 0.0
    similarity: float | None = None  # cosine of its best chunk to the query (dense)
    lexical_score: float | None = None  # BM25 of its best chunk
    lexical_share: float = 0.0  # the lexical evidence fusion used, 0..1
    chunks: list[ChunkHit] = field(default_factory=list)
    # Its advice items with their cosine to the query, best first (empty when the index has no
    # item vectors in memory: the composer then ranks items by shared terms).
    items: list[tuple[ChunkHit, float]] = field(default_factory=list)

    best_item: float | None = None  # the cosine of its best advice item, when measured

    @property
    def item_similarity(self) -> float | None:
        return self.items[0][1] if self.items else self.best_item

    @property
    def language(self) -> str:
        return str(self.metadata.get("language", ""))


@dataclass(frozen=True)
class Retrieval:
    language: str
    documents: list[DocumentHit]
    # The best dense cosine over all candidates (0.0 when none); None when no dense search ran.
    top_similarity: float | None
    mode: Mode = "hybrid"  # what the documents' scores are: hybrid, a cosine, or BM25 share


class Retriever:
    """Searches one index. It notices when the index was rewritten (a new generation, or a
    writer on the server) and reloads, so BM25 is never stale.

    The index is `open_index(location, ...)` unless `open_store` is given: then that opens
    it (tests pass an in-memory store, coach.testing)."""

    def __init__(
        self,
        embedder: Embedder,
        location: StoreLocation,
        fusion: Fusion | None = None,
        candidates: int = 40,
        chunks_per_document: int = 3,
        memory_chunks: int = MEMORY_CHUNKS,
        two_pass_from: int = TWO_PASS_FROM,
        *,
        open_store: Callable[[], SearchableStore] | None = None,
    ) -> None:
        self.embedder = embedder
        self.location = location
        self._open_store = open_store or self._open_chunk_store
        self.fusion = fusion or Fusion()
        self.candidates = candidates
        self.chunks_per_document = chunks_per_document
        self.memory_chunks = memory_chunks
        self.two_pass_from = two_pass_from  # chunks from which dense scoring takes two passes
        self.mode: Mode = "hybrid"  # what `search` does by default (evaluations compare modes)
        self._store: SearchableStore | None = None
        # The index's record tables, one after the other: a record's row is its position there.
        self._tables: list[RecordTable] = []
        self._offsets: NDArray[np.intp] = np.zeros(1, dtype=np.intp)
        self._lexical: LexicalIndex | None = None
        self._columns: dict[str, NDArray[Any]] = {}
        self._chunks: NDArray[np.bool_] = np.zeros(0, dtype=bool)  # the rows of chunks that count
        # The tables' vectors, when in memory. Advice items are scored only for the documents
        # a search found (`_score_found`).
        self._dense: DenseIndex | None = None
        self._chunk_rows: dict[str, NDArray[np.intp]] = {}  # a document's rows of the chunks
        self._item_rows: dict[str, NDArray[np.intp]] = {}  # and of its advice items
        self._reload = threading.Lock()
        self._warm = False  # whether `ready` has embedded a query yet
        # One query embedding at a time: the models already use both cores for one text, and
        # concurrent calls only fight over them.
        self._embedding = threading.Lock()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _open_chunk_store(self) -> SearchableStore:
        return open_index(self.location, self.embedder.name, self.embedder.dimension)

    @property
    def two_pass(self) -> bool:
        """Whether dense scoring takes two passes (`coach.retrieve.dense`): in memory, and at
        `two_pass_from` chunks or more."""
        return self._dense is not None and self._dense.two_pass

    def ready(self) -> None:
        """Open the index, and embed a first query, so the first request loads nothing."""
        self.store()
        if not self._warm:
            with self._embedding:
                self.embedder.embed_query("warm-up")
            self._warm = True

    def store(self) -> SearchableStore:
        """The current index, reopened (and BM25 rebuilt) when it changed since last time."""
        with self._reload:
            if self._store is None or self._store.is_stale():
                self.close()
                self._load(self._open_store())
            assert self._store is not None
            return self._store

    def _load(self, store: SearchableStore) -> None:
        """Take the index's record tables (`coach.index.tables`): BM25 and the filter columns
        always, and the vectors too when the index is small enough to search in memory (a
        matrix product beats Chroma's query, about 7 ms, at any size up to `memory_chunks`)."""
        in_memory = store.chunk_count() <= self.memory_chunks
        parts = store.tables(vectors=in_memory)
        self._tables = [table for table, _ in parts]
        self._offsets = np.cumsum([0, *(len(table) for table in self._tables)], dtype=np.intp)
        counts = joined([decided for _, decided in parts], bool)
        counts &= joined([table.active for table in self._tables], bool)
        items = joined([table.items for table in self._tables], bool)
        self._chunks = counts & ~items
        self._columns = {
            key: joined([table.columns[key] for table in self._tables], object)
            for key in FILTER_COLUMNS
        }
        self._chunk_rows, self._item_rows = {}, {}
        for table, offset in zip(self._tables, self._offsets, strict=False):
            for doc_id, rows in table.by_document.items():
                rows = rows + offset
                rows = rows[counts[rows]]
                if len(rows):
                    chunk = self._chunks[rows]
                    self._chunk_rows[doc_id] = rows[chunk]
                    if in_memory and not chunk.all():
                        self._item_rows[doc_id] = rows[~chunk]
        previous, self._dense = self._dense, None
        if in_memory:  # the previous index lends what the tables it shares already have
            self._dense = DenseIndex(
                self._tables, self._offsets, previous, two_pass_from=self.two_pass_from
            )
        self._lexical = LexicalIndex(self._tables, self._chunks)
        self._store = store

    def _hit(self, row: int, distance: float = 0.0) -> ChunkHit:
        table = int(np.searchsorted(self._offsets, row, side="right")) - 1
        return self._tables[table].hit(row - int(self._offsets[table]), distance)

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
        # the cosine of records to the query, when in memory: the chunks `DenseIndex.scores`
        # scores, and the chunks and advice items of the documents found (-inf for the rest)
        scores: NDArray[np.float32] | None = None
        if mode in ("hybrid", "dense"):
            with self._embedding:
                query_vector = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
            n = max(self.candidates, 4 * k)
            if self._dense is not None:
                scores, scored = self._dense.scores(query_vector, self._allowed(filters))
                dense = self._nearest_in_memory(scores, scored, n)
            else:
                dense = self._nearest_in_chroma(store, query_vector, filters, n)
        if mode in ("hybrid", "lexical"):
            lexical = self._lexical_hits(query, language, filters, max(self.candidates, 4 * k))
        documents = self._group(dense, lexical)
        if scores is not None:
            self._score_found(documents, scores, query_vector)
        self._measure(documents, scores)
        self._score(documents, mode, language)
        documents = sorted(documents, key=lambda document: (-document.score, document.doc_id))[:k]
        if scores is not None:
            for document in documents:
                rows = self._item_rows.get(document.doc_id)
                if rows is not None:
                    order = rows[np.argsort(-scores[rows], kind="stable")]
                    document.items = [(self._hit(int(i)), float(scores[i])) for i in order]
        top = max((1.0 - hit.distance for hit in dense), default=0.0) if mode != "lexical" else None
        return Retrieval(language=language, documents=documents, top_similarity=top, mode=mode)

    def _score_found(
        self, documents: list[DocumentHit], scores: NDArray[np.float32], query: NDArray[np.float32]
    ) -> None:
        """Fill in the cosines of these documents' advice items (most of an index's records,
        and needed only for the documents a search found), and of their chunks when the first
        pass left some unscored."""
        assert self._dense is not None
        found = [self._item_rows[d.doc_id] for d in documents if d.doc_id in self._item_rows]
        if self._dense.two_pass:
            found += [self._chunk_rows[d.doc_id] for d in documents if d.doc_id in self._chunk_rows]
        if found:
            self._dense.measure(scores, np.concatenate(found), query)

    def _measure(self, documents: list[DocumentHit], scores: NDArray[np.float32] | None) -> None:
        """Complete each candidate's dense evidence from the in-memory scores: the cosine of
        its best chunk (also for one found by BM25 alone) and of its best advice item."""
        if scores is None:
            return
        for document in documents:
            rows = self._chunk_rows.get(document.doc_id)
            if rows is not None:
                best = float(scores[rows].max())
                document.similarity = max(document.similarity or -1.0, best)
            items = self._item_rows.get(document.doc_id)
            if items is not None:
                document.best_item = float(scores[items].max())

    def _score(self, documents: list[DocumentHit], mode: Mode, language: str) -> None:
        if mode == "dense":
            for document in documents:
                document.score = document.similarity or 0.0
            return
        same = [d.lexical_score or 0.0 for d in documents if d.language in ("", language)]
        best_lexical = max(same, default=0.0) or 1.0
        if mode == "lexical":
            for document in documents:
                document.score = (document.lexical_score or 0.0) / best_lexical
            return
        same_language = [d for d in documents if d.language in ("", language)]
        for document in same_language:
            document.lexical_share = (document.lexical_score or 0.0) / best_lexical
        # A document in the other language gets the lexical share of its standing: ranked
        # among the same-language documents by meaning (chunk and item cosine, which do not
        # depend on the language), it gets the share that ranks there. Neither a penalty for
        # its language nor more than a same-language document of its standing earns.
        shares = sorted((d.lexical_share for d in same_language), reverse=True)
        meanings = [self.fusion.meaning(*_cosines(d)) for d in same_language]
        for document in documents:
            similarity, item = _cosines(document)
            if document.language not in ("", language):
                meaning = self.fusion.meaning(similarity, item)
                standing = sum(1 for other in meanings if other > meaning)
                document.lexical_share = shares[standing] if standing < len(shares) else 0.0
            document.score = self.fusion.score(similarity, item, document.lexical_share)

    def document_chunks(self, doc_ids: Iterable[str]) -> dict[str, list[ChunkHit]]:
        """All chunks of these documents, in document order."""
        ids = sorted(set(doc_ids))
        if not ids:
            return {}
        self.store()
        found = {
            doc_id: [self._hit(int(row)) for row in self._chunk_rows.get(doc_id, ())]
            for doc_id in ids
        }
        for hits in found.values():
            hits.sort(key=lambda hit: int(hit.metadata.get("chunk_index", 0)))
        return found

    def _nearest_in_chroma(
        self, store: SearchableStore, vector: NDArray[np.float32], filters: Filters, n: int
    ) -> list[ChunkHit]:
        """Nearest chunks from Chroma's HNSW. With filters, over-fetch and filter here first:
        a `where` clause is about ten times slower; it is the fallback when too few hits pass.
        Advice items share the collection and are skipped here."""
        query = vector.tolist()
        where = filters.where()
        hits = [
            hit
            for hit in store.query(query, k=4 * n)
            if filters.allows(hit.metadata) and not _is_item(hit)
        ]
        if len(hits) >= n or where is None:
            return hits[:n]
        return [hit for hit in store.query(query, k=4 * n, where=where) if not _is_item(hit)][:n]

    def _allowed(self, filters: Filters) -> NDArray[np.bool_]:
        """The rows of the chunks that count and pass `filters`."""
        mask = self._mask(filters)
        return self._chunks if mask is None else self._chunks & mask

    def _nearest_in_memory(
        self, scores: NDArray[np.float32], scored: NDArray[np.intp], n: int
    ) -> list[ChunkHit]:
        """The `n` nearest of the `scored` rows (ascending), nearest first."""
        if not len(scored):
            return []
        cosines = scores[scored]
        top = min(n, len(scored))
        candidates = np.argpartition(-cosines, top - 1)[:top]
        ordered = candidates[np.argsort(-cosines[candidates], kind="stable")]
        return [self._hit(int(scored[i]), float(1.0 - cosines[i])) for i in ordered]

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
        return [(self._hit(hit.position), hit.score) for hit in hits]

    def _group(
        self, dense: list[ChunkHit], lexical: list[tuple[ChunkHit, float]]
    ) -> list[DocumentHit]:
        """The candidate documents of both rankings, with their best cosine, BM25 and chunks."""
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

        for chunk in dense:  # nearest first: a document's first chunk is its best
            document = hit_for(chunk)
            if document.similarity is None:
                document.similarity = 1.0 - chunk.distance
            add_chunk(document, chunk)
        for chunk, score in lexical:
            document = hit_for(chunk)
            if document.lexical_score is None:
                document.lexical_score = score
            add_chunk(document, chunk)
        for document in documents.values():
            document.chunks = _best_chunks(document.chunks, self.chunks_per_document)
        return list(documents.values())


def _cosines(document: DocumentHit) -> tuple[float, float]:
    """A document's best chunk cosine and best item cosine (its chunk's, when it has no item)."""
    similarity = document.similarity or 0.0
    item = document.item_similarity
    return similarity, similarity if item is None else item


def _is_item(hit: ChunkHit) -> bool:
    return is_item(hit.metadata)


def _best_chunks(chunks: list[ChunkHit], limit: int) -> list[ChunkHit]:
    """Dense hits come first in arrival order (nearest first), then lexical ones."""
    return chunks[:limit]
