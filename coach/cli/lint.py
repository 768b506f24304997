"""`coach lint`: check a corpus without indexing it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coach.cli.common import err, fail, out, read_settings
from coach.errors import CoachError


def lint(
    corpus: Annotated[
        Path | None, typer.Argument(help="Corpus folder (default: COACH_CORPUS_DIR or ./corpus).")
    ] = None,
) -> None:
    """Check every document and didactics.yaml; list each problem with file and line.

    Exit code 0 when the corpus is clean, 1 when there is any problem.
    """
    from coach.ingest.lint import lint_corpus

    corpus_dir = corpus or read_settings().corpus_dir
    try:
        problems = lint_corpus(corpus_dir)
    except CoachError as exc:
        raise fail(exc) from exc
    for problem in problems:
        out.print(
            f"{corpus_dir / problem.path}:{problem.line}: [{problem.rule}] {problem.message}",
            highlight=False,
            markup=False,
        )
    if problems:
        files = len({problem.path for problem in problems})
        err.print(f"{len(problems)} problem(s) in {files} file(s)")
        raise typer.Exit(1)
    err.print(f"{corpus_dir}: no problems")
