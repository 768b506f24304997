"""The embedded index as one index over its segments (`coach.index.generations`), and the
writer that adds a segment per writing run.

Each segment is a whole Chroma database with chunks and a manifest. For each document the
newest segment whose manifest names it decides: its entry is the committed version, and only
that segment's chunks of that version are seen. A removed document gets a tombstone there (an
entry with no content hash). So a writing run writes only the documents it changes, into a new
segment, and a curator's save costs what it changes, whatever the index holds.

Segments pile up, so a writer merges them: past `MAX_SEGMENTS`, the segments after the first
(the base) become one; when those hold more than `BASE_SHARE` of the base's chunks, or a
segment holds chunks no manifest entry owns (never, unless written by hand), everything
becomes one new base. A merge writes a new segment too: published segments are never written.
Each segment also holds its records' table (`coach.index.tables`): vectors and BM25's term
counts, saved by the writer. A reader keeps each published segment's table by its folder, so
reopening after a save loads only the new segment. A segment without one (written before the
tables were) is read from Chroma instead, and the next writing run merges everything into a new
base that has one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.errors import IndexNotFoundError
from coach.index.chroma import close_client, open_client
from coach.index.generations import Generations
from coach.index.records import ChunkHit, ChunkRecord, ManifestEntry, StoreLocation
from coach.index.store import ChunkStore, drop_collections
from coach.index.tables import RecordTable

TOMBSTONE = ""  # the content hash of a manifest entry that says: this document is gone
MAX_SEGMENTS = 4  # each is one more Chroma query on the HNSW path (beyond the in-memory limit)
BASE_SHARE = 0.25
MERGE_BATCH = 2000  # chunks a merge writes at a time
_CACHED_SEGMENTS = 32  # published segments whose tables a reader process keeps
_tables: OrderedDict[Path, RecordTable] = OrderedDict()
# A published segment's manifest and chunk count, which never change either.
_facts: OrderedDict[Path, tuple[dict[str, ManifestEntry], int]] = OrderedDict()

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


@contextmanager
def open_writer(
    location: StoreLocation, embedder: str, dimension: int, rebuild: bool = False
) -> Iterator[ChunkStore | LayeredStore]:
    """The index opened for writing, created for this embedder when there is none.

    Embedded: the writer adds a new segment, published (with the list of segments) only when
    the block ends without error and something changed; then it merges segments if due.
    Server: writes go straight to the server, and the manifest keeps half-written documents
    invisible.
    """
    if location.host:
        client = open_client(location)
        try:
            if rebuild:
                drop_collections(location, client)
            yield ChunkStore.create(location, client, embedder, dimension)
        finally:
            close_client(client)
        return
    assert location.path is not None
    generations = Generations(location.path)
    with generations.writing():
        published_before = generations.segments()
        previous = [] if rebuild else published_before
        staged = generations.stage()
        client = open_client(location, staged)
        published = False
        try:
            delta = ChunkStore.create(location, client, embedder, dimension)
            older = [ChunkStore.open(location, embedder, dimension, f) for f in previous]
            store = LayeredStore(location, [*older, delta], [*previous, staged], writable=True)
            try:
                yield store
                sizes = [store.facts(number)[1] for number in range(len(store.segments))]
                if delta.modified or not previous:
                    RecordTable.build(*delta.snapshot()).save(staged)
                    untabled = any(RecordTable.load(f, vectors=False) is None for f in previous)
                    store.needs_full_merge |= untabled  # an index from before the tables
            finally:
                store.close()
            if delta.modified or not previous:
                generations.publish([*previous, staged])
                published = True
                due = _merge_due(sizes, store.needs_full_merge)
                if due is not None:
                    _merge(generations, location, embedder, dimension, full=due)
                generations.prune(keep_previous=published_before)
        finally:
            close_client(client)
            if not published:
                generations.discard(staged)


class LayeredStore:
    """Segments read as one index (oldest first); a writer's last segment is the one it
    writes. Satisfies what the retriever reads and what the indexer writes."""

    def __init__(
        self,
        location: StoreLocation,
        segments: list[ChunkStore],
        folders: list[Path],
        *,
        writable: bool = False,
    ) -> None:
        self.location = location
        self._segments = segments
        self._folders = folders
        self._writable = writable
        self._winners: Winners | None = None
        self.needs_full_merge = False

    @classmethod
    def open(
        cls, location: StoreLocation, folders: list[Path], embedder: str, dimension: int
    ) -> LayeredStore:
        opened: list[ChunkStore] = []
        try:
            for folder in folders:
                opened.append(ChunkStore.open(location, embedder, dimension, folder))
        except Exception:
            for store in opened:
                store.close()
            raise
        return cls(location, opened, list(folders))

    def close(self) -> None:
        for store in self._segments:
            store.close()

    @property
    def segments(self) -> list[ChunkStore]:
        return list(self._segments)

    @property
    def modified(self) -> bool:
        return self._writable and self._segments[-1].modified

    def is_stale(self) -> bool:
        assert self.location.path is not None
        return Generations(self.location.path).segments() != self._folders

    # -- which segment holds each document --------------------------------------------------

    def facts(self, number: int) -> tuple[dict[str, ManifestEntry], int]:
        """A segment's manifest (tombstones included) and chunk count: read once per process
        for a published segment, every time for the one being written."""
        store, folder = self._segments[number], self._folders[number]
        if self._writable and number == len(self._segments) - 1:
            return store.manifest(), store.chunk_count()
        if folder not in _facts:
            _facts[folder] = (store.manifest(), store.chunk_count())
            while len(_facts) > _CACHED_SEGMENTS:
                _facts.popitem(last=False)
        _facts.move_to_end(folder)
        return _facts[folder]

    def winners(self) -> Winners:
        """Each document's deciding segment (by index) and entry, tombstones included."""
        if self._winners is None:
            found: Winners = {}
            for number in range(len(self._segments)):
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
        for number in range(len(self._segments)):
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
            for number, store in enumerate(self._segments)
            for hit in self._seen(number, store.get_chunks(where))
        ]

    def tables(self, vectors: bool = True) -> list[tuple[RecordTable, NDArray[np.bool_]]]:
        """Each segment's table, with the records of the documents that segment decides."""
        winners = self.winners()
        found = []
        for number, store in enumerate(self._segments):
            table = self._table(number, store, vectors)
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

    def _table(self, number: int, store: ChunkStore, vectors: bool) -> RecordTable:
        """A published segment's table, read once per process: loaded from its files, or
        built from its Chroma records when it has none."""
        folder = self._folders[number]
        if self._writable and number == len(self._segments) - 1:
            return RecordTable.build(*store.snapshot())  # being written: not published
        cached = _tables.get(folder)
        if cached is None or (vectors and cached.vectors.shape[1] == 0):
            cached = RecordTable.load(folder, vectors)
            if cached is None:
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
            for number, store in enumerate(self._segments)
            for hit in self._seen(number, store.query(embedding, 2 * k, where))
        ]
        return sorted(found, key=lambda hit: hit.distance)[:k]

    # -- writing (into the last segment) ------------------------------------------------------

    @property
    def _delta(self) -> ChunkStore:
        assert self._writable, "a reader writes nothing"
        return self._segments[-1]

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
        for number in range(len(self._segments) - 1):
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


def _merge_due(sizes: list[int], full: bool) -> bool | None:
    """Whether to merge the published segments `sizes` (chunks in each, oldest first) now:
    None not yet, False the newer ones into one, True all into one new base. All when the newer
    ones hold more than `BASE_SHARE` of the base's chunks; the newer ones past `MAX_SEGMENTS`."""
    if len(sizes) < 2:
        return None
    if full or sum(sizes[1:]) > BASE_SHARE * max(sizes[0], 1):
        return True
    return False if len(sizes) > MAX_SEGMENTS else None


def _merge(
    generations: Generations,
    location: StoreLocation,
    embedder: str,
    dimension: int,
    *,
    full: bool,
) -> None:
    """Write the published segments (all, or all but the base) as one new segment, and
    publish the list with it in their place."""
    folders = generations.segments()
    merged = folders if full else folders[1:]
    staged = generations.stage()
    client = open_client(location, staged)
    try:
        target = ChunkStore.create(location, client, embedder, dimension)
        with _closing_layers(location, merged, embedder, dimension) as source:
            entries: list[ManifestEntry] = []
            waiting: list[ChunkRecord] = []
            for entry, records in source.records():
                if entry.content_hash == TOMBSTONE and full:
                    continue  # nothing older is left for it to hide
                waiting += records
                entries.append(entry)
                if len(waiting) >= MERGE_BATCH:
                    target.write_chunks(waiting)
                    waiting = []
            target.write_chunks(waiting)
            target.commit(entries)
            RecordTable.join(source.tables()).save(staged)
        close_client(client)
        generations.publish([staged] if full else [folders[0], staged])
    except BaseException:
        close_client(client)
        generations.discard(staged)
        raise


@contextmanager
def _closing_layers(
    location: StoreLocation, folders: list[Path], embedder: str, dimension: int
) -> Iterator[LayeredStore]:
    store = LayeredStore.open(location, folders, embedder, dimension)
    try:
        yield store
    finally:
        with suppress(Exception):
            store.close()
