"""The embedded index's writer: each writing run adds a segment (`coach.index.layers`) holding
only what it changed, and publishes it with the list of segments; then it merges segments when
they pile up.

The newest segments merge into one while the segment before them holds no more records than
they do together (a binary counter: each save's records are rewritten about log2(n) times, and
every segment after the first, the base, outweighs all newer ones, so a few large ones and a
tail of small ones remain). The newer segments all merge past `MAX_SEGMENTS`. When they hold
more than `BASE_SHARE` of the base's records, or a segment holds chunks no manifest entry owns
(never, unless written by hand), or a segment has no saved files (written before they existed),
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

MAX_SEGMENTS = 16  # each is one more Chroma query on the HNSW path (beyond the in-memory limit)
BASE_SHARE = 0.25
# The newest segments merge while the one before them holds at most this many times their
# records (0: only past MAX_SEGMENTS or BASE_SHARE).
MERGE_RATIO = 1.0
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
                start = _merge_from(sizes, store.needs_full_merge)
                if start is not None:
                    _merge(generations, location, embedder, dimension, start)
                generations.prune(keep_previous=published_before)
        finally:
            close_client(client)
            if not published:
                generations.discard(staged)


def _merge_from(sizes: list[int], full: bool) -> int | None:
    """Which published segments to merge now, given `sizes` (records in each, oldest first):
    None, none; 0, all into one new base; else the segments from that one on, into one."""
    if len(sizes) < 2:
        return None
    if full or sum(sizes[1:]) > BASE_SHARE * max(sizes[0], 1):
        return 0
    if len(sizes) > MAX_SEGMENTS:
        return 1
    start = len(sizes) - 1
    while MERGE_RATIO and start > 1 and sizes[start - 1] <= MERGE_RATIO * sum(sizes[start:]):
        start -= 1
    return start if start < len(sizes) - 1 else None


def _merge(
    generations: Generations, location: StoreLocation, embedder: str, dimension: int, start: int
) -> None:
    """Write the published segments from `start` on (0: all) as one new segment, and publish
    the list with it in their place."""
    folders = generations.segments()
    merged, full = folders[start:], start == 0
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
        generations.publish([*folders[:start], staged])
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
