"""The whole coach in memory (coach.testing.memory_coach): retrieval, the grounding decision,
generation and questions, with no model, no Chroma and no server."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.calibration import Calibration
from coach.engine import Coach
from coach.errors import InvalidRequestError
from coach.generate.fallback import FallbackGenerator
from coach.ingest.corpus import Document, scan_corpus
from coach.ingest.didactics import Didactics, load_didactics
from coach.retrieve.filters import Filters
from coach.testing import HASHING_CALIBRATION, FixedGenerator, memory_coach
from tests.coaching_corpus import coaching_documents
from tests.conftest import DIDACTICS_SOURCE, CorpusBuilder

CALLBACKS = "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt."
HEAT_PUMP = "After we install a heat pump the customer says the house stays cold."
OUT_OF_SCOPE = "Mijn buurman maakt al weken ruzie over de schutting tussen onze tuinen."


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    return coaching_documents(tmp_path_factory.mktemp("unit-coach"))


@pytest.fixture(scope="module")
def didactics() -> Didactics:
    return load_didactics(DIDACTICS_SOURCE)


@pytest.fixture
def coach(documents: list[Document], didactics: Didactics) -> Coach:
    return memory_coach(documents, didactics=didactics)


def test_a_grounded_answer_cites_only_its_sources(coach: Coach) -> None:
    result = coach.ask(CALLBACKS)
    assert result.grounded and result.language == "nl"
    sources = [s.id for s in result.sources]
    assert sources[0] == "les-terugbellen-klanten"
    cited = {c for s in result.suggestions for c in s.citations}
    assert result.suggestions and cited <= set(sources)
    assert not cited & {s.id for s in result.related}
    # The offline composer offers the lesson's own advice, not its story.
    actions = [s.action for s in result.suggestions]
    assert "Leg elk terugbelverzoek vast in Topdesk, nooit op papier of in de mail." in actions
    assert not any("briefjes" in action for action in actions)
    assert {c.owner for c in result.colleagues} == {"Ahmed Benali, servicedeskmedewerker"}


def test_an_out_of_scope_situation_is_ungrounded_with_no_suggestions(
    documents: list[Document], didactics: Didactics
) -> None:
    generator = FixedGenerator()
    coach = memory_coach(documents, didactics=didactics, generator=generator)
    answer = coach.answer(OUT_OF_SCOPE)
    result = answer.result
    assert not result.grounded
    assert result.suggestions == [] and result.sources == [] and result.related == []
    assert generator.requests == []  # nothing to suggest from: the generator is not asked
    assert result.notes and "zeggen niets over deze situatie" in result.notes[0]
    # Frame the problem, find whom to ask: the situation and options phases.
    assert [q.id for q in result.didactic_questions] == ["dq-doel", "dq-alternatieven"]
    assert answer.ranking  # retrieval still ran; nothing in it fitted well enough


def test_grounding_needs_both_the_cosine_and_the_score(documents: list[Document]) -> None:
    # The same situation, grounded under the hashing calibration, is not under a stricter one.
    assert memory_coach(documents).ask(CALLBACKS).grounded
    strict = Calibration(similarity=0.99, score=0.0)
    assert not memory_coach(documents, calibration=strict).ask(CALLBACKS).grounded
    strict = Calibration(similarity=0.0, score=9.0)
    assert not memory_coach(documents, calibration=strict).ask(CALLBACKS).grounded


def test_the_generator_gets_the_chosen_documents_and_its_proposals_are_kept(
    documents: list[Document],
) -> None:
    generator = FixedGenerator(unknown_citation="proc-made-up")
    answer = memory_coach(documents, generator=generator).answer(HEAT_PUMP)
    (request,) = generator.requests
    assert request.language == "en" and request.situation == HEAT_PUMP
    assert [d.id for d in request.documents] == [s.id for s in answer.result.sources]
    first = request.documents[0]
    assert first.id == "les-heat-pump-curve" and first.items and first.sections
    # The suggestion cites the first source; the invented citation was proposed, not kept.
    assert [s.citations for s in answer.result.suggestions] == [["les-heat-pump-curve"]]
    assert answer.proposed_citations == ["les-heat-pump-curve", "proc-made-up"]
    assert answer.result.generator == "testing:fixed"


def test_a_failing_generator_falls_back_with_a_note(
    documents: list[Document], caplog: pytest.LogCaptureFixture
) -> None:
    generator = FallbackGenerator(FixedGenerator(error="HTTP 503"), FixedGenerator(label="backup"))
    result = memory_coach(documents, generator=generator).ask(CALLBACKS)
    assert result.grounded and result.generator == "backup"
    assert "no usable answer" in result.notes[0] and "HTTP 503" not in result.notes[0]
    assert "HTTP 503" in caplog.text  # the why is for the log
    assert {c for s in result.suggestions for c in s.citations} <= {s.id for s in result.sources}


def test_filters_reach_the_sources(coach: Coach) -> None:
    result = coach.ask(
        "Klanten bellen over een storing; wie kan ik vragen?", filters=Filters(team="Finance")
    )
    assert all(s.team == "Finance" for s in result.sources + result.related)


def test_an_english_situation_gets_english_questions(coach: Coach, didactics: Didactics) -> None:
    result = coach.ask(HEAT_PUMP)
    assert result.language == "en" and result.grounded
    english = {q.id: q.text["en"] for q in didactics.questions}
    assert result.didactic_questions
    assert all(q.text == english[q.id] for q in result.didactic_questions)


@pytest.mark.parametrize(
    ("situation", "k", "message"),
    [("   ", 5, "empty"), ("x" * 4001, 5, "4001 characters"), (CALLBACKS, 0, "k must be")],
)
def test_bad_requests_say_what_to_fix(coach: Coach, situation: str, k: int, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        coach.ask(situation, k=k)


def test_without_didactics_there_are_no_questions(documents: list[Document]) -> None:
    assert memory_coach(documents).ask(CALLBACKS).didactic_questions == []


def test_the_coach_describes_what_it_runs_on(coach: Coach) -> None:
    described = coach.describe()
    assert described["embedder"] == "testing:hashing"
    assert described["calibration"]["similarity"] == HASHING_CALIBRATION.similarity
    coach.ready()
    coach.close()
    assert coach.ask(CALLBACKS).grounded  # reopened on the next request


def test_the_sample_corpus_reads_in_memory_too(tmp_path: Path) -> None:
    # Documents written to disk and scanned, as the indexer reads them.
    corpus = CorpusBuilder(tmp_path / "corpus")
    corpus.write("proc-koffie", "## Stappen\n1. Zet koffie voor de klant.", title="Koffie zetten")
    (only,) = scan_corpus(corpus.root).documents
    result = memory_coach([only]).ask("Hoe zet ik koffie voor de klant?")
    assert result.grounded and [s.id for s in result.sources] == ["proc-koffie"]
