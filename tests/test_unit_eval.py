"""The evaluation's answer metrics on the whole coach in memory: citation validity is scored on
what the generator proposed, so a generator that invents document ids lowers it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach.errors import CorpusError
from coach.evals.dataset import Case, forms_of, load_cases
from coach.evals.evaluation import run_cases, score
from coach.evals.gate import check, load_thresholds
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


def test_a_case_in_its_short_form_is_scored_with_false_refusals(
    documents: list[Document], tmp_path: Path
) -> None:
    short = "niemand belt klanten terug over hun storing"
    lines = [
        {**vars(CASES[0]), "short": short},
        {**vars(CASES[1]), "short": "buurman ruzie schutting"},
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    cases = load_cases(path)
    assert forms_of(cases) == ["long", "short"] and forms_of(CASES) == ["long"]
    assert cases[0].in_form("short").situation == short
    assert cases[0].in_form("long") == cases[0]
    with pytest.raises(ValueError):
        CASES[0].in_form("short")
    coach = memory_coach(documents)
    scored = score(coach, run_cases(coach, [c.in_form("short") for c in cases]))["overall"]
    assert scored["false_refusals"] in (0.0, 1.0) and scored["cases"] == 1
    # an in-scope case answered as ungrounded is a false refusal
    refused = run_cases(coach, [cases[0].in_form("short")])
    refused[0].result = refused[0].result.model_copy(update={"grounded": False})
    assert score(coach, refused)["overall"]["false_refusals"] == 1.0


@pytest.mark.parametrize("short", ["", "   ", " ".join(["woord"] * 21), "twee\nregels", 5], ids=str)
def test_a_short_form_is_one_line_of_at_most_twenty_words(short: object, tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps({**vars(CASES[0]), "short": short}), encoding="utf-8")
    with pytest.raises(CorpusError, match="short"):
        load_cases(path)


def test_the_short_form_has_limits_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.toml"
    path.write_text(
        "[suites.x.floors]\n'hit@1' = 0.6\n[suites.x.short_floors]\n'hit@1' = 0.5\n"
        "[suites.x.short_ceilings]\nfalse_refusals = 0.05\n",
        encoding="utf-8",
    )
    assert load_thresholds(path, "x").floors == {"hit@1": 0.6}
    short = load_thresholds(path, "x", "short")
    assert short.floors == {"hit@1": 0.5} and short.ceilings == {"false_refusals": 0.05}
    assert check({"hit@1": 0.55, "false_refusals": 0.1}, short) == [
        "false_refusals: 0.1000 is over its ceiling 0.05"
    ]
