"""The offline generator: suggestions extracted from the retrieved documents, each cited.

Lessons learned give their "what worked" and "lesson" items; procedures give the steps that
bear on the situation. Deterministic: the same retrieval always gives the same suggestions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from coach.generation import GenerationRequest, GenerationResult, SourceDocument
from coach.language import terms
from coach.result import Kind, Suggestion

# Section headings (lower case) whose items are advice, per document type.
_LESSON_SECTIONS = ("les", "lessen", "lesson", "lessons", "wat werkte", "what worked")
_PROCEDURE_SECTIONS = (
    "stappen",
    "steps",
    "werkwijze",
    "procedure",
    "aandachtspunten",
    "points of attention",
)
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_SKILL_WORDS = re.compile(
    r"\b(oefen\w*|train\w*|cursus\w*|leer\w*|vaardig\w*|practi[cs]e\w*|learn\w*|skill\w*|"
    r"coach\w*|role[- ]?play\w*|rollenspel\w*)",
    re.IGNORECASE,
)
_INNOVATE_WORDS = re.compile(
    r"\b(pilot\w*|experiment\w*|proef\w*|nieuw\w*|new|introduc\w*|ingevoerd|invoer\w*|"
    r"automati\w*|dashboard\w*|template\w*|sjabloon\w*)",
    re.IGNORECASE,
)
_TITLES = {
    "nl": {
        "lesson": "Les uit '{title}'",
        "procedure": "Procedure '{title}', stap {step}",
        "procedure_any": "Procedure '{title}'",
        "consult": "Vraag het {owner}",
    },
    "en": {
        "lesson": "Lesson from '{title}'",
        "procedure": "Procedure '{title}', step {step}",
        "procedure_any": "Procedure '{title}'",
        "consult": "Ask {owner}",
    },
}
_CONSULT = {
    "nl": (
        "Bespreek je situatie met {owner}: die is eigenaar van '{title}' en kent de praktijk "
        "erachter."
    ),
    "en": (
        "Talk your situation through with {owner}, who owns '{title}' and knows the practice "
        "behind it."
    ),
}
_OTHER_LANGUAGE_NOTE = {
    "nl": "Sommige bronnen zijn in het Engels; hun stappen staan er zoals ze geschreven zijn.",
    "en": "Some sources are in Dutch; their steps are quoted as written.",
}
MAX_SUGGESTIONS = 6
_PER_DOCUMENT = 2


@dataclass(frozen=True)
class _Candidate:
    doc: SourceDocument
    rank: int
    text: str
    step: int | None
    overlap: float
    priority: int  # 0: the lesson's "Les" / the procedure's steps; 1: "what worked", notes


class ExtractiveComposer:
    """The offline default: no model, no network."""

    name = "extractive"

    def generate(self, request: GenerationRequest) -> GenerationResult:
        situation_terms = set(terms(request.situation, request.language))
        per_document = [
            sorted(
                _candidates(doc, rank, situation_terms),
                key=lambda c: (c.priority, -c.overlap, c.step or 0),
            )
            for rank, doc in enumerate(request.documents)
        ]
        # Round robin over the documents, best document first: each relevant document gets its
        # best item before any gets a second one.
        chosen: list[_Candidate] = []
        seen_terms: list[set[str]] = []
        for _round in range(_PER_DOCUMENT):
            for candidates in per_document:
                for candidate in candidates:
                    if len(chosen) >= MAX_SUGGESTIONS - 1:
                        break
                    if candidate in chosen:
                        continue
                    item_terms = set(terms(candidate.text, candidate.doc.language))
                    if any(_similar(item_terms, other) for other in seen_terms):
                        continue  # the same advice, from a near-duplicate document
                    seen_terms.append(item_terms)
                    chosen.append(candidate)
                    break
        suggestions = [_suggestion(c, request.language) for c in chosen]
        consult = _consult(request)
        if consult is not None:
            suggestions.append(consult)
        notes = []
        if any(c.doc.language != request.language for c in chosen):
            notes.append(_OTHER_LANGUAGE_NOTE[request.language])
        return GenerationResult(suggestions=suggestions, notes=notes)


_FIRST_CHOICE = ("les", "lessen", "lesson", "lessons", "stappen", "steps")


def _candidates(doc: SourceDocument, rank: int, situation_terms: set[str]) -> list[_Candidate]:
    wanted = _LESSON_SECTIONS if doc.type == "lesson" else _PROCEDURE_SECTIONS
    result: list[_Candidate] = []
    for heading, text in doc.sections:
        section = heading.lower().strip()
        if section not in wanted:
            continue
        priority = 0 if section in _FIRST_CHOICE else 1
        is_step = doc.type == "procedure" and section in ("stappen", "steps")
        for step, line in enumerate(_items(text), start=1):
            item_terms = set(terms(line, doc.language))
            shared = sum(1 for term in item_terms if _shares_stem(term, situation_terms))
            overlap = shared / (len(item_terms) ** 0.5 or 1.0)
            result.append(_Candidate(doc, rank, line, step if is_step else None, overlap, priority))
    return result


def _shares_stem(term: str, situation_terms: set[str]) -> bool:
    """Equal stems, or (for Dutch compounds) one stem of 5+ letters starting the other:
    `terugbel` matches `terugbelverzoek`."""
    if term in situation_terms:
        return True
    return len(term) >= 5 and any(
        len(other) >= 5 and (term.startswith(other) or other.startswith(term))
        for other in situation_terms
    )


def _items(text: str) -> list[str]:
    """List items of a section (or its sentences when it has no list), without repeats."""
    lines = [match.group(1).strip() for line in text.splitlines() if (match := _ITEM.match(line))]
    if not lines:
        lines = [
            part.strip() for part in re.split(r"(?<=[.!?])\s+", text) if len(part.strip()) > 20
        ]
    unique: list[str] = []
    for line in lines:
        if line and line not in unique:
            unique.append(line)
    return unique


def _similar(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= 0.6


def _kind(doc: SourceDocument, text: str) -> Kind:
    if _SKILL_WORDS.search(text):
        return "skill"
    if doc.type == "lesson" and _INNOVATE_WORDS.search(text):
        return "innovate"
    return "improve"


def _suggestion(candidate: _Candidate, language: str) -> Suggestion:
    titles = _TITLES[language]
    doc = candidate.doc
    if doc.type == "lesson":
        title = titles["lesson"].format(title=doc.title)
    elif candidate.step is not None:
        title = titles["procedure"].format(title=doc.title, step=candidate.step)
    else:
        title = titles["procedure_any"].format(title=doc.title)
    return Suggestion(
        title=title,
        action=candidate.text,
        kind=_kind(doc, candidate.text),
        citations=[doc.id],
    )


def _consult(request: GenerationRequest) -> Suggestion | None:
    for doc in request.documents[:3]:
        if doc.owner:
            return Suggestion(
                title=_TITLES[request.language]["consult"].format(owner=doc.owner),
                action=_CONSULT[request.language].format(owner=doc.owner, title=doc.title),
                kind="consult",
                citations=[doc.id],
            )
    return None


def sections_of(chunks: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Merge consecutive chunks of one section (a long section is split in several chunks)."""
    merged: list[tuple[str, str]] = []
    for heading, text in chunks:
        if merged and merged[-1][0] == heading:
            merged[-1] = (heading, merged[-1][1] + "\n" + text)
        else:
            merged.append((heading, text))
    return merged
