"""BM25 over the index's record tables, each chunk stemmed in its own language (Dutch or
English) when its table was made.

The term counts stay in the tables, one per index segment, so a reload after a save builds
nothing: a query gathers each of its terms' postings from every table, keeps the chunks that
count, and scores them with the statistics of those chunks (how many there are, their mean
length, how many hold the term). That is Lucene's BM25 with bm25s's defaults, which the fusion
weights were chosen with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from coach.index.tables import RecordTable
from coach.retrieve.language import terms

K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class LexicalHit:
    position: int  # a record's row over the tables, one after the other
    score: float


class LexicalIndex:
    """BM25 over the rows of `tables` (one after the other) that `counted` marks."""

    def __init__(self, tables: Sequence[RecordTable], counted: NDArray[np.bool_]) -> None:
        self._tables = list(tables)
        self._offsets = np.cumsum([0, *(len(table) for table in self._tables)])
        if len(counted) != self._offsets[-1]:
            raise ValueError(f"{len(counted)} rows marked for {self._offsets[-1]} records")
        self._counted = counted
        lengths = np.concatenate([t.lengths for t in self._tables] or [np.zeros(0, np.float32)])
        self._size = int(counted.sum())
        average = float(lengths[counted].mean()) if self._size else 1.0
        self._norm = (K1 * (1 - B + B * lengths / average)).astype(np.float32)

    def __len__(self) -> int:
        return self._size

    def search(
        self, query: str, language: str, k: int, mask: NDArray[np.bool_] | None = None
    ) -> list[LexicalHit]:
        """The `k` best-scoring chunks (score > 0) among those `mask` allows, best first."""
        scores = np.zeros(len(self._counted), dtype=np.float32)
        matched = False
        for term in terms(query, language):
            rows, frequency = self._postings(term)
            if not len(rows):
                continue
            holding = len(rows)
            idf = np.float32(math.log(1 + (self._size - holding + 0.5) / (holding + 0.5)))
            scores[rows] += idf * frequency / (frequency + self._norm[rows])
            matched = True
        if not matched:
            return []
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        top = min(k, len(scores))
        candidates = np.argpartition(-scores, top - 1)[:top]
        ordered = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [LexicalHit(int(i), float(scores[i])) for i in ordered if scores[i] > 0]

    def _postings(self, term: str) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The counted rows holding `term`, over all tables, and how often each does."""
        rows: list[NDArray[np.int64]] = []
        frequencies: list[NDArray[np.float32]] = []
        for table, offset in zip(self._tables, self._offsets, strict=False):
            found = table.postings(term)
            if found is None:
                continue
            positions = found[0].astype(np.int64) + offset
            keep = self._counted[positions]
            rows.append(positions[keep])
            frequencies.append(found[1][keep])
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(rows), np.concatenate(frequencies)
