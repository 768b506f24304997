"""Each document's rows over an index's record tables (one after the other), made once per
load: a search gathers the rows of all its candidate documents in one step, and takes each
one's best cosine over them in another, instead of a lookup and a few array operations per
document (77 candidates a search at 10,000 documents).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from coach.index.tables import RecordTable

_NO_ROWS = np.zeros(0, dtype=np.intp)


class DocumentRows:
    """The rows that `counted` marks, per document (a document's rows are in one table, the
    one that decides it): its chunks, and its advice items (`items` marks them), each in
    table order. Documents are numbered; `code` gives a document's number."""

    def __init__(
        self,
        tables: Sequence[RecordTable],
        offsets: NDArray[np.intp],
        counted: NDArray[np.bool_],
        items: NDArray[np.bool_],
    ) -> None:
        self.code: dict[str, int] = {}
        self.of_row = np.full(len(counted), -1, dtype=np.intp)  # a row's document, -1: none
        for table, start in zip(tables, offsets.tolist(), strict=False):
            names, codes = table.documents
            end = start + len(table)
            mine = np.unique(codes[counted[start:end]]).tolist()
            numbers = np.full(len(names), -1, dtype=np.intp)
            for position in mine:
                numbers[position] = self.code.setdefault(names[position], len(self.code))
            self.of_row[start:end] = numbers[codes] if len(codes) else _NO_ROWS
        self.of_row[~counted] = -1
        self._chunks = _grouped(self.of_row, np.flatnonzero(counted & ~items), len(self.code))
        self._items = _grouped(self.of_row, np.flatnonzero(counted & items), len(self.code))

    def rows(self, doc_id: str) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """One document's rows of chunks and of advice items (none when it is not indexed)."""
        number = self.code.get(doc_id)
        if number is None:
            return _NO_ROWS, _NO_ROWS
        return _slice(self._chunks, number), _slice(self._items, number)

    def chunks(self, numbers: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """The chunk rows of these documents, one after the other, and how many each has."""
        return _gather(self._chunks, numbers)

    def items(self, numbers: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """The advice item rows of these documents, one after the other, and how many each
        has."""
        return _gather(self._items, numbers)


def best_per_document(values: NDArray[np.float32], lengths: NDArray[np.intp]) -> list[float | None]:
    """The largest of each document's values (`values` one document after the other, `lengths`
    of each); None for a document without any."""
    best: list[float | None] = [None] * len(lengths)
    present = np.flatnonzero(lengths > 0)
    if len(present):
        starts = starts_of(lengths)[present]
        for position, value in zip(
            present.tolist(), np.maximum.reduceat(values, starts).tolist(), strict=True
        ):
            best[position] = value
    return best


def starts_of(lengths: NDArray[np.intp]) -> NDArray[np.intp]:
    """Where each document's block begins, when blocks of these lengths lie one after the
    other."""
    return np.cumsum(lengths) - lengths


def _grouped(
    of_row: NDArray[np.intp], rows: NDArray[np.intp], documents: int
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """`rows` ordered by their document (in row order within one) and where each document's
    begin: (start of each document and the end, the rows)."""
    owners = of_row[rows]
    order = np.argsort(owners, kind="stable")
    bounds = np.searchsorted(owners[order], np.arange(documents + 1))
    return bounds.astype(np.intp), rows[order]


def _slice(grouped: tuple[NDArray[np.intp], NDArray[np.intp]], number: int) -> NDArray[np.intp]:
    bounds, rows = grouped
    return rows[bounds[number] : bounds[number + 1]]


def _gather(
    grouped: tuple[NDArray[np.intp], NDArray[np.intp]], numbers: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    bounds, rows = grouped
    starts = bounds[numbers]
    lengths = bounds[numbers + 1] - starts
    total = int(lengths.sum())
    # position k of document i's block is its start + k: one arange shifted per block
    shifts = np.repeat(starts - starts_of(lengths), lengths)
    return rows[np.arange(total, dtype=np.intp) + shifts], lengths
