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

A server merges behind its writers (`merge_behind`): the merge reads the published segments
and writes its own without the writers' lock, and takes the lock only to publish the list with
its segment in place of the ones it merged, after which the segments published meanwhile stay
(`splice`). A save so waits for a merge's publication at most, not for the merge; a full merge
at 10,000 documents takes minutes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from coach.index.chroma import close_client, open_client
from coach.index.generations import Generations
from coach.index.layers import TOMBSTONE, LayeredStore
from coach.index.records import ChunkRecord, ManifestEntry, StoreLocation
from coach.index.segment_files import FACTS_FILE, read_facts, save_segment
from coach.index.segment_process import SegmentProcess
from coach.index.store import ChunkStore, drop_collections
from coach.index.units import end_with

MAX_SEGMENTS = 16  # each is one more Chroma query on the HNSW path (beyond the in-memory limit)
BASE_SHARE = 0.25
# The newest segments merge while the one before them holds at most this many times their
# records (0: only past MAX_SEGMENTS or BASE_SHARE).
MERGE_RATIO = 1.0
MERGE_BATCH = 2000  # chunks a merge writes at a time

log = logging.getLogger("coach.index")


@contextmanager
def open_writer(
    location: StoreLocation,
    embedder: str,
    dimension: int,
    rebuild: bool = False,
    behind: bool = False,
    in_process: bool = False,
) -> Iterator[ChunkStore | LayeredStore]:
    """The index opened for writing, created for this embedder when there is none.

    Embedded: the writer adds a new segment, published (with the list of segments) only when
    the block ends without error and something changed; then it merges segments if due, or
    with `behind` has them merged in a process of its own (`merge_behind`; a merge of
    everything an older index needs is still done here). With `in_process`, a process of its
    own writes the new segment (`coach.index.segment_process`: a large run).
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
        published = False
        try:
            delta = _new_segment(location, staged, embedder, dimension, in_process)
            store = LayeredStore.open(
                location, previous, embedder, dimension, delta=(staged, delta)
            )
            try:
                yield store
                sizes = [store.facts(number)[1] for number in range(len(previous) + 1)]
                changed = delta.modified or not previous
                if changed:
                    if isinstance(delta, SegmentProcess):
                        delta.save(embedder, dimension)  # its table from the records written
                    else:
                        save_segment(staged, delta, embedder, dimension)
                    untabled = any(not (f / FACTS_FILE).exists() for f in previous)
                    store.needs_full_merge |= untabled  # an index from before the tables
            except BaseException:
                with suppress(Exception):  # the run's own error is the one to report
                    store.close()
                raise
            # Only a segment that closed cleanly is published: this raises when the new
            # segment's database did not (`SegmentProcess.close`), and the finally discards it.
            store.close()
            if changed:
                generations.publish([*previous, staged])
                published = True
                start = _merge_from(sizes, store.needs_full_merge)
                if start is not None and behind and not store.needs_full_merge:
                    merge_behind(location, embedder, dimension)
                elif start is not None:
                    _merge(generations, location, embedder, dimension, start)
                generations.prune(keep_previous=published_before)
        finally:
            if not published:
                generations.discard(staged)


def _new_segment(
    location: StoreLocation, folder: Path, embedder: str, dimension: int, in_process: bool
) -> ChunkStore | SegmentProcess:
    """The database of a writer's new segment, written here or by a process of its own."""
    if in_process:
        return SegmentProcess(location, folder, embedder, dimension)
    client = open_client(location, folder)
    try:
        return ChunkStore.create(location, client, embedder, dimension)
    except BaseException:
        close_client(client)
        raise


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
    the list with it in their place (the writers' lock held)."""
    folders = generations.segments()
    staged = _write_merged(generations, location, folders[start:], embedder, dimension, start == 0)
    try:
        generations.publish([*folders[:start], staged])
    except BaseException:
        generations.discard(staged)
        raise


def _write_merged(
    generations: Generations,
    location: StoreLocation,
    merged: list[Path],
    embedder: str,
    dimension: int,
    full: bool,
    *,
    behind: bool = False,
) -> Path:
    """A new segment holding what the published segments `merged` hold, as one (tombstones
    dropped when `full`: nothing older is left for them to hide); `behind`, marked as a merge
    in progress until `Generations.settle`."""
    staged = generations.stage(merging=behind)
    client = open_client(location, staged)
    try:
        target = ChunkStore.create(location, client, embedder, dimension)
        with _closing_layers(location, merged, embedder, dimension) as source:
            entries: list[ManifestEntry] = []
            waiting: list[ChunkRecord] = []
            for entry, records in source.records():
                if entry.content_hash == TOMBSTONE and full:
                    continue
                waiting += records
                entries.append(entry)
                if len(waiting) >= MERGE_BATCH:
                    target.write_chunks(waiting)
                    waiting = []
            target.write_chunks(waiting)
            target.commit(entries)
            save_segment(staged, target, embedder, dimension, source.tables())
        close_client(client)
        return staged
    except BaseException:
        close_client(client)
        generations.discard(staged)
        raise


# -- merging behind the writers -----------------------------------------------------------------


@dataclass(frozen=True)
class PreparedMerge:
    """A merged segment written from the published list `folders` (their segments from
    `start` on), not yet published."""

    folders: list[Path]
    start: int
    staged: Path


def merge_behind(location: StoreLocation, embedder: str, dimension: int) -> None:
    """Merge what is due in a process of its own, so the writing run that made it due (a
    curator's save) returns at once and the next one waits only for the merge's publication.
    A process, not a thread: a merge is seconds to minutes of Python and Chroma work, and in a
    thread it held the interpreter lock from the server's saves (a save took 185 s beside a
    full merge at 10,000 documents). One merge runs at a time per index; it ends with the
    process that started it, and a merge that ends unfinished leaves its segment to the next
    writer's prune. A merge started while another runs waits for it, then merges what is
    still due; while one waits, no other starts (it will merge what this save made due too).
    A daemon process, which may not start one, merges in a thread."""
    with _running_lock:
        _running[:] = [(merge, began) for merge, began in _running if merge.is_alive()]
        if any(not began.is_set() for _, began in _running):
            return
        merge: threading.Thread | BaseProcess
        began: Any
        if multiprocessing.current_process().daemon:
            began = threading.Event()
            merge = threading.Thread(
                target=_merge_while_due, args=(location, embedder, dimension, began), daemon=True
            )
        else:
            context = multiprocessing.get_context("spawn")  # no fork of Chroma's threads
            began = context.Event()
            merge = context.Process(
                target=_merge_process,
                args=(location, embedder, dimension, began, os.getpid()),
                name="coach-merge",
                daemon=True,
            )
        merge.start()
        _running.append((merge, began))


def wait_for_merges(timeout: float | None = None) -> None:
    """Wait for the merges this process started behind its writers (tests, an orderly exit)."""
    with _running_lock:
        merges = [merge for merge, _ in _running]
    for merge in merges:
        merge.join(timeout)


# The merges this process started, each with the event it sets once it holds the merge lock.
_running: list[tuple[threading.Thread | BaseProcess, Any]] = []
_running_lock = threading.Lock()


def _merge_process(
    location: StoreLocation, embedder: str, dimension: int, began: Any, parent: int
) -> None:
    threading.Thread(target=end_with, args=(parent,), daemon=True).start()
    _merge_while_due(location, embedder, dimension, began)


def _merge_while_due(location: StoreLocation, embedder: str, dimension: int, began: Any) -> None:
    assert location.path is not None
    generations = Generations(location.path)
    try:
        # After the merge running now, if any: the segments it did not see may be due too.
        with generations.merging(wait=True) as mine:
            began.set()
            while mine:
                prepared = prepare_merge(generations, location, embedder, dimension)
                if prepared is None or not splice(generations, prepared):
                    return
    except Exception:  # the segments stay as they were, readable; the next save tries again
        log.exception("merging the index segments behind the writers failed")


def prepare_merge(
    generations: Generations,
    location: StoreLocation,
    embedder: str,
    dimension: int,
    start: int | None = None,
) -> PreparedMerge | None:
    """Write the merge that is due (or the segments from `start` on) without the writers'
    lock: published segments are never written, so they can be read while writers add more.
    None when nothing is due, or a segment has no facts (a writer merges those itself)."""
    folders = generations.segments()
    facts = [read_facts(folder) for folder in folders]
    if not folders or any(fact is None for fact in facts):
        return None
    if start is None:
        start = _merge_from([fact.count for fact in facts if fact is not None], full=False)
        if start is None:
            return None
    staged = _write_merged(
        generations, location, folders[start:], embedder, dimension, start == 0, behind=True
    )
    return PreparedMerge(folders, start, staged)


def splice(generations: Generations, prepared: PreparedMerge) -> bool:
    """Publish a prepared merge in place of the segments it merged, keeping the segments
    published since after it (they are newer, so they still decide their documents). False
    (and the merge discarded) when the index changed otherwise meanwhile (a rebuild)."""
    with generations.writing():
        now = generations.segments()
        if now[: len(prepared.folders)] != prepared.folders:
            generations.discard(prepared.staged)
            return False
        generations.settle(prepared.staged)
        newer = now[len(prepared.folders) :]
        generations.publish([*prepared.folders[: prepared.start], prepared.staged, *newer])
        generations.prune(keep_previous=now)
    return True


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
