"""Which of the corpus languages a text is in, and how to reduce it to search terms."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from coach.vocabulary import Language

DEFAULT_LANGUAGE: Language = "nl"  # the organisation's own language wins a tie
_STEMMER_NAMES = {"nl": "dutch", "en": "english"}
WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*", re.UNICODE)


@cache
def stopwords(language: str) -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN

    words = STOPWORDS_DUTCH if language == "nl" else STOPWORDS_EN
    return frozenset(word.lower() for word in words)


@cache
def _stemmer(language: str) -> Any:
    import Stemmer

    return Stemmer.Stemmer(_STEMMER_NAMES[language])


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def detect_language(text: str) -> Language:
    """nl or en, by which language's function words the text uses more (nl on a tie)."""
    return marked_language(text) or DEFAULT_LANGUAGE


def marked_language(text: str) -> Language | None:
    """nl or en when the text's function words say which; None when they tie (a one-liner
    such as "Heat pump customer cold house" has none)."""
    tokens = words(text)
    dutch = sum(token in _MARKERS["nl"] for token in tokens)
    english = sum(token in _MARKERS["en"] for token in tokens)
    if dutch == english:
        return None
    return "en" if english > dutch else "nl"


def terms(text: str, language: str) -> list[str]:
    """Search terms: words without stop words, stemmed for `language`."""
    stop = stopwords(language)
    kept = [word for word in words(text) if word not in stop and len(word) > 1]
    stems: list[str] = _stemmer(language).stemWords(kept)
    return stems


# Frequent function words that are not words in the other language.
_MARKERS = {
    "nl": frozenset(
        (
            "de",
            "het",
            "een",
            "en",
            "van",
            "ik",
            "je",
            "jij",
            "we",
            "wij",
            "ze",
            "zij",
            "niet",
            "met",
            "voor",
            "op",
            "dat",
            "die",
            "is",
            "zijn",
            "wordt",
            "worden",
            "er",
            "maar",
            "ook",
            "nog",
            "naar",
            "bij",
            "hoe",
            "wat",
            "wie",
            "waarom",
            "omdat",
            "als",
            "dan",
            "geen",
            "mijn",
            "onze",
            "ons",
            "heb",
            "hebben",
            "kan",
            "kunnen",
            "moet",
            "moeten",
            "wil",
            "zou",
            "al",
            "deze",
            "dit",
            "daar",
            "hier",
            "wel",
            "te",
            "over",
            "uit",
        )
    ),
    "en": frozenset(
        (
            "the",
            "a",
            "an",
            "and",
            "of",
            "i",
            "you",
            "we",
            "they",
            "not",
            "with",
            "for",
            "on",
            "that",
            "this",
            "is",
            "are",
            "was",
            "were",
            "be",
            "been",
            "it",
            "but",
            "also",
            "still",
            "to",
            "at",
            "how",
            "what",
            "who",
            "why",
            "because",
            "if",
            "then",
            "no",
            "my",
            "our",
            "us",
            "have",
            "has",
            "can",
            "could",
            "must",
            "should",
            "want",
            "would",
            "already",
            "these",
            "there",
            "here",
            "do",
            "does",
            "did",
            "from",
        )
    ),
}
