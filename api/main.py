"""The FastAPI service: coaching, search and sessions under /v1, health at /healthz and /readyz.

Settings are read once (`create_app(settings)`); the embedder, coach, indexer and database are
built once per process in the lifespan, through the composition root (`coach.factory`). Workers
keep no state of their own beyond caches and rate limit counts: sessions live in the database,
documents in the corpus and the index. The routes live in `api.routes`, their dependencies in
`api.deps`.

Local mode (no API keys) is an argument, never a setting: only `coach serve --local` passes it,
and to its worker processes through `LOCAL_MODE_VARIABLE`, which nothing else sets.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp
from threadpoolctl import threadpool_limits

from api import openapi
from api.db import CycleStore, DraftStore, GroupStore, Outbox, SessionStore
from api.db.cycle_records import CycleRecords
from api.deps import ApiServices
from api.headers import ResponseHeaders
from api.limits import BodyLimit
from api.problems import OpenAIErrors, install
from api.ratelimit import RateLimits
from api.routes import (
    chat,
    coaching,
    cycles,
    documents,
    drafts,
    groups,
    health,
    insights,
    portfolio,
    privacy,
    records,
    sessions,
    web,
)
from api.security import RequestGuard
from api.xapi.delivery import Deliverer
from api.xapi.recorder import LearningRecords
from api.xapi.statements import RecordsConfig
from coach.engine import Coach
from coach.factory import build_indexer, build_services
from coach.index.indexer import Indexer
from coach.ingest.curation import Curator
from coach.keys import KeyStore
from coach.settings import Settings

log = logging.getLogger("coach.api")

MAX_BODY_BYTES = 256 * 1024
# Streamed answers coach on their own pool, so at most this many run at once; more wait their
# turn (they have had their first event) instead of each starting a thread of its own.
STREAM_WORKERS = 8
# Set by `coach serve --local --workers N` for its worker processes (`app_from_env`) only.
LOCAL_MODE_VARIABLE = "_COACH_SERVE_LOCAL"


@asynccontextmanager
async def serving(
    settings: Settings, coach: Coach | None = None, *, local: bool = False
) -> AsyncIterator[ApiServices]:
    """The services of one process, built off the event loop and closed in reverse order. A
    coach that is given stays open (its owner closes it); one built here is closed here."""
    # One BLAS thread: requests already run side by side on the cores, a query's products are
    # small, and OpenBLAS's second thread mostly spins (CPU spent, no work done: at 10,000
    # documents a search cost twice its wall time in CPU).
    threadpool_limits(limits=1, user_api="blas")
    async with AsyncExitStack() as stack:
        if coach is None:
            built = await run_in_threadpool(build_services, settings)
            stack.callback(built.close)
            coach = await run_in_threadpool(lambda: built.coach)
            indexer = built.indexer
        else:
            indexer = build_indexer(settings, coach.embedder)
        session_store = await run_in_threadpool(
            SessionStore, settings.sessions_url(), settings.session_retention_days
        )
        stack.callback(session_store.close)
        learning = RecordsConfig.from_settings(settings)
        if learning is not None:  # learning records: queued with each action, sent behind
            if settings.lrs_in_clear():
                log.warning(
                    "COACH_LRS_URL is plain http to another machine: the LRS password and the "
                    "learning records cross the network readable; use https"
                )
            key = await run_in_threadpool(Outbox(session_store).actor_key)
            session_store.listeners.append(LearningRecords(learning, key))
            deliverer = Deliverer(
                Outbox(session_store), learning, CycleRecords(session_store).record_due
            )
            deliverer.start()
            stack.callback(deliverer.stop)  # before the database closes
        streams = ThreadPoolExecutor(max_workers=STREAM_WORKERS, thread_name_prefix="coach-stream")

        async def stop_streams() -> None:
            # A stream still waiting for a worker is cancelled (its client hears so); a running
            # one finishes, so its session is stored before the database closes.
            await run_in_threadpool(streams.shutdown, wait=True, cancel_futures=True)

        stack.push_async_callback(stop_streams)
        indexer.merge_behind = True  # a save never waits for a merge (coach.index.writing)
        writer_warm = warm_behind(indexer)
        yield ApiServices(
            coach=coach,
            sessions=session_store,
            drafts=DraftStore(session_store),
            groups=GroupStore(session_store),
            cycles=CycleStore(
                session_store,
                GroupStore(session_store),
                settings.cycle_time_zone,
                lambda: coach.didactics,  # the questions as curated now, for a later agenda
            ),
            keys=KeyStore(settings.keys_path()),
            curator=Curator(settings.corpus_dir, indexer),
            local_mode=local,
            streams=streams,
            limits=RateLimits(settings.rate_coach_per_minute, settings.rate_search_per_minute),
            max_pending_drafts=settings.max_pending_drafts,
            records=learning,
            writer_warm=writer_warm,
        )


def warm_behind(indexer: Indexer) -> threading.Event:
    """Warm the indexer (`Indexer.warm`: seconds of imports) in a thread of its own once the
    service runs, so that neither readiness nor a curator's first save waits for it; the event
    is set when it is done (/readyz says so)."""
    done = threading.Event()

    def warm() -> None:
        try:
            indexer.warm()
        except Exception:  # a failed warm-up costs the first save its time, nothing else
            log.exception("warming the indexer failed")
        finally:
            done.set()

    threading.Thread(target=warm, name="coach-warm", daemon=True).start()
    return done


def _lifespan(
    settings: Settings, coach: Coach | None, local: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with serving(settings, coach, local=local) as services:
            app.state.services = services
            yield

    return lifespan


class _App(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's error middleware, so a 500 carries the headers too (and, on the
        # chat paths, is in OpenAI's error format like every other error there).
        return ResponseHeaders(OpenAIErrors(super().build_middleware_stack()))


def create_app(settings: Settings, coach: Coach | None = None, *, local: bool = False) -> FastAPI:
    """The service for these settings. `coach` may be given (already loaded) or is built here.
    `local`: single-user mode without API keys, for this machine only (`api.security`)."""
    app = _App(
        title="Coach",
        version="1",
        summary="Coaching for learning while working, grounded in the organisation's documents.",
        lifespan=_lifespan(settings, coach, local),
        strict_content_type=True,  # a body is JSON only when it says so (FastAPI >= 0.132)
    )
    install(app)
    app.state.public_url = settings.public_url  # for absolute links (`api.deps.public_url`)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(RequestGuard, local=local)
    app.mount("/static", StaticFiles(directory=web.WEB), name="static")
    for module in (web, health, coaching, sessions, drafts, groups, insights, documents, privacy):
        app.include_router(module.router)
    app.include_router(cycles.router)
    app.include_router(portfolio.router)
    app.include_router(records.router)
    app.include_router(chat.router)
    openapi.install(app)
    chat.describe(app)
    return app


def app_from_env() -> FastAPI:
    """The service for the settings in the environment (COACH_*): what each uvicorn worker
    process builds when `coach serve --workers N` runs more than one."""
    return create_app(Settings(), local=os.environ.get(LOCAL_MODE_VARIABLE) == "1")
