"""The `coach` command line: the edge where settings are read and the library is wired up."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from coach.errors import CoachError, CorpusError
from coach.settings import Settings

if TYPE_CHECKING:
    from coach.embedding import Embedder
    from coach.indexing import ProgressCallback

app = typer.Typer(
    help="A coach for learning while working, grounded in your organisation's own documents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def offline_environment() -> None:
    """Keep every library that could reach for the network offline (nothing is downloaded)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # our own bar is the one to see
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import importlib.util

        spec = importlib.util.find_spec("llama_index.core")
        if spec and spec.submodule_search_locations:
            cache = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
            os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
    except ImportError:  # pragma: no cover - llama-index is a dependency
        pass


def _settings(**overrides: object) -> Settings:
    from pydantic import ValidationError

    values = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.errors():
            name = "COACH_" + "_".join(str(part) for part in error["loc"]).upper()
            err.print(
                f"[bold red]error:[/] invalid setting {name}: {error['msg']}", highlight=False
            )
        raise typer.Exit(2) from None


def _fail(exc: CoachError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    if isinstance(exc, CorpusError):
        for problem in exc.problems:
            err.print(f"  {problem}", highlight=False, markup=False)
    return typer.Exit(2)


@app.command()
def lint(
    corpus: Annotated[
        Path | None, typer.Argument(help="Corpus folder (default: COACH_CORPUS_DIR or ./corpus).")
    ] = None,
) -> None:
    """Check every document and didactics.yaml; list each problem with file and line.

    Exit code 0 when the corpus is clean, 1 when there is any problem.
    """
    from coach.lint import lint_corpus

    corpus_dir = corpus or _settings().corpus_dir
    try:
        problems = lint_corpus(corpus_dir)
    except CoachError as exc:
        raise _fail(exc) from exc
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


@app.command()
def index(
    corpus: Annotated[Path | None, typer.Option("--corpus", help="Corpus folder.")] = None,
    index_dir: Annotated[
        Path | None, typer.Option("--index-dir", help="Folder of the embedded index.")
    ] = None,
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
    from coach.indexing import Indexer

    settings = _settings(corpus_dir=corpus, index_dir=index_dir)
    started = time.perf_counter()
    try:
        embedder = _embedder(settings)
        indexer = Indexer(embedder, settings.store_location(), settings.chunk_tokens)
        with ProgressReporter() as report_progress:
            report = indexer.run(
                settings.corpus_dir, strict=strict, rebuild=rebuild, progress=report_progress
            )
    except CoachError as exc:
        raise _fail(exc) from exc
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
        f"{indexer.location.describe()}: {summary}; {report.chunks_embedded} chunks embedded "
        f"in {time.perf_counter() - started:.1f} s"
        + (
            f"; repaired {report.repaired_chunks} leftover chunks" if report.repaired_chunks else ""
        ),
        highlight=False,
    )
    if counts["skipped"]:
        raise typer.Exit(1)


def _embedder(settings: Settings) -> Embedder:
    from coach.embedding import make_embedder

    with err.status(f"loading embedding model {settings.embedding_model}"):
        return make_embedder(settings.embedding_model, batch_size=settings.embedding_batch_size)


class ProgressReporter:
    """A progress bar on a terminal; a line per group of chunks otherwise (logs, CI, tests)."""

    def __enter__(self) -> ProgressCallback:
        self._bar: Progress | None = None
        self._task: object = None
        if err.is_terminal:
            self._bar = Progress(
                TextColumn("embedding"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self._bar.start()
        return self._update

    def _update(self, done: int, total: int) -> None:
        if total == 0:
            return
        if self._bar is None:
            print(f"embedded {done}/{total} chunks", file=sys.stderr, flush=True)
            return
        if self._task is None:
            self._task = self._bar.add_task("embedding", total=total)
        self._bar.update(self._task, completed=done)  # type: ignore[arg-type]

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def main() -> None:
    offline_environment()
    app()


if __name__ == "__main__":
    main()
