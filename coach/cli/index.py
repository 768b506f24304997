"""`coach index`: bring the index in step with the corpus."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from coach.cli.common import err, fail, index_corpus, load_services, out, read_settings
from coach.cli.options import CorpusOption, IndexDirOption
from coach.errors import CoachError


def index(
    corpus: CorpusOption = None,
    index_dir: IndexDirOption = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse the whole run when any file is invalid.")
    ] = False,
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="Drop the index and build it anew (after a model change)."),
    ] = False,
) -> None:
    """Bring the index in step with the corpus: embed new and changed documents, drop the rest.

    Only active documents are indexed. Invalid files are skipped with their problem and the
    exit code is 1; a second run in a row embeds nothing.
    """
    settings = read_settings(corpus_dir=corpus, index_dir=index_dir)
    started = time.perf_counter()
    try:
        services = load_services(settings)
        report = index_corpus(services, strict=strict, rebuild=rebuild)
    except CoachError as exc:
        raise fail(exc) from exc
    for problem in report.skipped:
        err.print(
            f"skipped {settings.corpus_dir / problem.path}:{problem.line}: "
            f"[{problem.rule}] {problem.message}",
            highlight=False,
            markup=False,
        )
    counts = report.counts()
    summary = ", ".join(f"{value} {key}" for key, value in counts.items())
    out.print(
        f"{services.indexer.location.describe()}: {summary}; "
        f"{report.chunks_embedded} chunks embedded in {time.perf_counter() - started:.1f} s"
        + (
            f"; repaired {report.repaired_chunks} leftover chunks" if report.repaired_chunks else ""
        ),
        highlight=False,
    )
    if counts["skipped"]:
        raise typer.Exit(1)
