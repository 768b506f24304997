"""Choosing the didactic questions that fit a situation, by its content and the phase it needs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from coach.ingest.didactics import DidacticQuestion, Didactics
from coach.retrieve.language import WORD, terms

# Phases a coaching answer should always touch when nothing in the situation points elsewhere:
# with grounding, look for options and plan a step; without, frame the problem and find whom
# to ask.
_GROUNDED_DEFAULT_PHASES = ("analysis", "action")
_UNGROUNDED_PHASES = ("situation", "options")
_BECAUSE = {"nl": "Je noemt '{signal}'. ", "en": "You mention '{signal}'. "}


@dataclass(frozen=True)
class ChosenQuestion:
    question: DidacticQuestion
    text: str
    why: str


def choose_questions(
    didactics: Didactics, situation: str, language: str, grounded: bool, limit: int = 4
) -> list[ChosenQuestion]:
    """3-4 questions when grounded (at most one per phase, best-matching first, shown in the
    order of the learning cycle; never more than `limit`); 2 when the corpus has nothing
    (frame it, find whom to ask)."""
    least = min(3, limit)
    stems = set(terms(situation, language))
    matched = {
        question.id: _matches(question, situation, stems, language)
        for question in didactics.questions
    }

    def score(question: DidacticQuestion) -> int:
        return len(matched[question.id])

    best_per_phase: dict[str, DidacticQuestion] = {}
    for question in didactics.questions:  # file order breaks ties: L&D decides the default
        current = best_per_phase.get(question.phase)
        if current is None or score(question) > score(current):
            best_per_phase[question.phase] = question

    if grounded:
        ranked = sorted(best_per_phase.values(), key=lambda q: -score(q))
        chosen = [question for question in ranked if score(question) > 0][:limit]
        for phase in _GROUNDED_DEFAULT_PHASES:
            default = best_per_phase.get(phase)
            if len(chosen) < least and default is not None and default not in chosen:
                chosen.append(default)
        for question in ranked:  # a corpus without those phases still gets three
            if len(chosen) >= least:
                break
            if question not in chosen:
                chosen.append(question)
    else:
        chosen = [best_per_phase[p] for p in _UNGROUNDED_PHASES if p in best_per_phase]
        if not chosen:
            chosen = list(didactics.questions[:2])

    order = {phase: index for index, phase in enumerate(didactics.phases)}
    chosen.sort(key=lambda question: order.get(question.phase, len(order)))
    return [_render(question, language, matched[question.id]) for question in chosen]


def _matches(
    question: DidacticQuestion, situation: str, stems: set[str], language: str
) -> list[str]:
    """For each of the question's signals that occurs in the situation (as a phrase of whole
    words, so that "moe" is not found in "moet", or by word stems), what the situation itself
    says: the phrase as written, or the first word that carries one of the signal's stems
    ("gefrustreerd" for "frustratie"; "weet" for "wie weet", whose "wie" is a stop word). The
    reason quotes it, so it never quotes words the professional did not write. `stems`: the
    situation's."""
    found = []
    for signal in question.signals.get(language, ()):
        pattern, signal_stems = _signal(signal, language)
        phrase = pattern.search(situation)
        if phrase:
            found.append(phrase.group(0))
        elif signal_stems and signal_stems <= stems:
            found.append(_carrying(situation, signal_stems, language) or signal)
    return found


@lru_cache(maxsize=4096)
def _signal(signal: str, language: str) -> tuple[re.Pattern[str], frozenset[str]]:
    """A signal as a phrase of whole words (any case), and its stems: made once per signal,
    not per situation (a request matched about 120 signals)."""
    pattern = re.compile(rf"(?<!\w){re.escape(signal)}(?!\w)", re.IGNORECASE)
    return pattern, frozenset(terms(signal, language))


def _carrying(situation: str, stems: frozenset[str], language: str) -> str | None:
    """The situation's first word (as written) whose stem is one of `stems` (None when
    lowercasing split a word differently, which no Dutch or English word does)."""
    for word in WORD.findall(situation):
        if set(terms(word, language)) & stems:
            return str(word)
    return None


def _render(question: DidacticQuestion, language: str, matched: list[str]) -> ChosenQuestion:
    why = question.why[language]
    if matched:
        why = _BECAUSE[language].format(signal=matched[0]) + why
    return ChosenQuestion(question=question, text=question.text[language], why=why)
