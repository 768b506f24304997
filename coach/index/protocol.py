"""The seams around an index: what a reader (the retriever) needs from it, and what the
indexer's embedding step writes to.

`ChunkStore` (Chroma) satisfies both structurally; `coach.testing.InMemoryStore` and its
recorder do too, so the retriever, the coach and the indexer's records can be tested without
Chroma or a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from coach.index.records import ChunkHit, ChunkRecord, ManifestEntry
from coach.index.tables import RecordTable


class ChunkWriter(Protocol):
    """Where the indexer's embedding step puts a group of documents: their records first, the
    manifest entries that make them visible second, older versions' records last."""

    def write_chunks(self, records: Sequence[ChunkRecord]) -> None: ...

    def commit(self, entries: Sequence[ManifestEntry]) -> None: ...

    def drop_stale_chunks(self, doc_id: str, keep_hash: str | None) -> None: ...


class SearchableStore(Protocol):
    """A published index opened for reading: committed chunks and advice items, their
    vectors, and whether a writer has moved it on since it was opened."""

    def close(self) -> None: ...

    def is_stale(self) -> bool:
        """Whether the index changed since this reader opened it (the reader then reopens)."""
        ...

    def chunk_count(self) -> int: ...

    def tables(self, vectors: bool = True) -> list[tuple[RecordTable, NDArray[np.bool_]]]:
        """The index as record tables (`coach.index.tables`), each with the records of it that
        count; `vectors` False: the vectors are not needed (they may be left unread)."""
        ...

    def query(
        self, embedding: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[ChunkHit]:
        """The `k` nearest committed records of active documents, nearest first."""
        ...
