"""Dense scoring in memory: the cosine of the query to the index's chunks, from the record
tables' unit vectors.

Up to `TWO_PASS_FROM` chunks every chunk is scored exactly: one matrix product. A larger index
is scored in two passes, because the exact product reads every vector (at 70,000 chunks of 512
dimensions, 146 MB and about 10 ms of CPU a query):

1. every chunk is scored in `REDUCED` dimensions, the principal directions of the chunk vectors
   (the basis comes from a sample of them and is kept across reloads, so a save projects only
   its new segment);
2. the best `SHORTLIST` of those get their exact cosine; the rest stay unscored (-inf).

The exact top 40 of a search is then found about 99% of the time (see README, "At organisation
scale"), at a fifth of the CPU. Rows the caller needs beyond that (the chunks and advice items
of the documents a search found) are scored exactly with `measure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from coach.index.tables import RecordTable

TWO_PASS_FROM = 20_000  # chunks
REDUCED = 128  # dimensions of the first pass
SHORTLIST = 800  # chunks scored exactly after it
BASIS_SAMPLE = 20_000  # chunk vectors the principal directions are computed from


class DenseIndex:
    """The in-memory vectors of `tables` (rows numbered one table after the other, from
    `offsets`). `previous`, the index of the tables before a reload, lends its basis and the
    reduced vectors of the tables it shares with this one."""

    def __init__(
        self,
        tables: Sequence[RecordTable],
        offsets: NDArray[np.intp],
        previous: DenseIndex | None = None,
        *,
        two_pass_from: int = TWO_PASS_FROM,
    ) -> None:
        self._tables = list(tables)
        self._offsets = offsets
        self._rows = int(offsets[-1])
        self._blocks = [
            (table.chunk_block[0] + offset, table.chunk_block[1])
            for table, offset in zip(self._tables, offsets, strict=False)
        ]
        self._positions = np.concatenate(
            [positions for positions, _ in self._blocks] or [np.zeros(0, dtype=np.intp)]
        )
        self._basis: NDArray[np.float32] | None = None
        self._reduced: dict[int, tuple[RecordTable, NDArray[np.float32]]] = {}
        dimension = self._blocks[0][1].shape[1] if self._blocks else 0
        if len(self._positions) < two_pass_from or dimension <= REDUCED:
            return
        kept = previous._reduced if previous is not None else {}
        shared = [id(t) for t in self._tables if id(t) in kept and kept[id(t)][0] is t]
        if previous is not None and previous._basis is not None and shared:
            self._basis = previous._basis
        else:
            self._basis = _principal_directions(self._blocks)
        for table, (_, vectors) in zip(self._tables, self._blocks, strict=False):
            if id(table) in shared:
                self._reduced[id(table)] = kept[id(table)]
            else:
                self._reduced[id(table)] = (table, np.ascontiguousarray(vectors @ self._basis))

    @property
    def two_pass(self) -> bool:
        return self._basis is not None

    def scores(
        self, query: NDArray[np.float32], allowed: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float32], NDArray[np.intp]]:
        """Every row's cosine to `query` (-inf for rows not scored), and the rows of the
        chunks scored that `allowed` marks: every chunk when scored exactly, else the
        shortlist of the chunks `allowed` marks."""
        scores = np.full(self._rows, -np.inf, dtype=np.float32)
        if self._basis is None:
            for positions, vectors in self._blocks:
                scores[positions] = vectors @ query
            return scores, self._positions[allowed[self._positions]]
        reduced_query = query @ self._basis
        first = np.concatenate(
            [self._reduced[id(table)][1] @ reduced_query for table in self._tables]
        )
        first[~allowed[self._positions]] = -np.inf
        size = min(SHORTLIST, len(first))
        shortlist = np.argpartition(-first, size - 1)[:size]
        rows = self._positions[shortlist[np.isfinite(first[shortlist])]]
        self.measure(scores, rows, query)
        return scores, rows

    def measure(
        self, scores: NDArray[np.float32], rows: NDArray[np.intp], query: NDArray[np.float32]
    ) -> None:
        """Put the exact cosines of these rows (chunks or advice items) into `scores`."""
        if not len(rows):
            return
        owners = np.searchsorted(self._offsets, rows, side="right") - 1
        for owner in np.unique(owners):
            mine = rows[owners == owner]
            vectors = self._tables[owner].vectors[mine - self._offsets[owner]]
            scores[mine] = np.asarray(vectors) @ query


def _principal_directions(
    blocks: Sequence[tuple[NDArray[np.intp], NDArray[np.float32]]],
) -> NDArray[np.float32]:
    """The `REDUCED` directions that keep most of the chunk vectors' inner products (the top
    eigenvectors of their second-moment matrix), from a fixed sample of them."""
    vectors = [block for _, block in blocks if len(block)]
    sizes = np.array([len(block) for block in vectors])
    total = int(sizes.sum())
    chosen = np.random.default_rng(0).choice(total, min(BASIS_SAMPLE, total), replace=False)
    picked = np.sort(chosen)
    starts = np.cumsum([0, *sizes])
    owners = np.searchsorted(starts, picked, side="right") - 1
    sample = np.concatenate(
        [np.asarray(vectors[o][picked[owners == o] - starts[o]]) for o in np.unique(owners)]
    ).astype(np.float64)
    _, directions = np.linalg.eigh(sample.T @ sample)
    return np.ascontiguousarray(directions[:, ::-1][:, :REDUCED], dtype=np.float32)
