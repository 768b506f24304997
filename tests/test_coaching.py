"""The coach end to end with the offline composer: grounded answers cite what was retrieved;
a situation the corpus does not cover comes back ungrounded; questions fit the situation."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.engine import Coach
from coach.errors import InvalidRequestError
from coach.index.embedders import Embedder
from coach.result import CoachingResult
from coach.retrieve.filters import Filters
from tests.coaching_corpus import indexed_coach, write_coaching_corpus
from tests.conftest import CorpusBuilder


@pytest.fixture
def coach(corpus: CorpusBuilder, multilingual: Embedder, tmp_path: Path) -> Coach:
    write_coaching_corpus(corpus)
    return indexed_coach(corpus, multilingual, tmp_path / "index")


CALLBACKS = (
    "Klanten bellen ons drie keer over dezelfde storing omdat niemand ze terugbelt. "
    "Ik raak gefrustreerd en weet niet hoe we dit beter kunnen regelen."
)


def test_grounded_answer_cites_only_retrieved_sources(coach: Coach) -> None:
    result = coach.ask(CALLBACKS)
    assert result.grounded and result.language == "nl"
    assert result.sources[0].id == "les-terugbellen-klanten"
    source_ids = {source.id for source in result.sources}
    assert result.suggestions
    for suggestion in result.suggestions:
        assert suggestion.citations and set(suggestion.citations) <= source_ids
    # The lesson's own advice is there, cited to the lesson.
    actions = {s.action: s.citations for s in result.suggestions}
    assert any("Topdesk" in action for action in actions)
    assert result.generator == "extractive"
    # The owner of a cited lesson is offered as a colleague to consult.
    owners = {colleague.owner for colleague in result.colleagues}
    assert "Ahmed Benali, servicedeskmedewerker" in owners
    assert any(s.kind == "consult" for s in result.suggestions)


def test_result_round_trips_through_the_schema(coach: Coach) -> None:
    result = coach.ask(CALLBACKS)
    again = CoachingResult.model_validate_json(result.model_dump_json())
    assert again == result
    assert set(result.timings_ms.model_dump()) == {"retrieval", "generation", "total"}
    assert result.timings_ms.total >= result.timings_ms.retrieval


def test_the_composer_is_deterministic(coach: Coach) -> None:
    first, second = coach.ask(CALLBACKS), coach.ask(CALLBACKS)
    assert first.suggestions == second.suggestions and first.sources == second.sources


def test_didactic_questions_fit_and_speak_the_situation_language(coach: Coach) -> None:
    dutch = coach.ask(CALLBACKS)
    assert 3 <= len(dutch.didactic_questions) <= 4
    ids = [question.id for question in dutch.didactic_questions]
    assert "dq-gevoel-energie" in ids  # "gefrustreerd" is a signal of that question
    assert all(question.why for question in dutch.didactic_questions)
    english = coach.ask("After installing heat pumps our customers say the house stays cold")
    assert english.language == "en"
    texts = [question.text for question in english.didactic_questions]
    assert all(" je " not in f" {text} " for text in texts)
    assert english.sources[0].id == "les-heat-pump-curve"


def test_a_situation_the_corpus_does_not_cover_is_ungrounded(coach: Coach) -> None:
    result = coach.ask("Mijn hypotheekrente gaat omhoog en ik twijfel of ik moet oversluiten.")
    assert not result.grounded
    assert result.suggestions == [] and result.sources == []
    assert result.notes and "niets" in result.notes[0]
    assert 1 <= len(result.didactic_questions) <= 2


def test_filters_reach_the_sources(coach: Coach) -> None:
    result = coach.ask(CALLBACKS, filters=Filters(type="lesson", team="Servicedesk"))
    assert result.sources and {source.type for source in result.sources} == {"lesson"}
    assert {source.team for source in result.sources} == {"Servicedesk"}


@pytest.mark.parametrize(
    ("situation", "k", "message"),
    [
        ("   ", 5, "empty"),
        ("x" * 4001, 5, "4000"),
        ("Een situatie", 0, "between 1 and 20"),
    ],
)
def test_bad_requests_say_what_to_fix(coach: Coach, situation: str, k: int, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        coach.ask(situation, k=k)


def test_an_answer_suggests_only_from_what_fits_and_lists_related_reading_apart(
    coach: Coach,
) -> None:
    result = coach.ask(CALLBACKS)
    cited = {c for s in result.suggestions for c in s.citations}
    assert cited == {"les-terugbellen-klanten"} == {s.id for s in result.sources}
    # The expense claim procedure has nothing to do with call-backs: not suggested from.
    assert "proc-expense-claims" not in cited
    assert not {s.id for s in result.related} & cited
    # The lesson's advice, as clean text: no Markdown markers reach the reader.
    actions = [s.action for s in result.suggestions]
    assert "Elk terugbelverzoek als taak in Topdesk zetten met een deadline van 2 uur." in actions
    assert not any(marker in action for action in actions for marker in ("**", "__", "`"))
    # Narrative ("what happened") is never offered as advice.
    assert not any("briefjes" in action for action in actions)


def test_a_document_in_the_other_language_is_not_pushed_down_for_its_language(
    coach: Coach,
) -> None:
    dutch = "Na het plaatsen van een warmtepomp klagen klanten dat het huis koud blijft."
    result = coach.ask(dutch)
    assert result.language == "nl" and result.grounded
    assert result.sources[0].id == "les-heat-pump-curve" and result.sources[0].language == "en"
    assert any("heating curve" in s.action for s in result.suggestions)


def test_a_document_that_bears_on_it_less_is_related_reading_not_a_source(coach: Coach) -> None:
    mixed = (
        "Klanten bellen over een storing en willen teruggebeld worden; "
        "hoe registreer ik de melding?"
    )
    result = coach.ask(mixed)
    assert [s.id for s in result.sources] == ["proc-storing-melden"]
    assert "les-terugbellen-klanten" in [s.id for s in result.related]
    assert {c for s in result.suggestions for c in s.citations} == {"proc-storing-melden"}
