"""Segments of the embedded index: a writer adds a small new segment and publishes the list of
segments by one atomic rename; published segments are never written again.

Chroma's embedded storage is not crash-safe: a process killed mid-write can leave its vector
index disagreeing with its metadata ("Error finding id"). So a writer never touches a published
segment. It writes what it changes into a new segment folder (its own Chroma database), closes
it, flushes it to disk, then replaces `CURRENT`, the list of published segments (oldest first,
one name a line), with an atomic rename. A crash at any point leaves `CURRENT` naming intact
segments; the orphaned folder is removed by the next writer. A writing run so costs what it
changes, not what the index holds (`coach.index.layers` reads the segments as one index, and
merges them now and then).

An index written before segments existed is a `CURRENT` naming one folder: a one-segment list.

A merge may run behind the writers (`coach.index.writing.merge_behind`): it holds the merge
lock, not the writers' lock, while it writes its segment, which is marked as in progress so that
a writer's pruning spares it; a mark whose merge lock nobody holds is a crashed merge's, and goes.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from coach.atomic import exclusive_lock, fsync_path, write_atomic
from coach.errors import StoreUnavailableError

CURRENT = "CURRENT"
_PREFIX = "gen-"
_LOCK = ".write.lock"
_MERGE_LOCK = ".merge.lock"
MERGING = ".merging"  # in a segment folder a merge is still writing


class Generations:
    """The segment folders under one index root and the list of the published ones."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def segments(self) -> list[Path]:
        """The published segments, oldest first; empty when nothing was ever published."""
        try:
            names = (self.root / CURRENT).read_text(encoding="utf-8").split()
        except FileNotFoundError:
            return []
        paths = [self.root / name for name in names]
        if not names or not all(
            name.startswith(_PREFIX) and path.is_dir()
            for name, path in zip(names, paths, strict=True)
        ):
            return []
        return paths

    def current(self) -> Path | None:
        """The newest published segment (None when nothing was ever published)."""
        found = self.segments()
        return found[-1] if found else None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the write lock: one writer at a time per index root, across processes."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / _LOCK).touch()
        except OSError as exc:
            raise StoreUnavailableError(
                f"cannot write the index folder {self.root}: {exc.strerror}; check its permissions"
            ) from exc
        with exclusive_lock(self.root / _LOCK):
            yield

    @contextmanager
    def merging(self, wait: bool = False) -> Iterator[bool]:
        """Take the merge lock (one merge at a time per index root, across processes): True
        while held; without `wait`, False at once when another merge holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / _MERGE_LOCK).open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def stage(self, merging: bool = False) -> Path:
        """A new, empty segment folder; `merging`: marked as a merge's, in progress."""
        staged = self.root / f"{_PREFIX}{time.time_ns()}"
        staged.mkdir(parents=True)
        if merging:
            (staged / MERGING).touch()
        return staged

    def settle(self, staged: Path) -> None:
        """A merge's segment is complete: no longer marked as in progress."""
        (staged / MERGING).unlink(missing_ok=True)

    def publish(self, segments: Sequence[Path]) -> None:
        """Flush the new folders among `segments` to disk and make the list the published
        index, atomically."""
        published = set(self.segments())
        for segment in segments:
            if segment in published:
                continue  # published before: flushed then, never written since
            for folder, _dirs, files in os.walk(segment):
                for name in files:
                    fsync_path(Path(folder) / name)
                fsync_path(Path(folder))
        listing = "".join(f"{segment.name}\n" for segment in segments)
        write_atomic(self.root / CURRENT, listing.encode())

    def discard(self, staged: Path) -> None:
        shutil.rmtree(staged, ignore_errors=True)

    def prune(self, keep_previous: Sequence[Path]) -> None:
        """Remove every segment but the published ones and `keep_previous`.

        The previous list stays for a reader that opened it just before the switch, and so does
        a segment a merge is still writing; orphans of crashed writers and merges, and segments
        merged away before that, go.
        """
        keep = {*self.segments(), *keep_previous}
        merge_running: bool | None = None  # asked once, when a marked segment is found
        for path in self.root.glob(f"{_PREFIX}*"):
            if not path.is_dir() or path in keep:
                continue
            if (path / MERGING).exists():
                if merge_running is None:
                    with self.merging() as free:
                        merge_running = not free
                if merge_running:
                    continue
            shutil.rmtree(path, ignore_errors=True)
