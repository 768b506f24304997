"""The one coaching result schema that the CLI, the API and the evaluations share."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from coach.vocabulary import DocType, Language

Kind = Literal["improve", "innovate", "skill", "consult"]
KINDS: tuple[Kind, ...] = ("improve", "innovate", "skill", "consult")
MAX_SITUATION_CHARS = 4000


class Suggestion(BaseModel):
    title: str
    action: str
    kind: Kind
    citations: list[str] = Field(min_length=1)


class DidacticQuestionOut(BaseModel):
    id: str
    text: str
    why: str


class Colleague(BaseModel):
    owner: str
    documents: list[str]


class DocumentInfo(BaseModel):
    """What a retrieved document is and who owns it: shared by an answer's sources and by the
    documents a generator is given."""

    id: str
    title: str
    type: DocType
    language: Language
    team: str | None
    owner: str | None


class Source(DocumentInfo):
    path: str
    score: float
    snippet: str


class Timings(BaseModel):
    retrieval: float
    generation: float
    total: float


class CoachingResult(BaseModel):
    situation: str
    language: Language
    grounded: bool
    suggestions: list[Suggestion]
    didactic_questions: list[DidacticQuestionOut]
    colleagues: list[Colleague]
    sources: list[Source]  # the documents the answer suggests from, best first
    # Documents that bear on it less: shown apart as further reading, never cited.
    related: list[Source] = Field(default_factory=list)
    generator: str
    notes: list[str]
    timings_ms: Timings

    @model_validator(mode="after")
    def _citations_are_sources(self) -> CoachingResult:
        known = {source.id for source in self.sources}
        for suggestion in self.suggestions:
            unknown = set(suggestion.citations) - known
            if unknown:
                raise ValueError(f"citations {sorted(unknown)} are not among the sources")
        if not self.grounded and self.suggestions:
            raise ValueError("an ungrounded result lists no suggestions")
        return self
