"""The offline generator: suggestions extracted from the documents the engine chose, each cited.

Lessons learned give their "lesson" and "what worked" items, procedures their steps and points
of attention (coach.ingest.advice); of those, the items whose own embedding fits the situation best.
Deterministic: the same retrieval always gives the same suggestions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coach.generate.protocol import GenerationRequest, GenerationResult, SourceDocument
from coach.ingest.advice import PROSE, AdviceItem, advice_items
from coach.result import Kind, Suggestion
from coach.retrieve.language import terms

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
# At most this many content suggestions (and one colleague to consult): the best document gives
# up to three items, a further one up to two.
MAX_SUGGESTIONS = 4
_PER_DOCUMENT = (3, 2)
# An item is offered when its own cosine to the situation is within this of its document's best
# item: the items that fit, not every item of a fitting document (chosen on the sample suite).
ITEM_MARGIN = 0.08
# The lesson itself and a procedure's steps come before "what worked" (often told in the past
# tense) at equal fit: a second-choice item needs this much more cosine.
PRIORITY_STEP = 0.03


@dataclass(frozen=True)
class _Candidate:
    doc: SourceDocument
    item: AdviceItem


class ExtractiveComposer:
    """The offline default: no model, no network."""

    name = "extractive"

    def generate(self, request: GenerationRequest) -> GenerationResult:
        situation_terms = set(terms(request.situation, request.language))
        chosen: list[_Candidate] = []
        seen_terms: list[set[str]] = []
        for rank, doc in enumerate(request.documents):
            taken = 0
            limit = _PER_DOCUMENT[min(rank, len(_PER_DOCUMENT) - 1)]
            for item in fitting_items(doc, situation_terms):
                if taken >= limit or len(chosen) >= MAX_SUGGESTIONS:
                    break
                item_terms = set(terms(item.text, doc.language))
                if any(_similar(item_terms, other) for other in seen_terms):
                    continue  # the same advice, from a near-duplicate document
                seen_terms.append(item_terms)
                chosen.append(_Candidate(doc, item))
                taken += 1
        suggestions = [_suggestion(c, request.language) for c in chosen]
        consult = _consult(request)
        if consult is not None:
            suggestions.append(consult)
        notes = []
        if any(c.doc.language != request.language for c in chosen):
            notes.append(_OTHER_LANGUAGE_NOTE[request.language])
        return GenerationResult(suggestions=suggestions, notes=notes)


def fitting_items(doc: SourceDocument, situation_terms: set[str]) -> list[AdviceItem]:
    """A document's advice items that fit the situation, best first. Listed advice comes before
    prose (often narrative); with item vectors, an item's own cosine decides and items far
    below the best are left out; without them (a very large index), shared terms decide."""
    items = list(doc.items) or advice_items(doc.type, doc.sections)
    advice = [item for item in items if item.priority != PROSE] or items
    if advice and all(item.similarity is not None for item in advice):

        def fit(item: AdviceItem) -> float:
            return (item.similarity or 0.0) - PRIORITY_STEP * item.priority

        ranked = sorted(advice, key=lambda item: -fit(item))
        best = fit(ranked[0])
        fitting = [item for item in ranked if fit(item) >= best - ITEM_MARGIN]
        return sorted(fitting, key=lambda item: (item.priority, -fit(item)))

    def overlap(item: AdviceItem) -> float:
        item_terms = set(terms(item.text, doc.language))
        shared = sum(1 for term in item_terms if _shares_stem(term, situation_terms))
        return shared / (len(item_terms) ** 0.5 or 1.0)

    return sorted(advice, key=lambda item: (item.priority, -overlap(item), item.step or 0))


def _shares_stem(term: str, situation_terms: set[str]) -> bool:
    """Equal stems, or (for Dutch compounds) one stem of 5+ letters starting the other:
    `terugbel` matches `terugbelverzoek`."""
    if term in situation_terms:
        return True
    return len(term) >= 5 and any(
        len(other) >= 5 and (term.startswith(other) or other.startswith(term))
        for other in situation_terms
    )


def _similar(a: set[str], b: set[str]) -> bool:
    """The same advice: most terms shared, or one item's terms (nearly) all in the other's."""
    if not a or not b:
        return False
    shared = len(a & b)
    return shared / len(a | b) >= 0.6 or shared / min(len(a), len(b)) >= 0.9


def _kind(doc: SourceDocument, text: str) -> Kind:
    if _SKILL_WORDS.search(text):
        return "skill"
    if doc.type == "lesson" and _INNOVATE_WORDS.search(text):
        return "innovate"
    return "improve"


def _suggestion(candidate: _Candidate, language: str) -> Suggestion:
    titles = _TITLES[language]
    doc, item = candidate.doc, candidate.item
    if doc.type == "lesson":
        title = titles["lesson"].format(title=doc.title)
    elif item.step is not None:
        title = titles["procedure"].format(title=doc.title, step=item.step)
    else:
        title = titles["procedure_any"].format(title=doc.title)
    return Suggestion(
        title=title,
        action=item.text,
        kind=_kind(doc, item.text),
        citations=[doc.id],
    )


def _consult(request: GenerationRequest) -> Suggestion | None:
    for doc in request.documents[:2]:
        if doc.owner:
            return Suggestion(
                title=_TITLES[request.language]["consult"].format(owner=doc.owner),
                action=_CONSULT[request.language].format(owner=doc.owner, title=doc.title),
                kind="consult",
                citations=[doc.id],
            )
    return None
