"""`coach serve`: the HTTP API and the web page, after bringing the index up to date."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from coach.cli.common import err, fail, index_corpus, load_services, read_settings
from coach.cli.options import CorpusOption, IndexDirOption
from coach.errors import CoachError


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    corpus: CorpusOption = None,
    index_dir: IndexDirOption = None,
    local: Annotated[
        bool,
        typer.Option("--local", help="Single-user mode without API keys (this machine only)."),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes (each loads the model, about 0.5 GB); one per core for load.",
        ),
    ] = 1,
) -> None:
    """Start the HTTP API and the web page. Brings the index up to date first."""
    import uvicorn

    from api.main import create_app

    settings = read_settings(
        corpus_dir=corpus, index_dir=index_dir, local_mode=True if local else None
    )
    try:
        services = load_services(settings)
        report = index_corpus(services)
        counts = ", ".join(f"{value} {key}" for key, value in report.counts().items())
        err.print(f"{services.indexer.location.describe()}: {counts}", highlight=False)
        coach = services.coach
    except CoachError as exc:
        raise fail(exc) from exc
    if settings.local_mode:
        err.print(
            "[bold yellow]local mode:[/] no API keys needed; everyone who can reach "
            f"{host}:{port} acts as the single local user (admin).",
            highlight=False,
        )
    if workers == 1:
        uvicorn.run(create_app(settings, coach), host=host, port=port, log_level="info")
        return
    # Each worker process builds its own service from the environment; the index is already
    # up to date, and writes are serialised across processes by lock files.
    services.close()
    del coach, services  # the supervisor process needs no model
    os.environ.update(
        COACH_CORPUS_DIR=str(settings.corpus_dir.resolve()),
        COACH_INDEX_DIR=str(settings.index_dir.resolve()),
        COACH_LOCAL_MODE="true" if settings.local_mode else "false",
    )
    err.print(f"starting {workers} worker processes", highlight=False)
    uvicorn.run(
        "api.main:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
    )
