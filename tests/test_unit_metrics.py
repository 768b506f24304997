"""The retrieval metrics on small rankings whose values are worked out by hand."""

from __future__ import annotations

import math

import pytest

from coach.evals.metrics import hit_at, mean, ndcg_at, precision_counts, ratio, reciprocal_rank


def test_hit_at_looks_only_at_the_first_k() -> None:
    ranked = ["a", "b", "c"]
    assert hit_at(ranked, ["b", "z"], 2) == 1.0
    assert hit_at(ranked, ["c"], 2) == 0.0
    assert hit_at(ranked, ["c"], 10) == 1.0  # k beyond the ranking is the whole ranking
    assert hit_at(ranked, ["a"], 0) == 0.0
    assert hit_at(ranked, [], 3) == 0.0  # nothing relevant: nothing to hit
    assert hit_at([], ["a"], 3) == 0.0


def test_reciprocal_rank_is_one_over_the_first_relevant_position() -> None:
    ranked = ["x", "y", "a", "b"]
    assert reciprocal_rank(ranked, ["a", "b"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, ["b", "a"]) == pytest.approx(1 / 3)  # order of references
    assert reciprocal_rank(ranked, ["x"]) == 1.0
    assert reciprocal_rank(ranked, []) == 0.0
    assert reciprocal_rank([], ["a"]) == 0.0


def test_ndcg_uses_graded_gains_and_the_log_discount() -> None:
    # Two references: "a" has gain 2 (first), "b" gain 1. Ideal DCG = 2/log2(2) + 1/log2(3).
    ideal = 2.0 + 1.0 / math.log2(3)
    assert ndcg_at(["a", "b"], ["a", "b"], 5) == pytest.approx(1.0)
    # Swapped: 1/log2(2) + 2/log2(3).
    assert ndcg_at(["b", "a"], ["a", "b"], 5) == pytest.approx((1.0 + 2.0 / math.log2(3)) / ideal)
    # Only "a", found second behind a miss: 2/log2(3).
    assert ndcg_at(["x", "a"], ["a", "b"], 5) == pytest.approx((2.0 / math.log2(3)) / ideal)
    # k cuts the ranking before "a", and the ideal to one document: 0 of 2.
    assert ndcg_at(["x", "a"], ["a", "b"], 1) == 0.0
    # With k = 1 the ideal is the best gain alone, so "b" first earns 1 of 2.
    assert ndcg_at(["b"], ["a", "b"], 1) == pytest.approx(0.5)
    # A single reference found at rank 3: 1/log2(4) = 0.5.
    assert ndcg_at(["x", "y", "a"], ["a"], 5) == pytest.approx(0.5)


def test_ndcg_without_references_is_zero_not_a_division_error() -> None:
    assert ndcg_at(["a", "b"], [], 5) == 0.0
    assert ndcg_at([], ["a"], 5) == 0.0


def test_precision_counts_items_and_those_citing_a_relevant_id() -> None:
    cited = [["a", "a"], [], ["b", "x"], ["x"]]
    # An item with no citation is still an item, and a repeated citation counts it once.
    assert precision_counts(cited, ["a", "b"]) == (4, 2)
    assert precision_counts(cited, []) == (4, 0)


def test_ratio_and_mean() -> None:
    assert ratio(3, 4) == 0.75
    assert ratio(0, 5) == 0.0  # measured, and zero
    assert ratio(5, 0) is None  # nothing to measure
    assert mean([1.0, 2.0, 4.0]) == pytest.approx(7 / 3)
    assert mean([]) == 0.0
