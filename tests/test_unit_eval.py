"""The evaluation's answer metrics on the whole coach in memory: citation validity is scored on
what the generator proposed, so a generator that invents document ids lowers it."""

from __future__ import annotations

import pytest

from coach.evals.dataset import Case
from coach.evals.evaluation import run_cases, score
from coach.ingest.corpus import Document
from coach.testing import FixedGenerator, memory_coach
from tests.coaching_corpus import coaching_documents

CASES = [
    Case(
        id="terugbellen",
        language="nl",
        situation="Klanten bellen steeds opnieuw over dezelfde storing omdat niemand terugbelt.",
        reference="Bel de klant dezelfde dag terug.",
        reference_context_ids=("les-terugbellen-klanten",),
    ),
    Case(
        id="schutting",
        language="nl",
        situation="Mijn buurman maakt al weken ruzie over de schutting tussen onze tuinen.",
        reference="",
        reference_context_ids=(),
    ),
]


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    return coaching_documents(tmp_path_factory.mktemp("unit-eval"))


def citation_validity(documents: list[Document], generator: FixedGenerator) -> float:
    coach = memory_coach(documents, generator=generator)
    outcomes = run_cases(coach, CASES)
    assert [o.result.grounded for o in outcomes] == [True, False]
    return float(score(coach, outcomes)["overall"]["citation_validity"])


def test_citation_validity_falls_when_the_generator_invents_a_document(
    documents: list[Document],
) -> None:
    assert citation_validity(documents, FixedGenerator()) == 1.0
    # One real citation and one invented one in the grounded case: half of what it proposed is
    # valid; the out-of-scope case proposes nothing and counts as valid (mean of 0.5 and 1.0).
    invented = citation_validity(documents, FixedGenerator(unknown_citation="proc-bestaat-niet"))
    assert invented == 0.75
