"""`coach ask` as a user runs it: readable or JSON output, batches, and clear errors."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.coaching_corpus import write_coaching_corpus
from tests.conftest import CorpusBuilder

Run = Callable[..., subprocess.CompletedProcess[str]]
SITUATION = "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt."


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from coach.offline import offline_environment

    offline_environment()
    root = tmp_path_factory.mktemp("ask")
    corpus = CorpusBuilder(root / "corpus")
    write_coaching_corpus(corpus)
    index_dir = root / "index"
    coach = Path(__import__("sys").executable).with_name("coach")
    subprocess.run(
        [str(coach), "index", "--corpus", str(corpus.root), "--index-dir", str(index_dir)],
        check=True,
        capture_output=True,
    )
    return corpus.root, index_dir


def args(indexed: tuple[Path, Path]) -> list[str]:
    corpus, index_dir = indexed
    return ["--corpus", str(corpus), "--index-dir", str(index_dir)]


def test_json_output_is_exactly_the_schema(run_cli: Run, indexed: tuple[Path, Path]) -> None:
    result = run_cli("ask", SITUATION, "--json", *args(indexed))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert set(data) == {
        "situation", "language", "grounded", "suggestions", "didactic_questions",
        "colleagues", "sources", "related", "generator", "notes", "timings_ms",
    }  # fmt: skip
    assert data["grounded"] is True and data["language"] == "nl"
    source_ids = {source["id"] for source in data["sources"]}
    assert all(set(s["citations"]) <= source_ids for s in data["suggestions"])


def test_readable_output_and_filters(run_cli: Run, indexed: tuple[Path, Path]) -> None:
    result = run_cli("ask", SITUATION, "--type", "procedure", "--k", "2", *args(indexed))
    assert result.returncode == 0, result.stderr
    assert "Suggesties" in result.stdout and "Vragen om over na te denken" in result.stdout
    assert "les-terugbellen-klanten" not in result.stdout  # a lesson, filtered out


@pytest.mark.parametrize(("situation", "message"), [("  ", "empty"), ("x" * 4001, "at most 4000")])
def test_bad_situations_exit_2(
    run_cli: Run, indexed: tuple[Path, Path], situation: str, message: str
) -> None:
    result = run_cli("ask", situation, *args(indexed))
    assert result.returncode == 2
    assert message in result.stderr


def test_missing_index_names_the_command_that_builds_it(
    run_cli: Run, indexed: tuple[Path, Path], tmp_path: Path
) -> None:
    corpus, _ = indexed
    result = run_cli("ask", SITUATION, "--corpus", str(corpus), "--index-dir", str(tmp_path))
    assert result.returncode == 2
    assert "coach index" in result.stderr


def test_batch_answers_every_line_and_reports_bad_ones(
    run_cli: Run, indexed: tuple[Path, Path], tmp_path: Path
) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "situation": SITUATION}),
                "{not json",
                json.dumps({"id": "c", "situation": ""}),
                json.dumps(
                    {
                        "id": "d",
                        "situation": "My house stays cold after a heat pump",
                        "type": "lesson",
                    }
                ),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    result = run_cli("ask", "--batch", str(batch), "--out", str(out), *args(indexed))
    assert result.returncode == 1  # some lines failed
    assert "2 answered, 2 failed" in result.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["a", "line-2", "c", "d"]
    assert records[0]["result"]["grounded"] is True
    assert "error" in records[1] and "empty" in records[2]["error"]
    assert records[3]["result"]["sources"][0]["id"] == "les-heat-pump-curve"


def test_an_llm_configured_by_settings_writes_the_suggestions(
    run_cli: Run, indexed: tuple[Path, Path]
) -> None:
    from tests.fake_llm import FakeChatServer

    server = FakeChatServer()
    try:
        suggestion = {
            "title": "Terugbeltaken",
            "action": "Leg elk terugbelverzoek vast als taak met een deadline.",
            "kind": "improve",
            "citations": ["les-terugbellen-klanten"],
        }
        server.answer(json.dumps({"suggestions": [suggestion]}))
        env = {"COACH_LLM_BASE_URL": server.base_url, "COACH_LLM_MODEL": "fake-model"}
        result = run_cli("ask", SITUATION, "--json", *args(indexed), env=env)
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["generator"] == "llm:fake-model"
    assert [s["title"] for s in data["suggestions"]] == ["Terugbeltaken"]
