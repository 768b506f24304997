"""What a search returns: the documents found, with the evidence they are ranked by, and how
they are ranked (`rank`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from coach.index.records import ChunkHit, ChunkMetadata
from coach.retrieve.fusion import Fusion, Mode


@dataclass
class DocumentHit:
    """One retrieved document: its metadata and best chunks (best first)."""

    doc_id: str
    metadata: ChunkMetadata
    score: float = 0.0
    similarity: float | None = None  # cosine of its best chunk to the query (dense)
    lexical_score: float | None = None  # BM25 of its best chunk
    lexical_share: float = 0.0  # the lexical evidence fusion used, 0..1
    chunks: list[ChunkHit] = field(default_factory=list)
    # Its advice items with their cosine to the query, best first (empty when the index has no
    # item vectors in memory: the composer then ranks items by shared terms).
    items: list[tuple[ChunkHit, float]] = field(default_factory=list)

    best_item: float | None = None  # the cosine of its best advice item, when measured

    @property
    def item_similarity(self) -> float | None:
        return self.items[0][1] if self.items else self.best_item

    @property
    def language(self) -> str:
        return str(self.metadata.get("language", ""))


@dataclass(frozen=True)
class Retrieval:
    language: str
    documents: list[DocumentHit]
    # The best dense cosine over all candidates (0.0 when none); None when no dense search ran.
    top_similarity: float | None
    mode: Mode = "hybrid"  # what the documents' scores are: hybrid, a cosine, or BM25 share


def rank(fusion: Fusion, documents: list[DocumentHit], mode: Mode, language: str) -> None:
    """Score each candidate document of a search in `language` for `mode` (hybrid: by
    `fusion`; dense: its best chunk cosine; lexical: its BM25 share)."""
    if mode == "dense":
        for document in documents:
            document.score = document.similarity or 0.0
        return
    same = [d.lexical_score or 0.0 for d in documents if d.language in ("", language)]
    best_lexical = max(same, default=0.0) or 1.0
    if mode == "lexical":
        for document in documents:
            document.score = (document.lexical_score or 0.0) / best_lexical
        return
    same_language = [d for d in documents if d.language in ("", language)]
    for document in same_language:
        document.lexical_share = (document.lexical_score or 0.0) / best_lexical
    # A document in the other language gets the lexical share of its standing: ranked
    # among the same-language documents by meaning (chunk and item cosine, which do not
    # depend on the language), it gets the share that ranks there. Neither a penalty for
    # its language nor more than a same-language document of its standing earns.
    shares = sorted((d.lexical_share for d in same_language), reverse=True)
    meanings = [fusion.meaning(*_cosines(d)) for d in same_language]
    for document in documents:
        similarity, item = _cosines(document)
        if document.language not in ("", language):
            meaning = fusion.meaning(similarity, item)
            standing = sum(1 for other in meanings if other > meaning)
            document.lexical_share = shares[standing] if standing < len(shares) else 0.0
        document.score = fusion.score(similarity, item, document.lexical_share)


def _cosines(document: DocumentHit) -> tuple[float, float]:
    """A document's best chunk cosine and best item cosine (its chunk's, when it has no item)."""
    similarity = document.similarity or 0.0
    item = document.item_similarity
    return similarity, similarity if item is None else item
