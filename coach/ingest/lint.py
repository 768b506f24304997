"""`coach lint`: every problem of a corpus folder in one run, each with file and line."""

from __future__ import annotations

from pathlib import Path

from coach.errors import Problem
from coach.ingest.corpus import DIDACTICS_FILE, scan_corpus
from coach.ingest.didactics import check_didactics


def lint_corpus(corpus_dir: Path) -> list[Problem]:
    """All problems of the documents and of didactics.yaml, ordered by file and line."""
    problems = list(scan_corpus(corpus_dir).problems)
    didactics = corpus_dir / DIDACTICS_FILE
    if didactics.exists():
        problems.extend(check_didactics(didactics, DIDACTICS_FILE)[1])
    else:
        problems.append(
            Problem(
                DIDACTICS_FILE, 0, "didactics", "missing: the corpus needs its didactic questions"
            )
        )
    return sorted(problems, key=lambda problem: (problem.path, problem.line))
