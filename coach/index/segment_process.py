"""A large writing run's new segment, written by a process of its own.

The default model (USE) keeps one core busy while a run embeds. Chroma's writes (about 1 ms of
CPU per record, most of it in its SQLite) waited for the model in the same process, and in a
thread they only fought it over the interpreter lock (measured: no gain). So a run of at least
`PROCESS_FROM` documents hands its segment to a process of its own: the run sends each group's
records and manifest entries and goes on embedding, while that process writes them into the
segment's Chroma database on the other core. It keeps the records it wrote, so the segment's
table is made from them instead of read back from Chroma (34 s at 10,000 documents). A
curator's save writes in place: starting the process costs about two seconds.

A call that answers (the manifest, a count, saving the segment's files) waits until everything
sent before it is written, and raises the error of any write before it. The process ends with
the run, or with the process that started it (killed, say): the segment is unpublished then,
and the next writer's prune removes it. Closing raises unless the process closed its database
and ended cleanly within `CLOSE_TIMEOUT`: a process killed while it closes may leave the
database half-written, so the run publishes nothing then.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from collections.abc import Sequence
from contextlib import suppress
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.errors import StoreUnavailableError
from coach.index.chroma import close_client, open_client
from coach.index.records import ChunkHit, ChunkRecord, ManifestEntry, StoreLocation, as_metadata
from coach.index.segment_files import save_segment
from coach.index.store import ChunkStore
from coach.index.tables import RecordTable
from coach.index.units import end_with

PROCESS_FROM = 200  # documents in a run from which its segment is written in a process
CLOSE_TIMEOUT = 60.0  # seconds the process may take to close its database before it is killed
_CLOSE = "close"


def writes_in_process(documents: int) -> bool:
    """Whether a run writing `documents` documents writes its segment in a process of its own
    (a daemon process may not start one)."""
    return documents >= PROCESS_FROM and not multiprocessing.current_process().daemon


class SegmentProcess:
    """A new segment's Chroma database (`ChunkStore`), written by a process of its own: the
    same calls, writes sent ahead, reads answered in order. The segment is new (`folder` empty
    or absent), so until something is sent it is known to be empty, and the run does not wait
    for the process to start."""

    def __init__(self, location: StoreLocation, folder: Path, embedder: str, dimension: int):
        if folder.exists() and any(folder.iterdir()):
            raise ValueError(f"{folder} is not a new segment: it is not empty")
        self.location = location
        self.folder = folder
        self._sent = False  # anything yet: until then the segment is empty
        context = multiprocessing.get_context("spawn")  # no fork of Chroma's threads
        self._connection, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(theirs, location, folder, embedder, dimension, os.getpid()),
            name="coach-segment",
            daemon=True,
        )
        self._process.start()
        theirs.close()
        self._closed = False

    # -- writes: sent, and the run goes on ------------------------------------------------------

    def write_chunks(self, records: Sequence[ChunkRecord]) -> None:
        self._send("write_chunks", list(records))

    def commit(self, entries: Sequence[ManifestEntry]) -> None:
        self._send("commit", list(entries))

    def drop_stale_chunks(self, doc_id: str, keep_hash: str | None) -> None:
        self._send("drop_stale_chunks", doc_id, keep_hash)

    # -- calls that answer ----------------------------------------------------------------------

    def sweep(self, manifest: dict[str, ManifestEntry]) -> int:
        return int(self._call("sweep", manifest))

    def manifest(self) -> dict[str, ManifestEntry]:
        found: dict[str, ManifestEntry] = self._call("manifest") if self._sent else {}
        return found

    def chunk_count(self) -> int:
        return int(self._call("chunk_count")) if self._sent else 0

    def snapshot(self) -> tuple[list[ChunkHit], NDArray[np.float32]]:
        found: tuple[list[ChunkHit], NDArray[np.float32]] = self._call("snapshot")
        return found

    def get_chunks(self, where: dict[str, Any] | None = None) -> list[ChunkHit]:
        found: list[ChunkHit] = self._call("get_chunks", where)
        return found

    def query(
        self, embedding: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[ChunkHit]:
        found: list[ChunkHit] = self._call("query", list(embedding), k, where)
        return found

    @property
    def modified(self) -> bool:
        return self._sent and bool(self._call("modified"))

    def save(self, embedder: str, dimension: int) -> None:
        """Save the segment's files (`coach.index.segment_files`), its table made from the
        records written."""
        self._call("save", embedder, dimension)

    def close(self) -> None:
        """Have the process close the segment's database and end; raises when it did not
        end cleanly within `CLOSE_TIMEOUT` (then killed): its database may be half-written,
        so the segment must not be published."""
        if self._closed:
            return
        self._closed = True
        with suppress(OSError):
            self._connection.send((_CLOSE, (), False))
        self._process.join(CLOSE_TIMEOUT)
        stuck = self._process.is_alive()
        if stuck:
            self._process.kill()
            self._process.join()
        self._connection.close()
        if stuck or self._process.exitcode != 0:
            how = (
                f"did not close its database within {CLOSE_TIMEOUT:g} s and was stopped"
                if stuck
                else f"failed while closing its database (exit code {self._process.exitcode})"
            )
            raise StoreUnavailableError(
                f"the process writing the new segment of the {self.location.describe()} {how}; "
                "nothing of this run was published and the index is as it was: run it again"
            )

    # -- the wire -------------------------------------------------------------------------------

    def _send(self, method: str, *args: Any, answer: bool = False) -> None:
        if self._closed:
            raise StoreUnavailableError(f"the new segment in {self.folder} is closed")
        try:
            self._connection.send((method, args, answer))
        except OSError as exc:
            raise self._gone() from exc
        self._sent = True

    def _call(self, method: str, *args: Any) -> Any:
        self._send(method, *args, answer=True)
        try:
            failed, value = self._connection.recv()
        except (EOFError, OSError) as exc:
            raise self._gone() from exc
        if failed:
            raise value
        return value

    def _gone(self) -> StoreUnavailableError:
        self._process.join(5)
        return StoreUnavailableError(
            f"the process writing the new segment of the {self.location.describe()} ended "
            f"(exit code {self._process.exitcode}); nothing of this run was published"
        )


class _Writer:
    """The process's side: the segment's `ChunkStore`, and the records written to it."""

    def __init__(self, location: StoreLocation, folder: Path, embedder: str, dimension: int):
        self.folder = folder
        client = open_client(location, folder)
        try:
            self.store = ChunkStore.create(location, client, embedder, dimension)
        except BaseException:
            close_client(client)
            raise
        # The records written, a table a write (stemmed as they come, while the run embeds).
        self.written: list[RecordTable] = []

    def write_chunks(self, records: list[ChunkRecord]) -> None:
        self.store.write_chunks(records)
        if records:
            hits = [
                ChunkHit(r.id, str(r.metadata["doc_id"]), r.text, as_metadata(r.metadata), 0.0)
                for r in records
            ]
            vectors = np.asarray([record.embedding for record in records], dtype=np.float32)
            self.written.append(RecordTable.build(hits, vectors))

    def commit(self, entries: list[ManifestEntry]) -> None:
        self.store.commit(entries)

    def drop_stale_chunks(self, doc_id: str, keep_hash: str | None) -> None:
        self.store.drop_stale_chunks(doc_id, keep_hash)

    def sweep(self, manifest: dict[str, ManifestEntry]) -> int:
        return self.store.sweep(manifest)

    def manifest(self) -> dict[str, ManifestEntry]:
        return self.store.manifest()

    def chunk_count(self) -> int:
        return self.store.chunk_count()

    def snapshot(self) -> tuple[list[ChunkHit], NDArray[np.float32]]:
        return self.store.snapshot()

    def get_chunks(self, where: dict[str, Any] | None) -> list[ChunkHit]:
        return self.store.get_chunks(where)

    def query(self, embedding: list[float], k: int, where: dict[str, Any] | None) -> list[ChunkHit]:
        return self.store.query(embedding, k, where)

    def modified(self) -> bool:
        return self.store.modified

    def save(self, embedder: str, dimension: int) -> None:
        save_segment(self.folder, self.store, embedder, dimension, table=self._table())

    def _table(self) -> RecordTable | None:
        """The table of the records written of the versions committed (what a read back
        returns: older versions dropped, removed documents gone), or None when they are not
        all the segment holds (then it is read back)."""
        manifest = self.store.manifest()
        committed = {doc_id: entry.content_hash for doc_id, entry in manifest.items()}
        parts = [
            (
                table,
                np.fromiter(
                    (
                        committed.get(d) == m.get("content_hash")
                        for d, m in zip(table.doc_ids, table.metadatas, strict=True)
                    ),
                    dtype=bool,
                    count=len(table),
                ),
            )
            for table in self.written
        ]
        kept = sum(int(mask.sum()) for _, mask in parts)
        if not kept or kept != self.store.chunk_count():
            return None
        return RecordTable.join(parts)

    def close(self) -> None:
        self.store.close()


def _serve(
    connection: Connection,
    location: StoreLocation,
    folder: Path,
    embedder: str,
    dimension: int,
    parent: int,
) -> None:
    """Carry out the calls that arrive, in order, until told to close. After a failure every
    call that answers reports it (the run is then abandoned)."""
    threading.Thread(target=end_with, args=(parent,), daemon=True).start()
    failure: BaseException | None = None
    writer: _Writer | None = None
    try:
        writer = _Writer(location, folder, embedder, dimension)
    except Exception as exc:
        failure = exc
    while True:
        try:
            method, args, answer = connection.recv()
        except EOFError:
            break
        if method == _CLOSE:
            break
        value = None
        if failure is None and writer is not None:
            try:
                value = getattr(writer, method)(*args)
            except Exception as exc:
                failure = exc
        if answer:
            connection.send((True, _portable(failure)) if failure else (False, value))
    if writer is not None:
        writer.close()


def _portable(failure: BaseException) -> BaseException:
    """The error as the other process can receive it (some of Chroma's do not pickle)."""
    try:
        pickle.loads(pickle.dumps(failure))
    except Exception:
        return StoreUnavailableError(f"writing the new segment failed: {failure!r}")
    return failure
