"""Language detection by function words, and search terms (no model)."""

from __future__ import annotations

import pytest

from coach.retrieve.language import detect_language, terms, words


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Klanten bellen ons steeds opnieuw omdat niemand terugbelt.", "nl"),
        ("Customers keep calling us because nobody calls them back.", "en"),
        # No function word of either language: the organisation's own language wins.
        ("Topdesk WerkbonApp E42", "nl"),
        ("", "nl"),
        # One marker each ("de" and "the"): a tie is Dutch too.
        ("de the", "nl"),
        # Two English markers against one Dutch.
        ("de the and", "en"),
    ],
)
def test_detect_language_counts_function_words(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_capitals_and_punctuation_do_not_hide_a_marker() -> None:
    assert detect_language("THE heat pump. AND the house; IS cold!") == "en"


def test_words_keep_apostrophes_and_hyphens_inside_a_word() -> None:
    assert words("Foto's van de bus-voorraad, keer_per dag") == [
        "foto's",
        "van",
        "de",
        "bus-voorraad",
        "keer",
        "per",
        "dag",
    ]


def test_terms_drop_stop_words_and_single_letters_and_stem_per_language() -> None:
    assert terms("De klanten", "nl") == ["klant"]
    assert terms("klanten", "nl") == terms("klant", "nl")
    assert terms("The customer is calling", "en") == ["custom", "call"]
    assert terms("calls called calling", "en") == ["call"] * 3
    assert terms("a x ab", "en") == ["ab"]


def test_each_language_has_its_own_stop_words() -> None:
    # "die" is a Dutch function word but an English verb.
    assert terms("die", "nl") == []
    assert terms("die", "en") != []
