"""Retrieval metrics over ranked document ids (shared by the benchmarks and `coach eval`)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def hit_at(ranked: Sequence[str], relevant: Sequence[str], k: int) -> float:
    """1.0 when any relevant id is among the first `k`."""
    return 1.0 if set(ranked[:k]) & set(relevant) else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: Sequence[str]) -> float:
    """1 / rank of the first relevant id (0.0 when none is retrieved)."""
    wanted = set(relevant)
    for position, doc_id in enumerate(ranked, start=1):
        if doc_id in wanted:
            return 1.0 / position
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: Sequence[str], k: int) -> float:
    """nDCG@k with graded relevance: the first reference id counts most."""
    gains = {doc_id: len(relevant) - i for i, doc_id in enumerate(relevant)}
    dcg = sum(
        gains.get(doc_id, 0) / math.log2(position + 1)
        for position, doc_id in enumerate(ranked[:k], start=1)
    )
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(gain / math.log2(position + 1) for position, gain in enumerate(ideal, start=1))
    return dcg / idcg if idcg else 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def precision_counts(cited: Sequence[Sequence[str]], relevant: Sequence[str]) -> tuple[int, int]:
    """(items, items that cite at least one relevant id): for suggestion precision, each item
    is one suggestion's citations; for answer precision, each item is one document."""
    wanted = set(relevant)
    return len(cited), sum(1 for citations in cited if wanted & set(citations))


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None (not measured) when there is nothing to divide."""
    return numerator / denominator if denominator else None
