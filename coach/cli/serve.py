"""`coach serve`: the HTTP API and the web page, after bringing the index up to date.

`--local` is the only way into local mode (no API keys): it serves this machine only, on a
loopback address, and tells its worker processes so through a variable only it sets."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from coach.cli.common import err, fail, index_corpus, load_services, read_settings
from coach.cli.options import CorpusOption, IndexDirOption
from coach.errors import CoachError, ConfigurationError

# The names `api.security` accepts as Host in local mode, so the only addresses it may serve.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WORKER_HEALTHCHECK_SECONDS = 60


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
    if local and host not in LOOPBACK_HOSTS:
        raise fail(
            ConfigurationError(
                f"local mode serves this machine only, so --host must be 127.0.0.1, localhost or "
                f"::1, not {host}; to serve other machines, leave out --local: every caller then "
                f"needs an API key (`coach keys add USER --role ROLE`)"
            )
        )
    if "COACH_LOCAL_MODE" in os.environ and not local:
        err.print(
            "[bold yellow]note:[/] COACH_LOCAL_MODE is no longer read; every caller needs an API "
            "key. For single-user mode on this machine, run `coach serve --local`.",
            highlight=False,
        )
    import uvicorn

    from api.main import LOCAL_MODE_VARIABLE, create_app

    settings = read_settings(corpus_dir=corpus, index_dir=index_dir)
    try:
        services = load_services(settings)
        report = index_corpus(services)
        counts = ", ".join(f"{value} {key}" for key, value in report.counts().items())
        err.print(f"{services.indexer.location.describe()}: {counts}", highlight=False)
        coach = services.coach
    except CoachError as exc:
        raise fail(exc) from exc
    if local:
        err.print(
            "[bold yellow]local mode:[/] no API keys needed; this machine's own requests to "
            f"http://{'[::1]' if host == '::1' else host}:{port}/ act as the single local user "
            "(admin); other machines and other sites' pages are refused.",
            highlight=False,
        )
    if workers == 1:
        app = create_app(settings, coach, local=local)
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    # Each worker process builds its own service from the environment; the index is already
    # up to date, and writes are serialised across processes by lock files.
    services.close()
    del coach, services  # the supervisor process needs no model
    os.environ.update(
        COACH_CORPUS_DIR=str(settings.corpus_dir.resolve()),
        COACH_INDEX_DIR=str(settings.index_dir.resolve()),
    )
    os.environ[LOCAL_MODE_VARIABLE] = "1" if local else "0"
    err.print(f"starting {workers} worker processes", highlight=False)
    uvicorn.run(
        "api.main:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        # uvicorn kills a worker that does not answer its supervisor's ping within this many
        # seconds (5 by default); a worker loading its model on a busy machine can take longer,
        # and killing it resets the connections it holds.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
