"""Hybrid retrieval: dense (Chroma) and lexical (BM25) chunk rankings fused per document."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.index.embedders import Embedder
from coach.index.layers import open_index
from coach.index.protocol import SearchableStore
from coach.index.records import ChunkHit, StoreLocation
from coach.index.tables import FILTER_COLUMNS, RecordTable, is_item, joined
from coach.retrieve.dense import TWO_PASS_FROM, DenseIndex
from coach.retrieve.documents import DocumentRows, best_per_document, starts_of
from coach.retrieve.filters import Filters
from coach.retrieve.fusion import MODES, Fusion, Mode
from coach.retrieve.language import DEFAULT_LANGUAGE, marked_language, terms
from coach.retrieve.lexical import LexicalIndex
from coach.retrieve.results import DocumentHit, Retrieval, rank
from coach.vocabulary import LANGUAGES, Language

# Indexes up to this many chunks are searched in memory (about 2 KB per chunk at 512-d).
MEMORY_CHUNKS = 200_000
_NO_ROWS = np.zeros(0, dtype=np.intp)


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
        self._teams: frozenset[str] = frozenset()
        self._chunks: NDArray[np.bool_] = np.zeros(0, dtype=bool)  # the rows of chunks that count
        # The tables' vectors, when in memory. Advice items are scored only for the documents
        # a search found (`_measure`).
        self._dense: DenseIndex | None = None
        self._counted: NDArray[np.bool_] = np.zeros(0, dtype=bool)  # the rows that count
        self._documents = DocumentRows([], self._offsets, self._chunks, self._chunks)
        self._row_of_id: dict[str, int] | None = None  # made for the first Chroma query
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
        self._counted = counts
        self._chunks = counts & ~items
        self._columns = {
            key: joined([table.columns[key] for table in self._tables], object)
            for key in FILTER_COLUMNS
        }
        # once per load, not per request: a coaching request asks whether its team is one
        self._teams = frozenset(str(team) for team in self._columns["team"] if team)
        self._documents = DocumentRows(self._tables, self._offsets, counts, items)
        self._row_of_id = None
        previous, self._dense = self._dense, None
        if in_memory:  # the previous index lends what the tables it shares already have
            self._dense = DenseIndex(
                self._tables, self._offsets, previous, two_pass_from=self.two_pass_from
            )
        self._lexical = LexicalIndex(self._tables, self._chunks)
        self._store = store

    def _hits(self, rows: list[int], distances: list[float] | None = None) -> list[ChunkHit]:
        """The records of these rows (with these distances, else 0.0)."""
        owners = (np.searchsorted(self._offsets, rows, side="right") - 1).tolist()
        return [
            self._tables[owner].hit(row - int(self._offsets[owner]), distance)
            for row, owner, distance in zip(
                rows, owners, distances or [0.0] * len(rows), strict=True
            )
        ]

    def teams(self) -> frozenset[str]:
        """The teams the indexed documents belong to."""
        self.store()
        return self._teams

    def language_of(self, text: str) -> Language:
        """The language of `text`: by its function words, or when they tie (a one-liner), by
        which language's documents of this index hold more of its words, each stemmed in that
        language ("Heat pump customer cold house" is English where English documents speak of
        heat pumps and customers); Dutch when neither does."""
        marked = marked_language(text)
        if marked is not None:
            return marked
        self.store()
        if self._lexical is None:
            return DEFAULT_LANGUAGE
        row_language = self._columns["language"]
        held: dict[Language, float] = {}
        for language in LANGUAGES:
            wanted = set(terms(text, language))
            held[language] = sum(
                bool(np.any(row_language[self._lexical.rows_holding(term)] == language))
                for term in wanted
            ) / max(len(wanted), 1)
        return "en" if held["en"] > held["nl"] else DEFAULT_LANGUAGE

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
        language = language or self.language_of(query)
        store = self.store()
        dense: list[tuple[int, float]] = []  # (row, distance), nearest first
        lexical: list[tuple[int, float]] = []  # (row, BM25), best first
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
        documents, found, numbers = self._group(dense, lexical)
        items, item_counts = _NO_ROWS, np.zeros(len(documents), dtype=np.intp)
        if scores is not None:  # advice items count when their vectors are in memory
            items, item_counts = self._documents.items(numbers)
            self._measure(documents, numbers, (items, item_counts), scores, query_vector)
        item_starts = starts_of(item_counts).tolist()
        place = {document.doc_id: position for position, document in enumerate(documents)}
        rank(self.fusion, documents, mode, language)
        documents = sorted(documents, key=lambda document: (-document.score, document.doc_id))[:k]
        for document in documents:  # hits are made for the documents returned only
            best = list(found[document.doc_id].items())[: self.chunks_per_document]
            document.chunks = self._hits([row for row, _ in best], [d for _, d in best])
            start = item_starts[place[document.doc_id]]
            mine = items[start : start + int(item_counts[place[document.doc_id]])]
            if scores is not None and len(mine):
                order = mine[np.argsort(-scores[mine], kind="stable")]
                hits = self._hits(order.tolist())
                document.items = list(zip(hits, scores[order].tolist(), strict=True))
        nearest = max((1.0 - distance for _, distance in dense), default=0.0)
        top = nearest if mode != "lexical" else None
        return Retrieval(language=language, documents=documents, top_similarity=top, mode=mode)

    def _measure(
        self,
        documents: list[DocumentHit],
        numbers: NDArray[np.intp],
        items: tuple[NDArray[np.intp], NDArray[np.intp]],
        scores: NDArray[np.float32],
        query: NDArray[np.float32],
    ) -> None:
        """Complete each candidate's dense evidence: the cosine of its best chunk (also for
        one found by BM25 alone) and of its best advice item (`items`: their rows, one
        candidate after the other, and how many each has). Its items' cosines (most of an
        index's records, needed only for the documents a search found) are computed here, and
        its chunks' when the first pass left some unscored."""
        assert self._dense is not None
        chunks, chunk_counts = self._documents.chunks(numbers)
        rows, item_counts = items
        unscored = np.concatenate([chunks, rows]) if self._dense.two_pass else rows
        self._dense.measure(scores, unscored, query)
        best_chunks = best_per_document(scores[chunks], chunk_counts)
        best_items = best_per_document(scores[rows], item_counts)
        for document, chunk, item in zip(documents, best_chunks, best_items, strict=True):
            if chunk is not None:
                document.similarity = max(document.similarity or -1.0, chunk)
            if item is not None:
                document.best_item = item

    def document_chunks(self, doc_ids: Iterable[str]) -> dict[str, list[ChunkHit]]:
        """All chunks of these documents, in document order."""
        ids = sorted(set(doc_ids))
        if not ids:
            return {}
        self.store()
        found = {doc_id: self._hits(self._documents.rows(doc_id)[0].tolist()) for doc_id in ids}
        for hits in found.values():
            hits.sort(key=lambda hit: int(hit.metadata.get("chunk_index", 0)))
        return found

    def _nearest_in_chroma(
        self, store: SearchableStore, vector: NDArray[np.float32], filters: Filters, n: int
    ) -> list[tuple[int, float]]:
        """Nearest chunks from Chroma's HNSW, as (row, distance). With filters, over-fetch and
        filter here first: a `where` clause is about ten times slower; it is the fallback when
        too few hits pass. Advice items share the collection and are skipped here."""
        query = vector.tolist()
        where = filters.where()
        hits = [
            hit
            for hit in store.query(query, k=4 * n)
            if filters.allows(hit.metadata) and not _is_item(hit)
        ]
        if len(hits) < n and where is not None:
            hits = [hit for hit in store.query(query, k=4 * n, where=where) if not _is_item(hit)]
        if self._row_of_id is None:
            self._row_of_id = {
                table.ids[local]: int(offset) + local
                for table, offset in zip(self._tables, self._offsets, strict=False)
                for local in np.flatnonzero(self._counted[offset : offset + len(table)]).tolist()
            }
        rows = self._row_of_id
        return [(rows[hit.id], hit.distance) for hit in hits if hit.id in rows][:n]

    def _allowed(self, filters: Filters) -> NDArray[np.bool_]:
        """The rows of the chunks that count and pass `filters`."""
        mask = self._mask(filters)
        return self._chunks if mask is None else self._chunks & mask

    def _nearest_in_memory(
        self, scores: NDArray[np.float32], scored: NDArray[np.intp], n: int
    ) -> list[tuple[int, float]]:
        """The `n` nearest of the `scored` rows (ascending) as (row, distance), nearest first."""
        if not len(scored):
            return []
        cosines = scores[scored]
        top = min(n, len(scored))
        candidates = np.argpartition(-cosines, top - 1)[:top]
        ordered = candidates[np.argsort(-cosines[candidates], kind="stable")]
        return list(zip(scored[ordered].tolist(), (1.0 - cosines[ordered]).tolist(), strict=True))

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
    ) -> list[tuple[int, float]]:
        assert self._lexical is not None
        hits = self._lexical.search(query, language, n, self._mask(filters))
        return [(hit.position, hit.score) for hit in hits]

    def _group(
        self, dense: list[tuple[int, float]], lexical: list[tuple[int, float]]
    ) -> tuple[list[DocumentHit], dict[str, dict[int, float]], NDArray[np.intp]]:
        """The candidate documents of both rankings, with their best cosine and BM25, and
        their numbers (`DocumentRows`); and each one's chunks found, as rows with their
        distance (0 when found by BM25 alone), in arrival order: dense first, nearest first,
        so a document's first chunk is its best."""
        documents: dict[str, DocumentHit] = {}
        found: dict[str, dict[int, float]] = {}
        numbers: list[int] = []
        for ranking, is_dense in ((dense, True), (lexical, False)):
            rows = [row for row, _ in ranking]
            owners = (np.searchsorted(self._offsets, rows, side="right") - 1).tolist()
            for (row, value), owner, number in zip(
                ranking, owners, self._documents.of_row[rows].tolist(), strict=True
            ):
                table, local = self._tables[owner], row - int(self._offsets[owner])
                doc_id = table.doc_ids[local]
                document = documents.get(doc_id)
                if document is None:
                    document = documents[doc_id] = DocumentHit(doc_id, table.metadatas[local])
                    found[doc_id] = {}
                    numbers.append(number)
                if is_dense and document.similarity is None:
                    document.similarity = 1.0 - value
                elif not is_dense and document.lexical_score is None:
                    document.lexical_score = value
                found[doc_id].setdefault(row, value if is_dense else 0.0)
        return list(documents.values()), found, np.asarray(numbers, dtype=np.intp)


def _is_item(hit: ChunkHit) -> bool:
    return is_item(hit.metadata)
