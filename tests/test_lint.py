"""`coach lint`: one test per rule, each checking file, line and that every problem is reported."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from coach.errors import Problem
from coach.ingest.lint import lint_corpus
from tests.conftest import REPO, CorpusBuilder, document_text

BODY = "## Stappen\n1. Neem de melding aan in TOPdesk.\n2. Bel de klant binnen 4 uur terug.\n"


def rules(problems: list[Problem]) -> list[tuple[str, int, str]]:
    return [(problem.path, problem.line, problem.rule) for problem in problems]


def test_clean_corpus_has_no_problems(corpus: CorpusBuilder) -> None:
    corpus.write("proc-a", BODY)
    corpus.write("les-b", BODY, type_="lesson", language="en")
    assert lint_corpus(corpus.root) == []


def test_unparseable_yaml_names_the_line(corpus: CorpusBuilder) -> None:
    corpus.raw(
        "docs/proc-a.md",
        "---\nid: proc-a\ntitle: Incident melden\ntype: [procedure\nlanguage: nl\n---\nTekst\n",
    )
    [problem] = lint_corpus(corpus.root)
    assert (problem.path, problem.rule) == ("docs/proc-a.md", "yaml")
    assert problem.line in (4, 5)  # the open bracket, or where the parser noticed it


def test_missing_front_matter(corpus: CorpusBuilder) -> None:
    corpus.raw("docs/proc-a.md", "# Incident melden\nGeen front matter.\n")
    assert rules(lint_corpus(corpus.root)) == [("docs/proc-a.md", 1, "front-matter")]


def test_missing_required_fields_are_all_reported(corpus: CorpusBuilder) -> None:
    corpus.raw("docs/proc-a.md", "---\nid: proc-a\nteam: Servicedesk\n---\nTekst\n")
    problems = lint_corpus(corpus.root)
    assert [problem.rule for problem in problems] == ["missing-field"] * 3
    assert {problem.message.split("`")[1] for problem in problems} == {"title", "type", "language"}


@pytest.mark.parametrize(
    ("field", "value", "line"),
    [("type", "policy", 4), ("language", "de", 5), ("status", "archived", 10)],
)
def test_unknown_enumerated_value(corpus: CorpusBuilder, field: str, value: str, line: int) -> None:
    text = document_text("proc-a", BODY, status="active").replace(
        f"{field}: {'active' if field == 'status' else ('procedure' if field == 'type' else 'nl')}",
        f"{field}: {value}",
    )
    corpus.raw("docs/proc-a.md", text)
    assert rules(lint_corpus(corpus.root)) == [("docs/proc-a.md", line, f"unknown-{field}")]


def test_id_must_match_file_name(corpus: CorpusBuilder) -> None:
    corpus.raw("docs/proc-b.md", document_text("proc-a", BODY))
    [problem] = lint_corpus(corpus.root)
    assert rules([problem]) == [("docs/proc-b.md", 2, "id-mismatch")]
    assert "proc-a.md" in problem.message


def test_id_pattern(corpus: CorpusBuilder) -> None:
    corpus.raw("docs/Proc_A.md", document_text("Proc_A", BODY))
    assert rules(lint_corpus(corpus.root)) == [("docs/Proc_A.md", 2, "invalid-id")]


def test_duplicate_id_in_two_folders(corpus: CorpusBuilder) -> None:
    corpus.write("proc-a", BODY, folder="team1")
    corpus.write("proc-a", BODY, folder="team2")
    [problem] = lint_corpus(corpus.root)
    assert rules([problem]) == [("team2/proc-a.md", 2, "duplicate-id")]
    assert "team1/proc-a.md" in problem.message


def test_empty_body(corpus: CorpusBuilder) -> None:
    corpus.raw("docs/proc-a.md", document_text("proc-a", "x").replace("\nx\n", "\n\n  \n"))
    assert rules(lint_corpus(corpus.root)) == [("docs/proc-a.md", 11, "empty-body")]


def test_non_utf8_bytes_name_the_line(corpus: CorpusBuilder) -> None:
    text = document_text("proc-a", "Eerste regel.\nCaf\xe9 op regel twee.").encode("latin-1")
    corpus.raw("docs/proc-a.md", text)
    [problem] = lint_corpus(corpus.root)
    assert rules([problem]) == [("docs/proc-a.md", 12, "encoding")]
    assert "0xe9" in problem.message


def test_unreadable_file(corpus: CorpusBuilder) -> None:
    link = corpus.root / "docs" / "proc-a.md"
    link.parent.mkdir(parents=True)
    link.symlink_to(corpus.root / "nowhere" / "proc-a.md")  # a dangling link cannot be read
    assert rules(lint_corpus(corpus.root)) == [("docs/proc-a.md", 0, "unreadable")]


def test_unknown_field_catches_typos(corpus: CorpusBuilder) -> None:
    corpus.raw(
        "docs/proc-a.md",
        document_text("proc-a", BODY).replace("updated:", "stauts: retired\nupdated:"),
    )
    assert rules(lint_corpus(corpus.root)) == [("docs/proc-a.md", 9, "unknown-field")]


def test_invalid_optional_values(corpus: CorpusBuilder) -> None:
    text = document_text("proc-a", BODY, tags="incident").replace("2025-06-12", "vorige week")
    corpus.raw("docs/proc-a.md", text)
    assert rules(lint_corpus(corpus.root)) == [
        ("docs/proc-a.md", 8, "invalid-value"),
        ("docs/proc-a.md", 9, "invalid-value"),
    ]


def test_every_problem_in_one_run(corpus: CorpusBuilder) -> None:
    corpus.write("proc-ok", BODY)
    corpus.raw("a/proc-a.md", "geen front matter")
    corpus.raw("b/proc-b.md", document_text("proc-x", BODY, type_="memo"))
    corpus.raw("c/proc-c.md", b"---\nid: proc-c\n\xff\n")
    found = {(problem.path, problem.rule) for problem in lint_corpus(corpus.root)}
    assert found == {
        ("a/proc-a.md", "front-matter"),
        ("b/proc-b.md", "id-mismatch"),
        ("b/proc-b.md", "unknown-type"),
        ("c/proc-c.md", "encoding"),
    }


def test_readme_and_hidden_files_are_not_documents(corpus: CorpusBuilder) -> None:
    corpus.raw("README.md", "# Over dit corpus\n")
    corpus.raw("docs/.proc-a.md.tmp.md", "half geschreven")
    corpus.write("proc-a", BODY)
    assert lint_corpus(corpus.root) == []


def _billion_laughs() -> str:
    """A document of 364 bytes whose front matter expands to 43 million strings when its
    aliases are followed (it took 8.1 s and 610 MB to lint before aliases were refused)."""
    anchors = ["a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    for previous, name in zip("abcdefg", "bcdefgh", strict=True):
        anchors.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    head = "---\nid: proc-a\ntitle: t\ntype: procedure\nlanguage: nl\n"
    return head + "\n".join(anchors) + "\nupdated: *h\n---\nTekst\n"


def test_yaml_aliases_are_refused_before_they_expand(corpus: CorpusBuilder) -> None:
    bomb = _billion_laughs()
    assert len(bomb.encode("utf-8")) < 400
    corpus.raw("docs/proc-a.md", bomb)
    started = time.perf_counter()
    problems = lint_corpus(corpus.root)
    assert time.perf_counter() - started < 0.5
    assert rules(problems) == [("docs/proc-a.md", 7, "yaml-alias")]
    assert "*a" in problems[0].message


def test_front_matter_over_the_size_limit_is_refused(corpus: CorpusBuilder) -> None:
    padded = document_text("proc-a", BODY, tags="[" + ", ".join(["tag"] * 5000) + "]")
    corpus.raw("docs/proc-a.md", padded)
    [problem] = lint_corpus(corpus.root)
    assert rules([problem]) == [("docs/proc-a.md", 1, "front-matter-too-large")]
    assert "16 kB" in problem.message


def test_deeply_nested_front_matter_is_a_problem_not_a_crash(corpus: CorpusBuilder) -> None:
    deep = document_text("proc-a", BODY, tags="[" * 3000 + "]" * 3000)
    corpus.raw("docs/proc-a.md", deep)
    assert rules(lint_corpus(corpus.root)) == [("docs/proc-a.md", 8, "yaml-nesting")]


def test_an_id_with_a_trailing_newline_is_not_an_id(corpus: CorpusBuilder) -> None:
    corpus.raw(
        "docs/proc-a.md", document_text("proc-a", BODY).replace("id: proc-a", 'id: "proc-a\\n"')
    )
    assert rules(lint_corpus(corpus.root)) == [("docs/proc-a.md", 2, "invalid-id")]


# -- didactics.yaml ---------------------------------------------------------------------------


def test_missing_didactics_file(corpus: CorpusBuilder) -> None:
    (corpus.root / "didactics.yaml").unlink()
    assert rules(lint_corpus(corpus.root)) == [("didactics.yaml", 0, "didactics")]


def test_didactics_unparseable(corpus: CorpusBuilder) -> None:
    corpus.raw("didactics.yaml", "version: 1\nquestions: [\n")
    [problem] = lint_corpus(corpus.root)
    assert problem.rule == "didactics" and problem.line >= 2


def test_didactics_question_problems_point_at_the_question(corpus: CorpusBuilder) -> None:
    source = (corpus.root / "didactics.yaml").read_text(encoding="utf-8")
    lines = source.splitlines()
    third = [number for number, line in enumerate(lines, 1) if line.startswith("  - id: dq-")][2]
    lines[third - 1] = lines[third - 1].replace("- id: dq-", "- id: DQ_")
    broken = "\n".join(lines).replace("phase: action", "phase: dreaming", 1)
    corpus.raw("didactics.yaml", broken)
    problems = lint_corpus(corpus.root)
    assert all(problem.rule == "didactics" for problem in problems)
    assert third in [problem.line for problem in problems]
    assert any("dreaming" in problem.message for problem in problems)


def test_didactics_needs_enough_questions(corpus: CorpusBuilder) -> None:
    corpus.raw("didactics.yaml", "version: 1\nphases:\n  - id: reflection\nquestions: []\n")
    [problem] = lint_corpus(corpus.root)
    assert (problem.line, problem.rule) == (4, "didactics")


def test_didactics_aliases_and_ids_with_a_newline_are_refused(corpus: CorpusBuilder) -> None:
    source = (corpus.root / "didactics.yaml").read_text(encoding="utf-8")
    first = source.index("  - id: dq-")
    end = source.index("\n", first)
    question_id = source[first + len("  - id: ") : end]
    newline = source[:first] + f'  - id: "{question_id}\\n"' + source[end:]
    corpus.raw("didactics.yaml", newline)
    assert any("may contain only" in problem.message for problem in lint_corpus(corpus.root))
    corpus.raw("didactics.yaml", "version: &v 1\nagain: *v\n")
    [problem] = lint_corpus(corpus.root)
    assert (problem.line, problem.rule) == (2, "didactics") and "alias" in problem.message


# -- the command ------------------------------------------------------------------------------


def test_cli_exit_codes_and_output(
    corpus: CorpusBuilder, run_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    corpus.write("proc-a", BODY)
    clean = run_cli("lint", str(corpus.root))
    assert clean.returncode == 0, clean.stderr
    corpus.raw("docs/proc-b.md", document_text("proc-x", BODY))
    dirty = run_cli("lint", str(corpus.root))
    assert dirty.returncode == 1
    assert f"{corpus.root / 'docs/proc-b.md'}:2: [id-mismatch]" in dirty.stdout
    missing = run_cli("lint", str(corpus.root / "nope"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    bad_setting = run_cli("lint", env={"COACH_CHROMA_COLLECTION": "x"})
    assert bad_setting.returncode == 2
    assert "invalid setting COACH_CHROMA_COLLECTION" in bad_setting.stderr
    assert "Traceback" not in bad_setting.stderr


def test_the_sample_corpus_is_clean_and_complete() -> None:
    from coach.ingest.corpus import scan_corpus
    from coach.ingest.didactics import load_didactics

    corpus_dir = REPO / "corpus"
    assert lint_corpus(corpus_dir) == []
    documents = scan_corpus(corpus_dir).documents
    assert sum(doc.type == "procedure" for doc in documents) >= 25
    assert sum(doc.type == "lesson" for doc in documents) >= 25
    assert sum(doc.language == "en" for doc in documents) >= 10
    assert len({doc.team for doc in documents}) >= 5
    assert sum(doc.status == "retired" for doc in documents) >= 3
    didactics = load_didactics(corpus_dir / "didactics.yaml")
    assert len(didactics.questions) == 10
    assert {question.phase for question in didactics.questions} == set(didactics.phases)


def test_sample_corpus_paths_are_relative(tmp_path: Path) -> None:
    from coach.ingest.corpus import scan_corpus

    assert all(not Path(doc.path).is_absolute() for doc in scan_corpus(REPO / "corpus").documents)
