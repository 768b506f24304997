"""BM25 over the index's record tables, each chunk stemmed in its own language (Dutch or
English) when its table was made.

The term counts stay in the tables, one per index segment, so a reload after a save builds
nothing: a query gathers each of its terms' postings from every table (once per reload; see
`LexicalIndex`), keeps the chunks that count, and scores them with the statistics of those
chunks (how many there are, their mean length, how many hold the term). That is Lucene's BM25
with bm25s's defaults, which the fusion weights were chosen with.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from coach.index.tables import RecordTable, joined
from coach.retrieve.language import terms

K1 = 1.5
B = 0.75
POSTINGS_KEPT = 4_000_000  # term postings whose contributions an index keeps (8 bytes each)


@dataclass(frozen=True)
class LexicalHit:
    position: int  # a record's row over the tables, one after the other
    score: float


class LexicalIndex:
    """BM25 over the rows of `tables` (one after the other) that `counted` marks.

    A search scores only those rows, in an array of their own (the counted chunks, about a
    third of an index's records), and each term's postings are gathered over the tables and
    weighed once per index: a term's BM25 contribution to each row holding it does not
    depend on the query (`_contributions`, kept for up to `POSTINGS_KEPT` postings)."""

    def __init__(self, tables: Sequence[RecordTable], counted: NDArray[np.bool_]) -> None:
        self._tables = list(tables)
        self._offsets = np.cumsum([0, *(len(table) for table in self._tables)])
        if len(counted) != self._offsets[-1]:
            raise ValueError(f"{len(counted)} rows marked for {self._offsets[-1]} records")
        self._rows = np.flatnonzero(counted)  # the counted rows, in order: a search's array
        self._position = np.full(len(counted), -1, dtype=np.int64)  # a row's place in it
        self._position[self._rows] = np.arange(len(self._rows))
        lengths = np.concatenate([t.lengths for t in self._tables] or [np.zeros(0, np.float32)])
        self._size = len(self._rows)
        average = float(lengths[counted].mean()) if self._size else 1.0
        self._norm = (K1 * (1 - B + B * lengths[self._rows] / average)).astype(np.float32)
        self._kept: dict[str, tuple[NDArray[np.int32], NDArray[np.float32]]] = {}
        self._held = 0  # postings in `_kept`
        self._keeping = threading.Lock()

    def __len__(self) -> int:
        return self._size

    def search(
        self, query: str, language: str, k: int, mask: NDArray[np.bool_] | None = None
    ) -> list[LexicalHit]:
        """The `k` best-scoring chunks (score > 0) among those `mask` allows, best first."""
        scores = np.zeros(self._size, dtype=np.float32)
        matched = False
        for term in terms(query, language):
            places, contributions = self._contributions(term)
            if len(places):
                scores[places] += contributions
                matched = True
        if not matched:
            return []
        if mask is not None:
            scores[~mask[self._rows]] = 0.0
        top = min(k, len(scores))
        candidates = np.argpartition(-scores, top - 1)[:top]
        ordered = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [LexicalHit(int(self._rows[i]), float(scores[i])) for i in ordered if scores[i] > 0]

    def rows_holding(self, term: str) -> NDArray[np.int64]:
        """The counted rows (positions over the tables) whose text holds `term`."""
        places, _ = self._contributions(term)
        return self._rows[places]

    def _contributions(self, term: str) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """The places of the counted rows holding `term`, and what it adds to their score."""
        found = self._kept.get(term)
        if found is not None:
            return found
        places: list[NDArray[np.int64]] = []
        frequencies: list[NDArray[np.float32]] = []
        for table, offset in zip(self._tables, self._offsets, strict=False):
            postings = table.postings(term)
            if postings is None:
                continue
            at = self._position[postings[0].astype(np.int64) + offset]
            keep = at >= 0
            places.append(at[keep])
            frequencies.append(postings[1][keep])
        place = joined(places, np.int32)
        frequency = joined(frequencies, np.float32)
        holding = len(place)
        idf = np.float32(math.log(1 + (self._size - holding + 0.5) / (holding + 0.5)))
        found = place, idf * frequency / (frequency + self._norm[place])
        with self._keeping:
            if self._held + holding > POSTINGS_KEPT:
                self._kept.clear()
                self._held = 0
            self._kept[term] = found
            self._held += holding
        return found
