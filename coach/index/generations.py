"""Generations of the embedded index: a write happens on a copy, published by one atomic rename.

Chroma's embedded storage is not crash-safe: a process killed mid-write can leave its vector
index disagreeing with its metadata ("Error finding id"). So a writer never touches the
published generation. It copies it, changes the copy, closes it, flushes it to disk, then
switches `CURRENT` to it with an atomic rename. A crash at any point leaves `CURRENT` naming an
intact generation; the orphaned copy is removed by the next writer.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from coach.atomic import exclusive_lock, fsync_path, write_atomic
from coach.errors import StoreUnavailableError

CURRENT = "CURRENT"
_PREFIX = "gen-"
_LOCK = ".write.lock"


class Generations:
    """The generation folders under one index root and the pointer to the published one."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def current(self) -> Path | None:
        """The published generation, or None when nothing was ever published."""
        try:
            name = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        path = self.root / name
        return path if name.startswith(_PREFIX) and path.is_dir() else None

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

    def stage(self, fresh: bool) -> Path:
        """A new generation folder: a copy of the published one, or empty when `fresh`."""
        staged = self.root / f"{_PREFIX}{time.time_ns()}"
        source = None if fresh else self.current()
        if source is None:
            staged.mkdir(parents=True)
        else:
            shutil.copytree(source, staged)
        return staged

    def publish(self, staged: Path) -> None:
        """Flush `staged` to disk and make it the published generation, atomically."""
        for folder, _dirs, files in os.walk(staged):
            for name in files:
                fsync_path(Path(folder) / name)
            fsync_path(Path(folder))
        write_atomic(self.root / CURRENT, (staged.name + "\n").encode())

    def discard(self, staged: Path) -> None:
        shutil.rmtree(staged, ignore_errors=True)

    def prune(self, keep_previous: Path | None) -> None:
        """Remove every generation but the published one and `keep_previous`.

        The previous one stays for a reader that opened it just before the switch; orphans of
        crashed writers go.
        """
        current = self.current()
        for path in self.root.glob(f"{_PREFIX}*"):
            if path.is_dir() and path not in (current, keep_previous):
                shutil.rmtree(path, ignore_errors=True)
