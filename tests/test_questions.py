"""Choosing the didactic questions for a situation (no model: the sample corpus questions)."""

from __future__ import annotations

from pathlib import Path

from coach.generate.questions import choose_questions
from coach.ingest.didactics import load_didactics

DIDACTICS = load_didactics(Path(__file__).resolve().parents[1] / "corpus" / "didactics.yaml")


def test_a_signal_word_is_matched_whole_and_named_in_why() -> None:
    tired = choose_questions(DIDACTICS, "Ik ben zo moe van al die storingen.", "nl", True)
    assert any(q.why.startswith("Je noemt 'moe'.") for q in tired)


def test_a_signal_inside_another_word_is_not_a_match() -> None:
    # "moe" is in "moet", and "druk" in "afdrukken": neither says anything about energy.
    situation = "Wat moet ik doen als de printer het afdrukken van de werkbon weigert?"
    chosen = choose_questions(DIDACTICS, situation, "nl", True)
    assert not any("'moe'" in q.why or "'druk'" in q.why for q in chosen)
    assert 1 <= len(chosen) <= 4
