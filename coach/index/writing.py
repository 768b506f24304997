"""The embedded index's writer: each writing run adds a segment (`coach.index.layers`) holding
only what it changed, and publishes it with the list of segments; then it merges segments when
they pile up.

Past `MAX_SEGMENTS`, the segments after the first (the base) become one; when those hold more
than `BASE_SHARE` of the base's chunks, or a segment holds chunks no manifest entry owns (never,
unless written by hand), or a segment has no saved files (written before they existed),
everything becomes one new base. A merge writes a new segment too: published segments are
never written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from coach.index.chroma import close_client, open_client
from coach.index.generations import Generations
from coach.index.layers import TOMBSTONE, LayeredStore
from coach.index.records import ChunkRecord, ManifestEntry, StoreLocation
from coach.index.segment_files import FACTS_FILE, save_segment
from coach.index.store import ChunkStore, drop_collections

MAX_SEGMENTS = 4  # each is one more Chroma query on the HNSW path (beyond the in-memory limit)
BASE_SHARE = 0.25
MERGE_BATCH = 2000  # chunks a merge writes at a time


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
            store = LayeredStore.open(
                location, previous, embedder, dimension, delta=(staged, delta)
            )
            try:
                yield store
                sizes = [store.facts(number)[1] for number in range(len(previous) + 1)]
                if delta.modified or not previous:
                    save_segment(staged, delta, embedder, dimension)
                    untabled = any(not (f / FACTS_FILE).exists() for f in previous)
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
            save_segment(staged, target, embedder, dimension, source.tables())
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
