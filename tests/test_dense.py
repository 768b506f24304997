"""Dense scoring in memory (`coach.retrieve.dense`): exact up to a size, then in two passes
that find the exact nearest chunks; a reload keeps what the tables it shares already have."""

from __future__ import annotations

from typing import cast

import numpy as np
import pytest
from numpy.typing import NDArray

from coach.index.records import ChunkHit, ChunkMetadata
from coach.index.tables import RecordTable
from coach.ingest.advice import ITEM_RECORD
from coach.retrieve.dense import REDUCED, DenseIndex

DIMENSION = 256  # more than REDUCED, as every embedder's
RANK = 48  # the vectors vary mostly in this many directions, as real embeddings do


def unit(matrix: NDArray[np.float64]) -> NDArray[np.float32]:
    units: NDArray[np.float32] = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(
        np.float32
    )
    return units


def structured(
    rng: np.random.Generator, rows: int, directions: NDArray[np.float64]
) -> NDArray[np.float32]:
    """Unit vectors mostly in the span of `directions`, with a little noise in every other."""
    weights = rng.normal(size=(rows, len(directions))) * np.linspace(3.0, 0.5, len(directions))
    return unit(weights @ directions + 0.15 * rng.normal(size=(rows, DIMENSION)))


def table_of(vectors: NDArray[np.float32], name: str, items: int = 0) -> RecordTable:
    """A table of these vectors: chunks, and the last `items` of them advice items."""
    hits = []
    for row in range(len(vectors)):
        metadata = cast(ChunkMetadata, {"doc_id": f"{name}-{row // 4}", "language": "en"})
        if row >= len(vectors) - items:
            metadata["record"] = ITEM_RECORD
        hits.append(ChunkHit(f"{name}-{row}", str(metadata["doc_id"]), "tekst", metadata, 0.0))
    return RecordTable.build(hits, vectors)


def offsets_of(tables: list[RecordTable]) -> NDArray[np.intp]:
    return np.cumsum([0, *(len(table) for table in tables)], dtype=np.intp)


@pytest.fixture(scope="module")
def directions() -> NDArray[np.float64]:
    rng = np.random.default_rng(7)
    return np.linalg.qr(rng.normal(size=(DIMENSION, RANK)))[0].T


def exact_nearest(vectors: NDArray[np.float32], query: NDArray[np.float32], n: int) -> set[int]:
    return set(np.argsort(-(vectors @ query), kind="stable")[:n].tolist())


def test_a_large_index_is_scored_in_two_passes_that_find_the_exact_nearest(
    directions: NDArray[np.float64],
) -> None:
    rng = np.random.default_rng(1)
    first, second = structured(rng, 2_500, directions), structured(rng, 1_500, directions)
    tables = [table_of(first, "a", items=100), table_of(second, "b")]
    offsets = offsets_of(tables)
    index = DenseIndex(tables, offsets, two_pass_from=3_000)
    assert index.two_pass
    small = DenseIndex(tables, offsets, two_pass_from=10_000)
    assert not small.two_pass
    chunks = np.concatenate([first[:2_400], second])
    rows = np.concatenate([np.arange(2_400), np.arange(1_500) + offsets[1]])
    allowed = np.ones(int(offsets[-1]), dtype=bool)
    allowed[2_400:2_500] = False  # the advice items
    found = 0
    for query in structured(rng, 50, directions):
        scores, scored = index.scores(query, allowed)
        assert len(scored) <= 800 and np.isfinite(scores[scored]).all()
        assert not np.isfinite(np.delete(scores, scored)).any()  # the rest is unscored
        exact_scores = chunks[np.searchsorted(rows, scored)] @ query
        np.testing.assert_allclose(scores[scored], exact_scores, rtol=1e-5, atol=1e-6)
        best = scored[np.argsort(-scores[scored], kind="stable")[:40]]
        nearest = rows[sorted(exact_nearest(chunks, query, 40))]
        found += len(set(best.tolist()) & set(nearest.tolist()))
        exact, every = small.scores(query, allowed)
        np.testing.assert_array_equal(np.sort(every), rows)  # every chunk, no advice item
        np.testing.assert_allclose(exact[rows], chunks @ query, rtol=1e-5, atol=1e-6)
    assert found / (50 * 40) >= 0.97


def test_a_filter_keeps_the_shortlist_to_the_rows_it_allows(
    directions: NDArray[np.float64],
) -> None:
    rng = np.random.default_rng(2)
    vectors = structured(rng, 3_000, directions)
    tables = [table_of(vectors, "a")]
    index = DenseIndex(tables, offsets_of(tables), two_pass_from=1_000)
    allowed = np.zeros(3_000, dtype=bool)
    allowed[::10] = True
    query = structured(rng, 1, directions)[0]
    _, scored = index.scores(query, allowed)
    assert allowed[scored].all()
    assert len(scored) == 300  # fewer allowed than the shortlist holds: all of them


def test_a_reload_keeps_the_basis_and_the_shared_tables_reduced_vectors(
    directions: NDArray[np.float64],
) -> None:
    rng = np.random.default_rng(3)
    base = table_of(structured(rng, 3_000, directions), "base")
    before = DenseIndex([base], offsets_of([base]), two_pass_from=1_000)
    saved = table_of(structured(rng, 8, directions), "saved")
    after = DenseIndex([base, saved], offsets_of([base, saved]), before, two_pass_from=1_000)
    assert after._basis is before._basis
    assert after._reduced[id(base)][1] is before._reduced[id(base)][1]
    assert after._reduced[id(saved)][1].shape == (8, REDUCED)
    # a merged index shares no table: its basis is computed afresh, from its own vectors
    merged = table_of(np.concatenate([base.vectors, saved.vectors]), "merged")
    again = DenseIndex([merged], offsets_of([merged]), after, two_pass_from=1_000)
    assert again._basis is not after._basis


def test_measure_scores_exactly_the_rows_asked_for(directions: NDArray[np.float64]) -> None:
    rng = np.random.default_rng(4)
    tables = [table_of(structured(rng, 40, directions), name, items=8) for name in "ab"]
    offsets = offsets_of(tables)
    index = DenseIndex(tables, offsets)
    query = structured(rng, 1, directions)[0]
    scores = np.full(int(offsets[-1]), -np.inf, dtype=np.float32)
    rows = np.array([3, 39, 40 + 35, 40 + 39])  # chunks and items of both tables
    index.measure(scores, rows, query)
    vectors = np.concatenate([table.vectors for table in tables])
    np.testing.assert_allclose(scores[rows], vectors[rows] @ query, rtol=1e-5, atol=1e-6)
    assert np.isinf(np.delete(scores, rows)).all()
