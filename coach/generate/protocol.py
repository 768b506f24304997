"""The generation boundary: one protocol, an offline composer and an LLM behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pydantic import ConfigDict

from coach.ingest.advice import AdviceItem
from coach.result import DocumentInfo, Suggestion
from coach.vocabulary import Language


class SourceDocument(DocumentInfo):
    """A retrieved document as a generator sees it: metadata and its text by section."""

    model_config = ConfigDict(frozen=True)

    sections: tuple[tuple[str, str], ...]  # (heading, text), in document order
    # Its advice items with their cosine to the situation, best fitting first.
    items: tuple[AdviceItem, ...] = ()

    def text(self) -> str:
        return "\n\n".join(
            f"## {heading}\n{text}" if heading else text for heading, text in self.sections
        )


@dataclass(frozen=True)
class GenerationRequest:
    situation: str
    language: Language
    # The documents that bear on the situation enough to suggest from (the engine decides),
    # best first; the only citable sources.
    documents: tuple[SourceDocument, ...]


@dataclass
class GenerationResult:
    suggestions: list[Suggestion]
    notes: list[str] = field(default_factory=list)
    generator: str = "extractive"
    # Every citation the generator proposed, before citations of documents it was not given were
    # dropped (what the citation-validity metric scores); None: exactly the suggestions' ones.
    proposed_citations: list[str] | None = None

    def proposed(self) -> list[str]:
        if self.proposed_citations is not None:
            return list(self.proposed_citations)
        return [citation for suggestion in self.suggestions for citation in suggestion.citations]


class GenerationError(Exception):
    """A generator could not produce a usable answer (a wrapper may fall back)."""


class Generator(Protocol):
    """Turns a situation and its retrieved documents into cited suggestions."""

    @property
    def name(self) -> str: ...

    def generate(self, request: GenerationRequest) -> GenerationResult: ...
