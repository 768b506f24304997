"""A segment's records as columns: ids, documents, texts and metadata, their unit vectors, and
the term counts BM25 scores them by.

A writer saves its segment's table as files beside the segment's Chroma database before it
publishes the segment (`RecordTable.save`), and a merge joins the tables of what it merges. A
reader then loads a segment in about a second (`RecordTable.load`) instead of reading every
record from Chroma and stemming it again: that is what makes a reader start, and reload after a
save, in time proportional to what changed. A segment written before these files existed, or
a Chroma server's collection, is read and stemmed once per process (`RecordTable.build`).
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from coach.atomic import write_atomic
from coach.index.records import ChunkHit, ChunkMetadata
from coach.ingest.advice import ITEM_RECORD
from coach.retrieve.language import terms

RECORDS_FILE = "records.json"
VECTORS_FILE = "vectors.npy"
TERMS_FILE = "terms.npz"  # written last: a table is complete when this file is there
EMPTY = "\u2205"  # the one term of a chunk without any (BM25 needs a length of at least one)
FILTER_COLUMNS = ("team", "type", "language")
_MEMO_LIMIT = 500_000  # chunk ids whose terms a process keeps (an id names one version)
_memo: dict[str, list[str]] = {}


def lexical_text(metadata: Mapping[str, object], text: str) -> str:
    """What BM25 sees of a chunk: its document title and heading path weigh in, as for dense."""
    return f"{metadata.get('title', '')}\n{metadata.get('heading_path', '')}\n{text}"


def chunk_terms(hit: ChunkHit) -> list[str]:
    """A chunk's search terms in its own language (remembered by chunk id)."""
    found = _memo.get(hit.id)
    if found is None:
        language = str(hit.metadata.get("language", "nl"))
        found = terms(lexical_text(hit.metadata, hit.text), language) or [EMPTY]
        if len(_memo) >= _MEMO_LIMIT:
            _memo.clear()
        _memo[hit.id] = found
    return found


def is_item(metadata: Mapping[str, object]) -> bool:
    return metadata.get("record") == ITEM_RECORD


@dataclass
class RecordTable:
    """Records in one order: `vectors` (unit length; no columns when not read) and `counts`
    (records x `vocabulary` term counts; advice items have none) are rows of the same."""

    ids: list[str]
    doc_ids: list[str]
    texts: list[str]
    metadatas: list[ChunkMetadata]
    vectors: NDArray[np.float32]
    vocabulary: list[str]
    counts: sparse.csc_array
    lengths: NDArray[np.float32]  # terms per record (0 for an advice item)

    # -- made ----------------------------------------------------------------------------------

    @classmethod
    def build(cls, hits: Sequence[ChunkHit], vectors: NDArray[np.float32] | None) -> RecordTable:
        """The table of these records (vectors None: not kept), chunks stemmed here; chunks
        first, then advice items (so the chunks' vectors are one block: `chunk_block`)."""
        order = sorted(range(len(hits)), key=lambda row: is_item(hits[row].metadata))
        hits = [hits[row] for row in order]
        vectors = None if vectors is None else np.asarray(vectors)[order]
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        columns: list[int] = []
        data: list[int] = []
        lengths = np.zeros(len(hits), dtype=np.float32)
        for row, hit in enumerate(hits):
            if is_item(hit.metadata):
                continue
            found = chunk_terms(hit)
            lengths[row] = len(found)
            for term, count in Counter(found).items():
                rows.append(row)
                columns.append(vocabulary.setdefault(term, len(vocabulary)))
                data.append(count)
        counts = sparse.csc_array(
            (np.asarray(data, dtype=np.float32), (rows, columns)),
            shape=(len(hits), len(vocabulary)),
        )
        return cls(
            ids=[hit.id for hit in hits],
            doc_ids=[hit.doc_id for hit in hits],
            texts=[hit.text for hit in hits],
            metadatas=[hit.metadata for hit in hits],
            vectors=_unit(vectors, len(hits)),
            vocabulary=list(vocabulary),
            counts=counts,
            lengths=lengths,
        )

    @classmethod
    def join(cls, parts: Sequence[tuple[RecordTable, NDArray[np.bool_]]]) -> RecordTable:
        """The rows each mask keeps, of each table in turn, as one table (what a merge writes):
        the chunks of each in turn first, then the advice items."""
        picked = [(table, np.flatnonzero(keep)) for table, keep in parts]
        chosen = [(table, rows[~table.items[rows]]) for table, rows in picked]
        chosen += [(table, rows[table.items[rows]]) for table, rows in picked]
        vocabulary: dict[str, int] = {}
        rows: list[NDArray[Any]] = []
        columns: list[NDArray[Any]] = []
        data: list[NDArray[Any]] = []
        offset = 0
        for table, chosen_rows in chosen:
            remap = np.asarray(
                [vocabulary.setdefault(term, len(vocabulary)) for term in table.vocabulary],
                dtype=np.int64,
            )
            kept = sparse.coo_array(table.counts.tocsr()[chosen_rows, :])
            rows.append(kept.row + offset)
            columns.append(remap[kept.col] if len(remap) else kept.col)
            data.append(kept.data)
            offset += len(chosen_rows)
        together = sparse.csc_array(
            (joined(data, np.float32), (joined(rows, np.int64), joined(columns, np.int64))),
            shape=(offset, len(vocabulary)),
        )
        used = np.flatnonzero(np.diff(together.indptr))  # terms only dropped records had go
        words = list(vocabulary)
        width = max((table.vectors.shape[1] for table, _ in parts), default=0)
        return cls(
            ids=[table.ids[i] for table, picked in chosen for i in picked],
            doc_ids=[table.doc_ids[i] for table, picked in chosen for i in picked],
            texts=[table.texts[i] for table, picked in chosen for i in picked],
            metadatas=[table.metadatas[i] for table, picked in chosen for i in picked],
            vectors=np.concatenate(
                [np.asarray(table.vectors[picked]) for table, picked in chosen]
                or [np.zeros((0, width), dtype=np.float32)]
            ).astype(np.float32),
            vocabulary=[words[i] for i in used],
            counts=sparse.csc_array(together[:, used]),
            lengths=joined([table.lengths[picked] for table, picked in chosen], np.float32),
        )

    # -- files ---------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        records = {
            "ids": self.ids,
            "doc_ids": self.doc_ids,
            "texts": self.texts,
            "metadatas": self.metadatas,
            "vocabulary": self.vocabulary,
        }
        write_atomic(folder / RECORDS_FILE, json.dumps(records, ensure_ascii=False).encode())
        vectors = io.BytesIO()
        np.save(vectors, np.ascontiguousarray(self.vectors, dtype=np.float32))
        write_atomic(folder / VECTORS_FILE, vectors.getvalue())
        counts = io.BytesIO()
        np.savez(
            counts,
            data=self.counts.data.astype(np.float32),
            indices=self.counts.indices.astype(np.int32),
            indptr=self.counts.indptr.astype(np.int64),
            lengths=self.lengths,
        )
        write_atomic(folder / TERMS_FILE, counts.getvalue())

    @classmethod
    def load(cls, folder: Path, vectors: bool = True) -> RecordTable | None:
        """The table saved in `folder`; None when it has none. `vectors` False: the vectors
        stay on disk (mapped, read only where used)."""
        if not (folder / TERMS_FILE).exists():
            return None
        records = json.loads((folder / RECORDS_FILE).read_bytes())
        matrix = np.load(folder / VECTORS_FILE, mmap_mode=None if vectors else "r")
        with np.load(folder / TERMS_FILE) as saved:
            shape = (len(records["ids"]), len(records["vocabulary"]))
            counts = sparse.csc_array(
                (saved["data"], saved["indices"], saved["indptr"]), shape=shape
            )
            lengths = saved["lengths"]
        return cls(
            ids=records["ids"],
            doc_ids=records["doc_ids"],
            texts=records["texts"],
            metadatas=records["metadatas"],
            vectors=matrix,
            vocabulary=records["vocabulary"],
            counts=counts,
            lengths=lengths,
        )

    # -- read ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ids)

    def hit(self, row: int, distance: float = 0.0) -> ChunkHit:
        return ChunkHit(
            self.ids[row], self.doc_ids[row], self.texts[row], self.metadatas[row], distance
        )

    @cached_property
    def term_ids(self) -> dict[str, int]:
        return {term: column for column, term in enumerate(self.vocabulary)}

    def postings(self, term: str) -> tuple[NDArray[np.int32], NDArray[np.float32]] | None:
        """The rows holding `term` and how often, or None when none does."""
        column = self.term_ids.get(term)
        if column is None:
            return None
        start, end = self.counts.indptr[column], self.counts.indptr[column + 1]
        return self.counts.indices[start:end], self.counts.data[start:end]

    @cached_property
    def chunk_block(self) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
        """The rows of the chunks (not advice items) and their vectors as one block: a view
        when the chunks come first (as in every table this code makes), else a copy."""
        rows = np.flatnonzero(~self.items)
        if not len(rows) or rows[-1] == len(rows) - 1:
            return rows, self.vectors[: len(rows)]
        return rows, np.ascontiguousarray(self.vectors[rows])

    @cached_property
    def items(self) -> NDArray[np.bool_]:
        return np.fromiter((is_item(m) for m in self.metadatas), dtype=bool, count=len(self))

    @cached_property
    def active(self) -> NDArray[np.bool_]:
        statuses = (m.get("status") == "active" for m in self.metadatas)
        return np.fromiter(statuses, dtype=bool, count=len(self))

    @cached_property
    def columns(self) -> dict[str, NDArray[Any]]:
        """The metadata a search filters on, one array per field."""
        return {
            key: np.array([str(m.get(key)) for m in self.metadatas], dtype=object)
            for key in FILTER_COLUMNS
        }

    @cached_property
    def documents(self) -> tuple[list[str], NDArray[np.intp]]:
        """The documents in the table, and each record's position among them."""
        names, codes = np.unique(np.asarray(self.doc_ids, dtype=object), return_inverse=True)
        return [str(name) for name in names], codes.astype(np.intp)

    def rows_of(self, decided: set[str]) -> NDArray[np.bool_]:
        """Which records belong to the documents `decided`."""
        names, codes = self.documents
        wanted = np.fromiter((name in decided for name in names), dtype=bool, count=len(names))
        return wanted[codes] if len(codes) else np.zeros(0, dtype=bool)


def joined(blocks: list[NDArray[Any]], dtype: Any) -> NDArray[Any]:
    """Arrays one after the other (an empty one of `dtype` when there are none)."""
    return np.concatenate(blocks).astype(dtype) if blocks else np.zeros(0, dtype=dtype)


def _unit(vectors: NDArray[np.float32] | None, rows: int) -> NDArray[np.float32]:
    if vectors is None:
        return np.zeros((rows, 0), dtype=np.float32)
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)
