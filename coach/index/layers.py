"""The embedded index as one index over its segments (`coach.index.generations`); the writer
that adds them is `coach.index.writing`.

Each segment is a whole Chroma database with chunks and a manifest. For each document the
newest segment whose manifest names it decides: its entry is the committed version, and only
that segment's chunks of that version are seen. A removed document gets a tombstone there (an
entry with no content hash). So a writing run writes only the documents it changes, into a new
segment, and a curator's save costs what it changes, whatever the index holds.

Each segment also holds its records' table (`coach.index.tables`: vectors and BM25's term
counts) and its facts (`coach.index.segment_files`), saved by the writer. A reader keeps each
published segment's table by its folder, so reopening after a save loads only the new segment,
and opens a segment's database only when it must (a query on the HNSW path). A segment without
those files (written before they existed) is read from Chroma instead, and the next writing run
merges everything into a new base that has them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.errors import IndexNotFoundError
from coach.index.generations import Generations
from coach.index.records import ChunkHit, ChunkRecord, ManifestEntry, StoreLocation
from coach.index.segment_files import SegmentFacts, read_facts
from coach.index.segment_process import SegmentProcess
from coach.index.store import ChunkStore, identity_mismatch
from coach.index.tables import RecordTable

TOMBSTONE = ""  # the content hash of a manifest entry that says: this document is gone
_CACHED_SEGMENTS = 32  # published segments whose tables a reader process keeps
_tables: OrderedDict[Path, RecordTable] = OrderedDict()
# A published segment's facts (embedder, manifest, count), which never change either.
_facts: OrderedDict[Path, SegmentFacts] = OrderedDict()

Winners = dict[str, tuple[int, ManifestEntry]]


def open_index(location: StoreLocation, embedder: str, dimension: int) -> ChunkStore | LayeredStore:
    """The published index for reading: the Chroma server's, or the embedded segments."""
    if location.host:
        return ChunkStore.open(location, embedder, dimension)
    assert location.path is not None
    folders = Generations(location.path).segments()
    if not folders:
        raise IndexNotFoundError(
            f"no index in the {location.describe()}; build it with `coach index`"
        )
    for cache in (_tables, _facts):  # segments merged away: what was kept of them goes
        for cached in list(cache):
            if cached.parent == location.path and cached not in folders:
                del cache[cached]
    return LayeredStore.open(location, folders, embedder, dimension)


class LayeredStore:
    """Segments read as one index (oldest first); a writer's last segment is the one it
    writes. Satisfies what the retriever reads and what the indexer writes.

    A published segment's Chroma database is opened only when something needs it (a query on
    the HNSW path, a segment without saved files): its manifest, count and table come from
    the files saved beside it (`FACTS_FILE`, `coach.index.tables`)."""

    def __init__(
        self,
        location: StoreLocation,
        folders: list[Path],
        embedder: str,
        dimension: int,
        *,
        delta: tuple[Path, ChunkStore | SegmentProcess] | None = None,
    ) -> None:
        self.location = location
        self._folders = [*folders, *([delta[0]] if delta else [])]
        self._opened: list[ChunkStore | SegmentProcess | None] = [None] * len(folders)
        self._opened += [delta[1]] if delta else []
        self._identity = (embedder, dimension)
        self._writable = delta is not None
        self._opening = threading.Lock()
        self._winners: Winners | None = None
        self.needs_full_merge = False

    @classmethod
    def open(
        cls,
        location: StoreLocation,
        folders: list[Path],
        embedder: str,
        dimension: int,
        *,
        delta: tuple[Path, ChunkStore | SegmentProcess] | None = None,
    ) -> LayeredStore:
        """The segments in `folders` (and a writer's `delta` after them), each checked to be
        built by this embedder: from its facts file, or by opening its database."""
        store = cls(location, folders, embedder, dimension, delta=delta)
        try:
            for number in range(len(folders)):
                facts = store._published_facts(number)
                if (facts.embedder, facts.dimension) != (embedder, dimension):
                    raise identity_mismatch(
                        location, facts.embedder, facts.dimension, embedder, dimension
                    )
        except Exception:
            store.close()
            raise
        return store

    def _segment(self, number: int) -> ChunkStore | SegmentProcess:
        """Segment `number`'s Chroma database, opened on first use."""
        with self._opening:
            opened = self._opened[number]
            if opened is None:
                embedder, dimension = self._identity
                opened = ChunkStore.open(self.location, embedder, dimension, self._folders[number])
                self._opened[number] = opened
            return opened

    def close(self) -> None:
        """Close every opened segment, then raise the first failure (a writer's new segment
        that did not close cleanly must still be closed, and its failure seen)."""
        failure: Exception | None = None
        for number, store in enumerate(self._opened):
            if store is not None:
                self._opened[number] = None
                try:
                    store.close()
                except Exception as exc:
                    failure = failure or exc
        if failure is not None:
            raise failure

    @property
    def segments(self) -> list[ChunkStore | SegmentProcess]:
        return [self._segment(number) for number in range(len(self._folders))]

    @property
    def modified(self) -> bool:
        return self._writable and self._delta.modified

    def is_stale(self) -> bool:
        assert self.location.path is not None
        return Generations(self.location.path).segments() != self._folders

    # -- which segment holds each document --------------------------------------------------

    def facts(self, number: int) -> tuple[dict[str, ManifestEntry], int]:
        """A segment's manifest (tombstones included) and chunk count: read once per process
        for a published segment (from its facts file when it has one), every time for the one
        being written."""
        if self._writable and number == len(self._folders) - 1:
            return self._delta.manifest(), self._delta.chunk_count()
        facts = self._published_facts(number)
        return facts.manifest, facts.count

    def _published_facts(self, number: int) -> SegmentFacts:
        """A published segment's facts, read once per process: from its facts file, or from
        its database when it has none (opening that checks the embedder)."""
        folder = self._folders[number]
        found = _facts.get(folder)
        if found is None:
            found = read_facts(folder)
            if found is None:
                store = self._segment(number)
                found = SegmentFacts(*self._identity, store.manifest(), store.chunk_count())
            _facts[folder] = found
            while len(_facts) > _CACHED_SEGMENTS:
                _facts.popitem(last=False)
        _facts.move_to_end(folder)
        return found

    def winners(self) -> Winners:
        """Each document's deciding segment (by index) and entry, tombstones included."""
        if self._winners is None:
            found: Winners = {}
            for number in range(len(self._folders)):
                for doc_id, entry in self.facts(number)[0].items():
                    found[doc_id] = (number, entry)
            self._winners = found
        return self._winners

    def manifest(self) -> dict[str, ManifestEntry]:
        return {d: e for d, (_, e) in self.winners().items() if e.content_hash != TOMBSTONE}

    def committed_hashes(self, doc_ids: Sequence[str]) -> dict[str, str]:
        manifest = self.manifest()
        return {d: manifest[d].content_hash for d in doc_ids if d in manifest}

    def chunk_count(self) -> int:
        """The chunks stored that count: every segment's, less those of versions a newer
        segment replaced (so a leftover chunk anywhere shows, as on one database)."""
        winners = self.winners()
        count = 0
        for number in range(len(self._folders)):
            manifest, stored = self.facts(number)
            count += stored
            for doc_id, entry in manifest.items():
                if winners[doc_id][0] != number:
                    count -= entry.n_chunks
        return count

    def _seen(self, number: int, hits: list[ChunkHit]) -> list[ChunkHit]:
        winners = self.winners()
        return [hit for hit in hits if winners.get(hit.doc_id, (-1,))[0] == number]

    # -- reading ------------------------------------------------------------------------------

    def get_chunks(self, where: dict[str, Any] | None = None) -> list[ChunkHit]:
        return [
            hit
            for number, store in enumerate(self.segments)
            for hit in self._seen(number, store.get_chunks(where))
        ]

    def tables(self, vectors: bool = True) -> list[tuple[RecordTable, NDArray[np.bool_]]]:
        """Each segment's table, with the records of the documents that segment decides."""
        winners = self.winners()
        found = []
        for number in range(len(self._folders)):
            table = self._table(number, vectors)
            decided = {doc_id for doc_id, (owner, _) in winners.items() if owner == number}
            found.append((table, table.rows_of(decided)))
        return found

    def snapshot(self) -> tuple[list[ChunkHit], NDArray[np.float32]]:
        """Every committed record that counts, with its (unit) vector, rows in the same order."""
        hits: list[ChunkHit] = []
        blocks: list[NDArray[np.float32]] = []
        for table, decided in self.tables():
            rows = np.flatnonzero(decided)
            hits += [table.hit(int(row)) for row in rows]
            blocks.append(np.asarray(table.vectors[rows]))
        return hits, np.concatenate(blocks) if blocks else np.zeros((0, 0), dtype=np.float32)

    def _table(self, number: int, vectors: bool) -> RecordTable:
        """A published segment's table, read once per process: loaded from its files, or
        built from its Chroma records when it has none."""
        folder = self._folders[number]
        if self._writable and number == len(self._folders) - 1:
            return RecordTable.build(*self._delta.snapshot())  # being written: not published
        cached = _tables.get(folder)
        if cached is None or (vectors and cached.vectors.shape[1] == 0):
            cached = RecordTable.load(folder, vectors)
            if cached is None:
                store = self._segment(number)
                cached = RecordTable.build(
                    *(store.snapshot() if vectors else (store.get_chunks(), None))
                )
            _tables[folder] = cached
            while len(_tables) > _CACHED_SEGMENTS:
                _tables.popitem(last=False)
        _tables.move_to_end(folder)
        return cached

    def query(
        self, embedding: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[ChunkHit]:
        """The `k` nearest chunks over the segments: each segment's nearest that it decides,
        merged by distance (a segment is asked for more than `k`, since some of its nearest
        may be versions a newer segment replaced)."""
        found = [
            hit
            for number, store in enumerate(self.segments)
            for hit in self._seen(number, store.query(embedding, 2 * k, where))
        ]
        return sorted(found, key=lambda hit: hit.distance)[:k]

    # -- writing (into the last segment) ------------------------------------------------------

    @property
    def _delta(self) -> ChunkStore | SegmentProcess:
        assert self._writable, "a reader writes nothing"
        delta = self._opened[-1]
        assert delta is not None
        return delta

    def write_chunks(self, records: Sequence[ChunkRecord]) -> None:
        self._delta.write_chunks(records)

    def commit(self, entries: Sequence[ManifestEntry]) -> None:
        self._delta.commit(entries)
        self._winners = None

    def drop_stale_chunks(self, doc_id: str, keep_hash: str | None) -> None:
        """Older segments' chunks of the document are replaced by this segment's entry; only
        this segment's own older chunks go."""
        self._delta.drop_stale_chunks(doc_id, keep_hash)

    def remove_documents(self, doc_ids: Sequence[str]) -> None:
        if not doc_ids:
            return
        self.commit([ManifestEntry(d, TOMBSTONE, 0, "") for d in doc_ids])
        for doc_id in doc_ids:
            self._delta.drop_stale_chunks(doc_id, keep_hash=None)

    def sweep(self, manifest: dict[str, ManifestEntry]) -> int:
        """Delete this segment's chunks that no committed version owns; a published segment
        holding such chunks is merged away after this run (it is never written)."""
        swept = self._delta.sweep(manifest)
        for number in range(len(self._folders) - 1):
            own, stored = self.facts(number)
            if stored != sum(entry.n_chunks for entry in own.values()):
                self.needs_full_merge = True
        return swept

    def records(self) -> Iterator[tuple[ManifestEntry, list[ChunkRecord]]]:
        """Every document's deciding entry with its chunks (tombstones with none), segment by
        segment: what a merge writes, read from the segments' tables."""
        winners = self.winners()
        for number, (table, decided) in enumerate(self.tables()):
            by_doc: dict[str, list[ChunkRecord]] = {}
            for row in np.flatnonzero(decided):
                hit = table.hit(int(row))
                record = ChunkRecord(hit.id, hit.text, table.vectors[row].tolist(), hit.metadata)
                by_doc.setdefault(hit.doc_id, []).append(record)
            for doc_id, (owner, entry) in winners.items():
                if owner == number:
                    yield entry, by_doc.get(doc_id, [])
