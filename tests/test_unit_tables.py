"""Record tables (`coach.index.tables`) and BM25 over them (`coach.retrieve.lexical`): a table
survives its files, a join keeps exactly the rows asked for, and BM25 over several tables with
replaced records scores as bm25s does over the records that count, one index built afresh."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
import pytest

from coach.index.records import ChunkHit
from coach.index.tables import RecordTable, chunk_terms, is_item
from coach.retrieve import lexical
from coach.retrieve.lexical import LexicalIndex
from coach.testing import HashingEmbedder, index_records
from tests.coaching_corpus import coaching_documents

EMBEDDER = HashingEmbedder()
QUERIES = [
    ("Klanten bellen steeds opnieuw over dezelfde storing", "nl"),
    ("monteur werkbon onderdeel boeken", "nl"),
    ("the customer keeps calling about the same fault", "en"),
    ("storing storing terugbellen", "nl"),  # a repeated term counts twice, as in bm25s
    ("zonnepanelen omvormer", "nl"),  # in no record
]


@pytest.fixture(scope="module")
def hits_and_vectors(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[ChunkHit], np.ndarray]:
    records = index_records(coaching_documents(tmp_path_factory.mktemp("tables")), EMBEDDER)
    hits = [ChunkHit(r.id, r.metadata["doc_id"], r.text, r.metadata, 0.0) for r in records]
    return hits, np.asarray([r.embedding for r in records], dtype=np.float32)


def bm25s_scores(hits: list[ChunkHit], query: str, language: str) -> dict[str, float]:
    """What bm25s itself gives each chunk, indexed afresh over exactly these chunks."""
    from coach.retrieve.language import terms

    index = bm25s.BM25()
    index.index([chunk_terms(hit) for hit in hits], show_progress=False)
    vocabulary = set(index.vocab_dict)
    kept = [term for term in terms(query, language) if term in vocabulary]
    if not kept:
        return {}
    scores = index.get_scores(kept)
    return {hit.id: float(score) for hit, score in zip(hits, scores, strict=True) if score > 0}


def lexical_scores(
    index: LexicalIndex, rows: list[ChunkHit], query: str, language: str
) -> dict[str, float]:
    return {rows[hit.position].id: hit.score for hit in index.search(query, language, k=10_000)}


def test_a_table_survives_its_files(
    hits_and_vectors: tuple[list[ChunkHit], np.ndarray], tmp_path: Path
) -> None:
    hits, vectors = hits_and_vectors
    table = RecordTable.build(hits, vectors)
    assert table.items.sum() == sum(is_item(hit.metadata) for hit in hits) > 0
    assert np.allclose(np.linalg.norm(table.vectors, axis=1), 1.0, atol=1e-5)
    rows, block = table.chunk_block
    assert list(rows) == list(range(len(rows))) and np.shares_memory(block, table.vectors)
    assert not table.items[rows].any() and table.items[len(rows) :].all()
    assert RecordTable.load(tmp_path) is None  # no table there
    table.save(tmp_path)
    loaded = RecordTable.load(tmp_path)
    assert loaded is not None
    assert loaded.ids == table.ids and loaded.metadatas == table.metadatas
    assert np.array_equal(loaded.vectors, table.vectors)
    assert (loaded.counts != table.counts).nnz == 0 and loaded.vocabulary == table.vocabulary
    assert np.array_equal(loaded.lengths, table.lengths)
    mapped = RecordTable.load(tmp_path, vectors=False)
    assert mapped is not None and np.array_equal(np.asarray(mapped.vectors), table.vectors)


def test_a_join_keeps_the_rows_asked_for_with_their_terms(
    hits_and_vectors: tuple[list[ChunkHit], np.ndarray],
) -> None:
    hits, vectors = hits_and_vectors
    half = len(hits) // 2
    first, second = (
        RecordTable.build(hits[:half], vectors[:half]),
        RecordTable.build(hits[half:], vectors[half:]),
    )
    rng = np.random.default_rng(7)
    keep = [rng.random(len(first)) < 0.5, rng.random(len(second)) < 0.5]
    joined = RecordTable.join([(first, keep[0]), (second, keep[1])])
    first_rows, second_rows = np.flatnonzero(keep[0]), np.flatnonzero(keep[1])
    wanted = [first.hit(int(i)) for i in first_rows] + [second.hit(int(i)) for i in second_rows]
    wanted_vectors = np.concatenate([first.vectors[first_rows], second.vectors[second_rows]])
    chunks_first = sorted(wanted, key=lambda hit: is_item(hit.metadata))
    assert joined.ids == [hit.id for hit in chunks_first]  # chunks first, each table in turn
    alone = RecordTable.build(wanted, wanted_vectors)
    assert alone.ids == joined.ids
    assert np.allclose(joined.vectors, alone.vectors, atol=1e-6)
    for row in range(len(joined)):  # the same terms per record, whatever the column order
        own = {joined.vocabulary[c]: v for c, v in _row(joined, row)}
        again = {alone.vocabulary[c]: v for c, v in _row(alone, row)}
        assert own == again
    assert set(joined.vocabulary) == set(alone.vocabulary)  # terms only dropped rows had go


def _row(table: RecordTable, row: int) -> list[tuple[int, float]]:
    found = table.counts.tocsr()[[row], :].tocoo()
    return list(zip(found.col.tolist(), found.data.tolist(), strict=True))


@pytest.mark.parametrize("kept", [lexical.POSTINGS_KEPT, 40])
def test_bm25_over_tables_scores_as_bm25s_over_the_records_that_count(
    hits_and_vectors: tuple[list[ChunkHit], np.ndarray], kept: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each query is asked twice: the second time from the contributions the index kept (or,
    with room for 40 postings only, from those it gathered again after dropping them)."""
    monkeypatch.setattr(lexical, "POSTINGS_KEPT", kept)
    hits, vectors = hits_and_vectors
    chunks = [hit for hit in hits if not is_item(hit.metadata)]
    # Two tables, as two segments: the second replaces three documents of the first.
    replaced = sorted({hit.doc_id for hit in chunks})[:3]
    base = RecordTable.build(hits, vectors)
    newer = RecordTable.build([hit for hit in hits if hit.doc_id in replaced], None)
    counted = np.concatenate(
        [
            np.asarray([d not in replaced for d in base.doc_ids]) & ~base.items,
            ~newer.items,
        ]
    )
    index = LexicalIndex([base, newer], counted)
    rows = [base.hit(i) for i in range(len(base))] + [newer.hit(i) for i in range(len(newer))]
    visible = [row for row, count in zip(rows, counted, strict=True) if count]
    assert len(index) == len(visible) == len(chunks)
    for query, language in QUERIES + QUERIES:
        ours = lexical_scores(index, rows, query, language)
        theirs = bm25s_scores(visible, query, language)
        assert ours.keys() == theirs.keys(), query
        for chunk_id, score in theirs.items():
            assert ours[chunk_id] == pytest.approx(score, rel=1e-5), (query, chunk_id)
    positions = index.search(QUERIES[0][0], "nl", k=10_000)
    assert all(counted[hit.position] for hit in positions)  # a replaced version never scores
    assert any(rows[hit.position].doc_id in replaced for hit in positions)  # its newer one does


def test_bm25_marks_must_fit_the_tables(
    hits_and_vectors: tuple[list[ChunkHit], np.ndarray],
) -> None:
    hits, vectors = hits_and_vectors
    with pytest.raises(ValueError, match="rows marked"):
        LexicalIndex([RecordTable.build(hits, vectors)], np.ones(3, dtype=bool))
