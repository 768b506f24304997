"""Test doubles: a whole coach in memory, with no model, no Chroma and no server.

- `HashingEmbedder`: deterministic vectors from hashed words and character trigrams, so texts
  that share words have a high cosine (it knows no language: a translation shares little);
- `InMemoryStore`: a `SearchableStore` built from documents with the indexer's own records
  (chunks and advice items, with the same metadata), searched with numpy;
- `FixedGenerator`: fixed suggestions citing the first document it is given, optionally
  proposing a citation of a document it was not given, or failing;
- `memory_coach`: a `Coach` over documents, wired from these, with a fixed calibration;
- `document`: a valid corpus document made in code.

Nothing here is used in production; it lives in the package so that tests of any layer (and of
code built on this library) can use it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.calibration import Calibration
from coach.engine import Coach
from coach.generate.extractive import ExtractiveComposer
from coach.generate.protocol import (
    GenerationError,
    GenerationRequest,
    GenerationResult,
    Generator,
)
from coach.index.embedders import Embedder
from coach.index.indexer import Indexer
from coach.index.records import ChunkHit, ChunkRecord, ManifestEntry, StoreLocation
from coach.index.tables import RecordTable
from coach.ingest.corpus import Document, content_hash
from coach.ingest.didactics import Didactics
from coach.result import Kind, Suggestion
from coach.retrieve.fusion import Fusion
from coach.retrieve.retriever import Retriever
from coach.vocabulary import DocType, Language, Status

# What a retriever over an in-memory store names as its location (nothing is opened there).
MEMORY_LOCATION = StoreLocation(collection="in-memory")

_TOKEN = re.compile(r"[^\W_]+|[^\w\s]", re.UNICODE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class HashingEmbedder:
    """Deterministic embeddings with no model: each lowercased word adds ±1 to one hashed
    dimension, and each of its character trigrams (with word boundaries) a smaller weight to
    another; the vector is L2-normalised. Texts sharing words, or word stems, get a high
    cosine; unrelated texts a low one (hash collisions aside). Queries and passages are
    embedded alike. Words of one or two letters are left out (mostly function words)."""

    def __init__(self, dimension: int = 256, trigram_weight: float = 0.25) -> None:
        if dimension < 1:
            raise ValueError("dimension must be positive")
        self._dimension = dimension
        self._trigram_weight = trigram_weight

    @property
    def name(self) -> str:
        return "testing:hashing"

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return 256

    def tokenize(self, text: str) -> list[str]:
        """Lowercased words and punctuation marks, one token each."""
        tokens: list[str] = _TOKEN.findall(text.lower())
        return tokens

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._embed(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)

    def _embed(self, text: str) -> list[float]:
        vector = np.zeros(self._dimension, dtype=np.float64)
        for word in _WORD.findall(text.lower()):
            if len(word) < 3:
                continue
            index, sign = _bucket(word, self._dimension)
            vector[index] += sign
            padded = f"<{word}>"
            for start in range(len(padded) - 2):
                trigram = "#" + padded[start : start + 3]  # apart from a three-letter word
                index, sign = _bucket(trigram, self._dimension)
                vector[index] += sign * self._trigram_weight
        norm = float(np.linalg.norm(vector))
        if norm:
            vector /= norm
        return [float(value) for value in vector]


@lru_cache(maxsize=65536)
def _bucket(feature: str, dimension: int) -> tuple[int, float]:
    """A feature's dimension and sign, from a stable hash (Python's own `hash` changes per
    process). The sign makes collisions cancel out on average, so that texts sharing no
    feature have a cosine near 0, not one that grows with their length."""
    digest = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest())
    return (digest >> 1) % dimension, 1.0 if digest & 1 else -1.0


class _Recorder:
    """Stands in for the writable `ChunkStore` that the indexer writes to: keeps the records."""

    def __init__(self) -> None:
        self.records: list[ChunkRecord] = []
        self.entries: list[ManifestEntry] = []

    def write_chunks(self, records: Sequence[ChunkRecord]) -> None:
        self.records.extend(records)

    def commit(self, entries: Sequence[ManifestEntry]) -> None:
        self.entries.extend(entries)

    def drop_stale_chunks(self, doc_id: str, keep_hash: str | None) -> None:
        """Nothing older is kept here: every document is new to an in-memory store."""


def index_records(
    documents: Iterable[Document], embedder: Embedder, chunk_tokens: int = 0
) -> list[ChunkRecord]:
    """The records the indexer writes for these documents (chunks and advice items, with their
    metadata and embeddings), made by the indexer itself with a store that only records them.
    Like `Indexer.run`, documents that are not active (draft, retired) are left out."""
    indexer = Indexer(embedder, MEMORY_LOCATION, chunk_tokens)
    recorder = _Recorder()
    active = sorted((doc for doc in documents if doc.is_active), key=lambda doc: doc.id)
    # The indexer's one place that turns documents into records writes to any ChunkWriter.
    indexer.embed_and_commit(recorder, active)
    return recorder.records


class InMemoryStore:
    """A `SearchableStore` held in memory: records, their vectors, and a `where` clause
    evaluator for the subset of Chroma's that the retriever uses ($and, $or, $in, $nin, $ne,
    $eq). Set `stale` to make a retriever reopen it (and rebuild BM25)."""

    def __init__(
        self,
        hits: Sequence[ChunkHit],
        vectors: NDArray[np.float32] | Sequence[Sequence[float]],
        dimension: int | None = None,
    ) -> None:
        matrix = np.asarray(vectors, dtype=np.float32)
        if not len(hits):  # an empty index still has the embedder's width
            matrix = matrix.reshape(0, dimension or (matrix.shape[1] if matrix.ndim == 2 else 0))
        if matrix.ndim != 2 or len(matrix) != len(hits):
            raise ValueError(f"{len(hits)} records need as many vectors, not {matrix.shape}")
        self._hits = list(hits)
        self._matrix = matrix
        self.stale = False
        self.closed = 0  # how often a reader closed it

    @classmethod
    def from_records(
        cls, records: Sequence[ChunkRecord], dimension: int | None = None
    ) -> InMemoryStore:
        hits = [
            ChunkHit(record.id, record.metadata["doc_id"], record.text, record.metadata, 0.0)
            for record in records
        ]
        return cls(hits, [record.embedding for record in records], dimension)

    @classmethod
    def from_documents(
        cls, documents: Iterable[Document], embedder: Embedder, chunk_tokens: int = 0
    ) -> InMemoryStore:
        """The index `Indexer.run` would build from these documents, in memory."""
        records = index_records(documents, embedder, chunk_tokens)
        return cls.from_records(records, embedder.dimension)

    def close(self) -> None:
        self.closed += 1

    def is_stale(self) -> bool:
        return self.stale

    def chunk_count(self) -> int:
        return len(self._hits)

    def get_chunks(self, where: dict[str, Any] | None = None) -> list[ChunkHit]:
        return [hit for hit in self._hits if matches(where, hit.metadata)]

    def snapshot(self) -> tuple[list[ChunkHit], NDArray[np.float32]]:
        return list(self._hits), self._matrix.copy()

    def tables(self, vectors: bool = True) -> list[tuple[RecordTable, NDArray[np.bool_]]]:
        table = RecordTable.build(self._hits, self._matrix if vectors else None)
        return [(table, np.ones(len(table), dtype=bool))]

    def query(
        self, embedding: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[ChunkHit]:
        """Nearest first by cosine distance, like Chroma's cosine space; active documents only."""
        if not self._hits:
            return []
        vector = np.asarray(embedding, dtype=np.float32)
        norms = np.linalg.norm(self._matrix, axis=1) * (float(np.linalg.norm(vector)) or 1.0)
        cosines = (self._matrix @ vector) / np.where(norms == 0, 1.0, norms)
        rows = [
            int(row)
            for row in np.argsort(-cosines, kind="stable")
            if matches(where, self._hits[int(row)].metadata)
        ][:k]
        found = [replace(self._hits[row], distance=1.0 - float(cosines[row])) for row in rows]
        return [hit for hit in found if hit.metadata.get("status") == "active"]


def matches(where: dict[str, Any] | None, metadata: Mapping[str, object]) -> bool:
    """Whether `metadata` satisfies a Chroma `where` clause (None: everything does)."""
    if not where:
        return True
    for key, condition in where.items():
        if key == "$and":
            if not all(matches(part, metadata) for part in condition):
                return False
        elif key == "$or":
            if not any(matches(part, metadata) for part in condition):
                return False
        elif not _satisfies(metadata.get(key), condition):
            return False
    return True


def _satisfies(value: Any, condition: Any) -> bool:
    if not isinstance(condition, dict):
        return bool(value == condition)
    for operator, operand in condition.items():
        if operator == "$eq":
            ok = value == operand
        elif operator == "$ne":
            ok = value != operand
        elif operator == "$in":
            ok = value in operand
        elif operator == "$nin":
            ok = value not in operand
        else:
            raise ValueError(f"InMemoryStore does not evaluate {operator!r}")
        if not ok:
            return False
    return True


@dataclass
class FixedGenerator:
    """A `Generator` that writes no text of its own. It returns `suggestions` when given, or
    else one suggestion citing the first document of the request (none when there is none).
    With `unknown_citation`, that citation is proposed too and dropped, as a checked LLM answer
    would be: it is in `proposed_citations`, not in the suggestions. With `error`, it raises
    `GenerationError(error)` instead. Every request is kept in `requests`."""

    suggestions: Sequence[Suggestion] | None = None
    unknown_citation: str | None = None
    error: str | None = None
    kind: Kind = "improve"
    label: str = "testing:fixed"
    requests: list[GenerationRequest] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.label

    def generate(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        if self.error is not None:
            raise GenerationError(self.error)
        if self.suggestions is not None:
            suggestions = [suggestion.model_copy() for suggestion in self.suggestions]
        elif request.documents:
            first = request.documents[0]
            suggestions = [
                Suggestion(
                    title=f"Follow '{first.title}'",
                    action=f"Do what '{first.title}' says about this situation.",
                    kind=self.kind,
                    citations=[first.id],
                )
            ]
        else:
            suggestions = []
        proposed = [citation for suggestion in suggestions for citation in suggestion.citations]
        if self.unknown_citation is not None:
            proposed.append(self.unknown_citation)
        return GenerationResult(suggestions, [], self.name, proposed_citations=proposed)


# Thresholds on the hashing embedder's own cosine scale (it has no calibrated ones), read off
# the tests' small coaching corpus: situations it covers reach a best cosine of 0.43 or more
# and a best score of 1.1 or more; two it does not cover (a neighbour's fence) at most 0.25
# and 0.65.
HASHING_CALIBRATION = Calibration(similarity=0.3, score=0.9)


def document(
    doc_id: str,
    body: str,
    *,
    title: str | None = None,
    type_: DocType = "procedure",
    language: Language = "nl",
    team: str | None = None,
    owner: str | None = None,
    status: Status = "active",
) -> Document:
    """A valid corpus document made in code, as if read from `docs/<doc_id>.md`."""
    path = f"docs/{doc_id}.md"
    title = title or doc_id.replace("-", " ").capitalize()
    version = f"{doc_id}|{title}|{type_}|{language}|{team}|{owner}|{status}\n{body}"
    return Document(
        id=doc_id,
        title=title,
        type=type_,
        language=language,
        body=body.strip(),
        team=team,
        owner=owner,
        status=status,
        path=path,
        content_hash=content_hash(version.encode("utf-8"), path),
    )


def memory_coach(
    documents: Iterable[Document],
    *,
    didactics: Didactics | None = None,
    generator: Generator | None = None,
    embedder: Embedder | None = None,
    fusion: Fusion | None = None,
    calibration: Calibration = HASHING_CALIBRATION,
) -> Coach:
    """A `Coach` over `documents`, entirely in memory: the hashing embedder (unless another is
    given), an `InMemoryStore` built as the indexer builds an index, the offline composer
    (unless another generator is given) and no didactic questions unless `didactics` is given."""
    embedder = embedder or HashingEmbedder()
    store = InMemoryStore.from_documents(documents, embedder)
    retriever = Retriever(embedder, MEMORY_LOCATION, fusion, open_store=lambda: store)
    return Coach(
        retriever,
        didactics or Didactics(phases=(), questions=()),
        generator or ExtractiveComposer(),
        grounding_threshold=calibration.similarity,
        grounding_score=calibration.score,
    )
