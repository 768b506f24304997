"""BM25 over the indexed chunks, each stemmed in its own language (Dutch or English)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from coach.index.records import ChunkHit
from coach.retrieve.language import terms


def lexical_text(hit: ChunkHit) -> str:
    """What BM25 sees of a chunk: its document title and heading path weigh in, as for dense."""
    meta = hit.metadata
    return f"{meta.get('title', '')}\n{meta.get('heading_path', '')}\n{hit.text}"


@dataclass(frozen=True)
class LexicalHit:
    position: int  # index into LexicalIndex.chunks
    score: float


class LexicalIndex:
    """An in-memory BM25 index, built from the store's chunks (so it never drifts from them)."""

    def __init__(
        self, chunks: Sequence[ChunkHit], known: Mapping[str, list[str]] | None = None
    ) -> None:
        """`known`: the terms of chunks an earlier index had, by chunk id (an id names one
        version of a chunk): they are not stemmed again. `terms_by_id` hands them on."""
        import bm25s

        self.chunks = list(chunks)
        known = known or {}
        corpus_tokens = [
            known.get(hit.id)
            or terms(lexical_text(hit), str(hit.metadata.get("language", "nl")))
            or ["\u2205"]
            for hit in self.chunks
        ]
        self.terms_by_id = dict(zip((hit.id for hit in self.chunks), corpus_tokens, strict=True))
        self._bm25 = bm25s.BM25()
        if self.chunks:
            self._bm25.index(corpus_tokens, show_progress=False)
        self._vocabulary: set[str] = {token for tokens in corpus_tokens for token in tokens}

    def __len__(self) -> int:
        return len(self.chunks)

    def search(
        self, query: str, language: str, k: int, mask: NDArray[np.bool_] | None = None
    ) -> list[LexicalHit]:
        """The `k` best-scoring chunks (score > 0) among those `mask` allows, best first."""
        query_terms = [term for term in terms(query, language) if term in self._vocabulary]
        if not query_terms or not self.chunks:
            return []
        scores: NDArray[np.float64] = np.asarray(
            self._bm25.get_scores(query_terms), dtype=np.float64
        )
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        top = min(k, len(scores))
        candidates = np.argpartition(-scores, top - 1)[:top]
        ordered = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [LexicalHit(int(i), float(scores[i])) for i in ordered if scores[i] > 0]
