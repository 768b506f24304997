"""What the learned ranker sees of each candidate document of a search: the evidence the first
stage measured (chunk and item cosines, BM25 in the situation's language), where each ranks
among the candidates and how far it is from the best, and what the situation shares with the
document's title and tags; with the situation's length, the document's type and whether it is
in the situation's language. One row per candidate, columns in `FEATURES` order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from coach.retrieve.language import terms
from coach.retrieve.results import DocumentHit

FEATURES: tuple[str, ...] = (
    "chunk_cosine",
    "item_cosine",
    "lexical_share",  # BM25 over the best same-language candidate's; 0 in the other language
    "chunk_rank",
    "item_rank",
    "lexical_rank",
    "chunk_gap",  # best chunk cosine among the candidates minus this one's
    "item_gap",
    "lexical_gap",
    "meaning_rank",  # rank by the two cosines together
    "title_overlap",  # share of the situation's terms in the title (same language only)
    "tag_overlap",
    "same_language",
    "is_lesson",
    "situation_words",
    "candidates",
    "first_rank",  # where the first stage put it (the candidates come in its order)
    "first_gap",  # the first stage's best score minus this one's
)


def _ranks(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """0 for the highest value, 1 for the next (ties share the better rank)."""
    order = np.sort(values)[::-1]
    return np.searchsorted(-order, -values, side="left").astype(np.float64)


def _item_cosine(document: DocumentHit) -> float:
    item = document.item_similarity
    return item if item is not None else (document.similarity or 0.0)


def candidate_features(
    situation: str, language: str, documents: Sequence[DocumentHit]
) -> NDArray[np.float64]:
    """The feature rows of `documents` (a search's candidates) for `situation` in `language`."""
    count = len(documents)
    if not count:
        return np.zeros((0, len(FEATURES)))
    chunk = np.array([d.similarity or 0.0 for d in documents])
    item = np.array(
        [
            d.item_similarity if d.item_similarity is not None else (d.similarity or 0.0)
            for d in documents
        ]
    )
    same = np.array([d.language in ("", language) for d in documents], dtype=np.float64)
    bm25 = np.array([d.lexical_score or 0.0 for d in documents]) * same
    best = bm25.max() or 1.0
    share = bm25 / best
    wanted = set(terms(situation, language))
    title, tags = np.zeros(count), np.zeros(count)
    if wanted:
        for number, document in enumerate(documents):
            if not same[number]:
                continue
            title_terms = set(terms(str(document.metadata.get("title", "")), language))
            tag_terms = set(
                terms(str(document.metadata.get("tags", "")).replace(",", " "), language)
            )
            title[number] = len(wanted & title_terms) / len(wanted)
            tags[number] = len(wanted & tag_terms) / len(wanted)
    lesson = np.array([document.metadata.get("type") == "lesson" for document in documents])
    columns = (
        chunk,
        item,
        share,
        _ranks(chunk),
        _ranks(item),
        _ranks(share),
        chunk.max() - chunk,
        item.max() - item,
        1.0 - share,
        _ranks(chunk + item),
        title,
        tags,
        same,
        lesson.astype(np.float64),
        np.full(count, float(len(situation.split()))),
        np.full(count, float(count)),
        np.arange(count, dtype=np.float64),
        max(d.score for d in documents) - np.array([d.score for d in documents]),
    )
    return np.column_stack(columns)
