"""Which didactic questions a situation gets (corpus/didactics.yaml; no model)."""

from __future__ import annotations

from pathlib import Path

from coach.generate.questions import ChosenQuestion, choose_questions
from coach.ingest.didactics import load_didactics

DIDACTICS = load_didactics(Path(__file__).resolve().parents[1] / "corpus" / "didactics.yaml")
NO_SIGNAL = "Vandaag regent het."  # matches no question's signals


def ids(chosen: list[ChosenQuestion]) -> list[str]:
    return [c.question.id for c in chosen]


def test_the_sample_questions_cover_the_six_phases_in_order() -> None:
    # What the expectations below rest on: the phases and the first question of each.
    assert DIDACTICS.phases == (
        "situation",
        "reflection",
        "analysis",
        "options",
        "action",
        "sharing",
    )
    first: dict[str, str] = {}
    for question in DIDACTICS.questions:
        first.setdefault(question.phase, question.id)
    assert first["situation"] == "dq-doel" and first["analysis"] == "dq-kern-aanname"
    assert first["options"] == "dq-alternatieven" and first["action"] == "dq-experiment-deze-week"


def test_grounded_without_signals_gets_analysis_action_and_the_first_other_phase() -> None:
    # Nothing matches: the defaults (analysis, action), topped up to three with the first
    # phase in file order (situation), each phase's first question, in learning-cycle order.
    chosen = choose_questions(DIDACTICS, NO_SIGNAL, "nl", grounded=True)
    assert ids(chosen) == ["dq-doel", "dq-kern-aanname", "dq-experiment-deze-week"]
    assert not any(c.why.startswith("Je noemt") for c in chosen)


def test_ungrounded_gets_two_questions_to_frame_it_and_find_whom_to_ask() -> None:
    assert ids(choose_questions(DIDACTICS, NO_SIGNAL, "nl", grounded=False)) == [
        "dq-doel",
        "dq-alternatieven",
    ]
    # Signals choose within those two phases: "advies" is a situation signal of the second
    # situation question, "collega", "ervaren" and "vragen" of the second options question.
    chosen = choose_questions(
        DIDACTICS, "Ik wil een ervaren collega om advies vragen.", "nl", grounded=False
    )
    assert ids(chosen) == ["dq-feiten-eerst", "dq-collega-bron"]
    assert chosen[0].why.startswith("Je noemt 'advies'. ")
    assert chosen[1].why.startswith("Je noemt 'collega'. ")


def test_grounded_takes_at_most_four_phases_the_best_matching_first() -> None:
    situation = (
        "Ik ben moe, want de procedure gaat steeds weer mis; ik wil iets nieuws proberen en de "
        "les delen met een collega."
    )
    # Matches per question: les-delen 3 (delen, les, collega's by stem), collega-bron 2
    # (collega, procedure), and 1 each for bedoeling-vs-gebeurd (procedure), gevoel-energie
    # (moe), kern-aanname (steeds weer), regel (procedure) and experiment (proberen). Per phase
    # the first best wins (reflection: bedoeling-vs-gebeurd), then the four best phases, ties
    # in phase order: sharing, options, reflection, analysis; action is the fifth.
    chosen = choose_questions(DIDACTICS, situation, "nl", grounded=True)
    assert ids(chosen) == [
        "dq-bedoeling-vs-gebeurd",
        "dq-kern-aanname",
        "dq-collega-bron",
        "dq-les-delen",
    ]
    phases = [c.question.phase for c in chosen]
    assert phases == sorted(phases, key=DIDACTICS.phases.index)


def test_questions_and_reasons_speak_the_situation_language() -> None:
    chosen = choose_questions(
        DIDACTICS, "I am so tired of these outages.", "en", grounded=True, limit=4
    )
    by_id = {c.question.id: c for c in chosen}
    energy = by_id["dq-gevoel-energie"]
    assert energy.text == energy.question.text["en"]
    assert energy.why == "You mention 'tired'. " + energy.question.why["en"]
    assert all(c.text == c.question.text["en"] for c in chosen)


def test_a_limit_below_three_is_respected_when_grounded() -> None:
    for limit in (1, 2):
        for situation in (NO_SIGNAL, "Ik wil iets nieuws proberen en de les delen."):
            assert len(choose_questions(DIDACTICS, situation, "nl", True, limit=limit)) == limit


def test_a_reason_quotes_what_the_situation_says_not_the_signal() -> None:
    """Signals found by stem are quoted as the professional wrote them: "gefrustreerd" (the
    signal is "frustratie"), "weet" (the signal "wie weet" keeps only "weet": "wie" is a stop
    word); a phrase keeps its capitals."""
    situation = "Ik raak Gefrustreerd en weet niet hoe we dit beter regelen, Steeds Weer."
    chosen = {c.question.id: c for c in choose_questions(DIDACTICS, situation, "nl", True)}
    assert chosen["dq-gevoel-energie"].why.startswith("Je noemt 'Gefrustreerd'. ")
    assert chosen["dq-collega-bron"].why.startswith("Je noemt 'weet'. ")
    assert chosen["dq-kern-aanname"].why.startswith("Je noemt 'Steeds Weer'. ")
    quoted = [c.why.split("'")[1] for c in chosen.values() if c.why.startswith("Je noemt")]
    assert quoted and all(quote in situation for quote in quoted)
