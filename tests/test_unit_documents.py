"""Each document's rows over several record tables (`coach.retrieve.documents`): the rows that
count, per document, in table order, gathered for many documents at once as for one at a time;
and the best value per document, none for a document without rows."""

from __future__ import annotations

import numpy as np
import pytest

from coach.index.records import ChunkHit
from coach.index.tables import RecordTable, joined
from coach.retrieve.documents import DocumentRows, best_per_document
from coach.testing import HashingEmbedder, index_records
from tests.coaching_corpus import coaching_documents


@pytest.fixture(scope="module")
def two_segments(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[RecordTable], np.ndarray, np.ndarray, list[str]]:
    """A base table and a newer one that replaces three documents and retires one of them
    (its records are there, not counted), as a reader sees two segments."""
    records = index_records(coaching_documents(tmp_path_factory.mktemp("docs")), HashingEmbedder())
    hits = [ChunkHit(r.id, r.metadata["doc_id"], r.text, r.metadata, 0.0) for r in records]
    vectors = np.asarray([r.embedding for r in records], dtype=np.float32)
    replaced = sorted({hit.doc_id for hit in hits})[:3]
    base = RecordTable.build(hits, vectors)
    newer_hits = [hit for hit in hits if hit.doc_id in replaced]
    newer = RecordTable.build(newer_hits, vectors[[hits.index(h) for h in newer_hits]])
    retired = replaced[0]
    counted = np.concatenate(
        [
            np.asarray([d not in replaced for d in base.doc_ids]),
            np.asarray([d != retired for d in newer.doc_ids]),
        ]
    )
    return [base, newer], counted, joined([base.items, newer.items], bool), replaced


def test_a_documents_rows_are_the_rows_that_count_in_table_order(
    two_segments: tuple[list[RecordTable], np.ndarray, np.ndarray, list[str]],
) -> None:
    tables, counted, items, replaced = two_segments
    offsets = np.cumsum([0, *(len(t) for t in tables)], dtype=np.intp)
    rows = DocumentRows(tables, offsets, counted, items)
    doc_of = [doc for table in tables for doc in table.doc_ids]
    documents = sorted(set(doc_of))
    assert set(rows.code) == set(documents) - {replaced[0]}  # a retired document has no rows
    for doc_id in documents:
        wanted = [row for row, doc in enumerate(doc_of) if doc == doc_id and counted[row]]
        chunks, its_items = rows.rows(doc_id)
        assert chunks.tolist() == [row for row in wanted if not items[row]], doc_id
        assert its_items.tolist() == [row for row in wanted if items[row]], doc_id
        assert all(row >= len(tables[0]) for row in wanted) == (doc_id in replaced)
        assert (rows.of_row[wanted] == rows.code.get(doc_id, -1)).all()
    assert (rows.of_row[~counted] == -1).all()
    assert [part.tolist() for part in rows.rows("not-indexed")] == [[], []]

    # many documents at once, in any order, repeated: the same rows, one after the other
    numbers = np.asarray([rows.code[d] for d in reversed(list(rows.code))] + [0], dtype=np.intp)
    ids = {number: doc_id for doc_id, number in rows.code.items()}
    for gather, part in ((rows.chunks, 0), (rows.items, 1)):
        together, lengths = gather(numbers)
        one_by_one = [rows.rows(ids[int(number)])[part] for number in numbers]
        assert lengths.tolist() == [len(each) for each in one_by_one]
        assert together.tolist() == [row for each in one_by_one for row in each.tolist()]
    assert [len(part) for part in rows.chunks(np.zeros(0, dtype=np.intp))] == [0, 0]


def test_the_best_value_per_document() -> None:
    values = np.asarray([0.1, 0.5, 0.3, -0.2, 0.9], dtype=np.float32)
    lengths = np.asarray([2, 0, 1, 2, 0], dtype=np.intp)
    best = best_per_document(values, lengths)
    assert best == [pytest.approx(0.5), None, pytest.approx(0.3), pytest.approx(0.9), None]
    assert best_per_document(np.zeros(0, dtype=np.float32), np.zeros(3, dtype=np.intp)) == [
        None,
        None,
        None,
    ]
