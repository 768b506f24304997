"""The coach: retrieval, the grounding decision, didactic questions and generation, in one call."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from coach.errors import InvalidRequestError
from coach.generate.protocol import GenerationRequest, Generator, SourceDocument
from coach.generate.questions import choose_questions
from coach.index.embedders import Embedder, calibration_for
from coach.index.records import ChunkHit
from coach.ingest.advice import AdviceItem, sections_of
from coach.ingest.didactics import Didactics
from coach.result import (
    MAX_SITUATION_CHARS,
    CoachingResult,
    Colleague,
    DidacticQuestionOut,
    Source,
    Timings,
)
from coach.retrieve.filters import Filters
from coach.retrieve.fusion import Mode
from coach.retrieve.results import DocumentHit, Retrieval
from coach.retrieve.retriever import Retriever
from coach.vocabulary import DOC_TYPES, LANGUAGES

MAX_K = 20
SNIPPET_CHARS = 280


MAX_SUGGESTED_DOCUMENTS = 2
MAX_RELATED = 3

_UNGROUNDED = {
    "nl": (
        "De documenten van de organisatie zeggen niets over deze situatie, dus de coach geeft "
        "hier geen suggesties. Gebruik de vragen hieronder om het knelpunt scherp te krijgen, "
        "en vraag L&D of een ervaren collega wie je hierbij kan helpen."
    ),
    "en": (
        "The organisation's documents say nothing about this situation, so the coach gives no "
        "suggestions here. Use the questions below to frame the bottleneck, and ask L&D or an "
        "experienced colleague who can help you with it."
    ),
}


def validate_request(situation: str, filters: Filters, k: int) -> str:
    """The situation, stripped; or an error that says what to change."""
    text = situation.strip()
    if not text:
        raise InvalidRequestError("the situation is empty: describe what happens in your work")
    if len(text) > MAX_SITUATION_CHARS:
        raise InvalidRequestError(
            f"the situation has {len(text)} characters; shorten it to at most {MAX_SITUATION_CHARS}"
        )
    if not 1 <= k <= MAX_K:
        raise InvalidRequestError(f"k must be between 1 and {MAX_K}, not {k}")
    if filters.type and filters.type not in DOC_TYPES:
        raise InvalidRequestError(
            f"unknown document type {filters.type!r}; use one of {', '.join(DOC_TYPES)}"
        )
    if filters.language and filters.language not in LANGUAGES:
        raise InvalidRequestError(
            f"unknown language {filters.language!r}; use one of {', '.join(LANGUAGES)}"
        )
    return text


@dataclass(frozen=True)
class Answer:
    """A coaching result with the retrieval ranking behind it (evaluations score both)."""

    result: CoachingResult
    ranking: list[str]  # document ids as retrieved, best first
    # What the generator cited before citations of documents it was not given were dropped.
    proposed_citations: list[str] = field(default_factory=list)


class Coach:
    """Answers one work situation with grounded suggestions and didactic questions."""

    def __init__(
        self,
        retriever: Retriever,
        didactics: Didactics,
        generator: Generator,
        grounding_threshold: float | None = None,
        grounding_score: float | None = None,
    ) -> None:
        self.retriever = retriever
        self.didactics = didactics
        self.generator = generator
        self.calibration = calibration_for(
            retriever.embedder.name, grounding_threshold, grounding_score
        )

    @property
    def grounding_threshold(self) -> float:
        return self.calibration.similarity

    # What callers need from the retriever, so nobody reaches through the coach.
    @property
    def embedder(self) -> Embedder:
        """The embedder the coach searches with (an indexer beside it must use the same)."""
        return self.retriever.embedder

    @property
    def mode(self) -> Mode:
        """How `search` and `ask` retrieve by default (evaluations compare the modes)."""
        return self.retriever.mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        self.retriever.mode = mode

    def search(self, query: str, filters: Filters | None = None, k: int = 5) -> Retrieval:
        """The documents that best fit `query`, without generating anything."""
        return self.retriever.search(query, filters=filters, k=k)

    def document_chunks(self, doc_ids: Iterable[str]) -> dict[str, list[ChunkHit]]:
        """Every indexed chunk of these documents (evaluations score contexts with them)."""
        return self.retriever.document_chunks(doc_ids)

    def ready(self) -> None:
        """Open the index and load the model now (or raise the error that says why the index
        cannot be opened)."""
        self.retriever.ready()

    def describe(self) -> dict[str, Any]:
        """The configuration behind the answers, for reports."""
        return {
            "embedder": self.retriever.embedder.name,
            "fusion": vars(self.retriever.fusion),
            "calibration": vars(self.calibration),
            "generator": self.generator.name,
        }

    def close(self) -> None:
        self.retriever.close()

    def ask(
        self,
        situation: str,
        filters: Filters | None = None,
        k: int = 5,
        progress: Callable[[str], None] | None = None,
    ) -> CoachingResult:
        """Coach one situation. `progress`, when given, hears each stage as it starts:
        "retrieval", "generation", "questions"."""
        return self.answer(situation, filters, k, progress).result

    def answer(
        self,
        situation: str,
        filters: Filters | None = None,
        k: int = 5,
        progress: Callable[[str], None] | None = None,
    ) -> Answer:
        """`ask`, with the retrieval ranking that the result's sources were chosen from."""
        filters = filters or Filters()
        text = validate_request(situation, filters, k)
        report = progress or (lambda stage: None)
        started = time.perf_counter()
        report("retrieval")
        language = self.retriever.language_of(text)
        retrieval = self.retriever.search(text, filters=filters, k=k, language=language)
        grounded = self._grounded(retrieval)
        retrieved = time.perf_counter()

        report("generation")
        notes: list[str] = []
        documents, related = self._decide(retrieval.documents) if grounded else ([], [])
        suggestions = []
        proposed: list[str] = []
        generator = self.generator.name
        if grounded:
            full = self.retriever.document_chunks(doc.doc_id for doc in documents)
            request = GenerationRequest(
                situation=text,
                language=language,
                documents=tuple(
                    _source_document(doc, full.get(doc.doc_id, [])) for doc in documents
                ),
            )
            generation = self.generator.generate(request)
            suggestions = generation.suggestions
            proposed = generation.proposed()
            notes.extend(generation.notes)
            generator = generation.generator
        else:
            notes.append(_UNGROUNDED[language])
        generated = time.perf_counter()

        report("questions")
        questions = choose_questions(self.didactics, text, language, grounded)
        result = CoachingResult(
            situation=text,
            language="en" if language == "en" else "nl",
            grounded=grounded,
            suggestions=suggestions,
            didactic_questions=[
                DidacticQuestionOut(id=q.question.id, text=q.text, why=q.why) for q in questions
            ],
            colleagues=_colleagues(documents),
            sources=[source_of(doc) for doc in documents],
            related=[source_of(doc) for doc in related],
            generator=generator,
            notes=notes,
            timings_ms=Timings(
                retrieval=round((retrieved - started) * 1000, 2),
                generation=round((generated - retrieved) * 1000, 2),
                total=round((time.perf_counter() - started) * 1000, 2),
            ),
        )
        return Answer(result, [doc.doc_id for doc in retrieval.documents], proposed)

    def _grounded(self, retrieval: Retrieval) -> bool:
        """Whether the corpus bears on the situation at all. A BM25-only search (compared in
        evaluations) has no calibrated score, so any lexical hit counts as grounding there."""
        if not retrieval.documents:
            return False
        top = retrieval.top_similarity
        if top is None:
            return True
        if retrieval.mode != "hybrid":  # dense only (compared in evaluations): the cosine alone
            return top >= self.calibration.similarity
        best = retrieval.documents[0].score
        return top >= self.calibration.similarity and best >= self.calibration.score

    def _decide(self, ranked: list[DocumentHit]) -> tuple[list[DocumentHit], list[DocumentHit]]:
        """The documents to suggest from, and those to list apart as related reading."""
        if ranked[0].similarity is None:  # BM25 only: no comparable score, the best one alone
            return ranked[:1], ranked[1 : 1 + MAX_RELATED]
        best = ranked[0].score
        suggest = [ranked[0]]
        related: list[DocumentHit] = []
        for document in ranked[1:]:
            gap = best - document.score
            if gap <= self.calibration.suggest_gap and len(suggest) < MAX_SUGGESTED_DOCUMENTS:
                suggest.append(document)
            elif gap <= self.calibration.related_gap and len(related) < MAX_RELATED:
                related.append(document)
        return suggest, related


def _source_document(doc: DocumentHit, chunks: list[ChunkHit]) -> SourceDocument:
    parts = [
        (str(chunk.metadata.get("heading_path", "")).split(" > ")[-1], chunk.text)
        for chunk in (chunks or doc.chunks)
    ]
    items = tuple(
        AdviceItem(
            text=hit.text,
            section=str(hit.metadata.get("heading_path", "")),
            step=int(hit.metadata.get("item_step", 0)) or None,
            priority=int(hit.metadata.get("item_priority", 0)),
            similarity=similarity,
        )
        for hit, similarity in doc.items
    )
    return SourceDocument(**_described(doc), sections=tuple(sections_of(parts)), items=items)


def _described(doc: DocumentHit) -> dict[str, Any]:
    """The fields a source and a generator's document share, from the chunk metadata."""
    meta = doc.metadata
    return {
        "id": doc.doc_id,
        "title": str(meta.get("title", doc.doc_id)),
        "type": str(meta.get("type", "")),
        "language": str(meta.get("language", "")),
        "team": _optional(meta.get("team")),
        "owner": _optional(meta.get("owner")),
    }


def source_of(doc: DocumentHit) -> Source:
    meta = doc.metadata
    snippet = " ".join(doc.chunks[0].text.split()) if doc.chunks else ""
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return Source(
        **_described(doc),
        path=str(meta.get("path", "")),
        score=round(doc.score, 4),
        snippet=snippet,
    )


def _colleagues(documents: list[DocumentHit]) -> list[Colleague]:
    owners: dict[str, list[str]] = {}
    for doc in documents:
        owner = _optional(doc.metadata.get("owner"))
        if owner:
            owners.setdefault(owner, []).append(doc.doc_id)
    return [Colleague(owner=owner, documents=ids) for owner, ids in owners.items()]


def _optional(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
