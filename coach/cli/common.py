"""What every command shares: the consoles, settings from options, errors, the model spinner and
the progress bar."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from coach.errors import CoachError, CorpusError
from coach.settings import Settings

if TYPE_CHECKING:
    from coach.factory import Services
    from coach.index.embedders import Embedder
    from coach.index.indexer import IndexReport, ProgressCallback

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def read_settings(**overrides: object) -> Settings:
    """Settings from the environment, with the options given; an invalid one ends the command
    (exit code 2) with the COACH_* variable it came from."""
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


def fail(exc: CoachError) -> typer.Exit:
    """Print the error (and a corpus error's problems); the exit to raise (code 2)."""
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    if isinstance(exc, CorpusError):
        for problem in exc.problems:
            err.print(f"  {problem}", highlight=False, markup=False)
    return typer.Exit(2)


def load_services(settings: Settings) -> Services:
    """Everything a command needs, from the composition root (the model loads under a spinner)."""
    from coach.factory import build_services

    return build_services(settings, load_embedder(settings))


def load_embedder(settings: Settings) -> Embedder:
    from coach.factory import build_embedder

    with err.status(f"loading embedding model {settings.embedding_model}"):
        return build_embedder(settings)


# What the last command's corpus reader knew (`CorpusReader.remember`), beside the index.
CORPUS_MEMORY = "corpus-files.json"


def index_corpus(services: Services, *, strict: bool = False, rebuild: bool = False) -> IndexReport:
    """Bring the index in step with the corpus of the services' settings, showing progress.
    The files parsed by the last command are parsed again only when they changed since."""
    settings = services.settings
    reader = services.indexer.reader(settings.corpus_dir)
    memory = settings.index_dir / CORPUS_MEMORY
    reader.recall(memory)
    with ProgressReporter(unit="documents") as report_progress:
        report = services.indexer.run(
            settings.corpus_dir, strict=strict, rebuild=rebuild, progress=report_progress
        )
    try:
        reader.remember(memory)
    except OSError as exc:  # only the next run's speed depends on it
        err.print(f"note: could not keep what was parsed in {memory}: {exc}", highlight=False)
    return report


class ProgressReporter:
    """A progress bar on a terminal; a line per group of chunks otherwise (logs, CI, tests)."""

    def __init__(self, label: str = "embedded", unit: str = "chunks") -> None:
        self.label = label
        self.unit = unit

    def __enter__(self) -> ProgressCallback:
        self._bar: Progress | None = None
        self._task: object = None
        if err.is_terminal:
            self._bar = Progress(
                TextColumn(self.label),
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
            print(f"{self.label} {done}/{total} {self.unit}", file=sys.stderr, flush=True)
            return
        if self._task is None:
            self._task = self._bar.add_task("embedding", total=total)
        self._bar.update(self._task, completed=done)  # type: ignore[arg-type]

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()
