"""What a reader needs from an index: the seam between the retriever and the store behind it.

`ChunkStore` (Chroma) satisfies it structurally; `coach.testing.InMemoryStore` does too, so the
retriever and the coach can be tested without Chroma or a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from coach.index.store import ChunkHit


class SearchableStore(Protocol):
    """A published index opened for reading: committed chunks and advice items, their
    vectors, and whether a writer has moved it on since it was opened."""

    def close(self) -> None: ...

    def is_stale(self) -> bool:
        """Whether the index changed since this reader opened it (the reader then reopens)."""
        ...

    def chunk_count(self) -> int: ...

    def get_chunks(self, where: dict[str, Any] | None = None) -> list[ChunkHit]:
        """Committed records matching a Chroma `where` clause (all of them without one)."""
        ...

    def snapshot(self) -> tuple[list[ChunkHit], NDArray[np.float32]]:
        """Every committed record with its embedding, rows in the same order."""
        ...

    def query(
        self, embedding: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[ChunkHit]:
        """The `k` nearest committed records of active documents, nearest first."""
        ...
