"""The API served by a real uvicorn on 127.0.0.1, read by a real HTTP client: SSE streaming."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from api.deps import ApiServices, get_services
from api.main import create_app
from coach.engine import Coach
from coach.result import CoachingResult
from tests.api_support import SITUATION, Env
from tests.conftest import free_port


@contextmanager
def uvicorn_serving(app: FastAPI) -> Iterator[str]:
    """`app` on a real uvicorn in a thread; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server(tmp_path: Path, api_coach: Coach) -> Iterator[tuple[str, Env]]:
    env = Env(tmp_path, api_coach)
    with uvicorn_serving(create_app(env.settings, api_coach)) as base:
        yield base, env


def read_events(response: httpx.Response) -> list[tuple[str, dict[str, object]]]:
    events: list[tuple[str, dict[str, object]]] = []
    kind = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[len("event: ") :]
        elif line.startswith("data: "):
            events.append((kind, json.loads(line[len("data: ") :])))
    return events


def test_coaching_streams_progress_then_the_result(server: tuple[str, Env]) -> None:
    base, env = server
    headers = {**env.headers("pro"), "Accept": "text/event-stream"}
    with httpx.stream(
        "POST", f"{base}/v1/coach", json={"situation": SITUATION}, headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response)
    kinds = [kind for kind, _ in events]
    stages = [data["stage"] for kind, data in events if kind == "progress"]
    assert stages == ["received", "retrieval", "generation", "questions"]
    assert kinds[-1] == "result" and kinds.count("result") == 1
    result = events[-1][1]
    assert result["grounded"] is True and result["sources"]
    # The session was stored before the result was sent.
    stored = httpx.get(f"{base}/v1/sessions/{result['session_id']}", headers=env.headers("pro"))
    assert stored.status_code == 200 and stored.json()["result"]["situation"] == SITUATION


def test_a_bad_request_is_a_problem_before_any_stream(server: tuple[str, Env]) -> None:
    base, env = server
    headers = {**env.headers("pro"), "Accept": "text/event-stream"}
    response = httpx.post(f"{base}/v1/coach", json={"situation": "  "}, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_stream_whose_client_left_is_not_waited_on(tmp_path: Path, api_coach: Coach) -> None:
    """Streams coach on a bounded pool. A client that leaves while its answer is being worked
    out stops the work: a job still queued for a worker never runs, and one that runs stops
    at its next stage and stores nothing (nobody is there to read it)."""
    env = Env(tmp_path, api_coach)
    started: list[str] = []
    release = threading.Event()

    class HeldCoach:
        """The real coach, held at the start of each answer until the test releases it."""

        didactics = api_coach.didactics

        def ask(self, situation: str, *args: Any, **kwargs: Any) -> CoachingResult:
            started.append(situation)
            release.wait(20)
            return api_coach.ask(situation, *args, **kwargs)

    class OneWorker(ThreadPoolExecutor):
        def __init__(self) -> None:
            super().__init__(max_workers=1)
            self.jobs: list[Future[Any]] = []

        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            job = super().submit(fn, *args, **kwargs)
            self.jobs.append(job)
            return job

    pool = OneWorker()

    def held(request: Request) -> ApiServices:
        services = get_services(request)
        return replace(services, coach=cast(Coach, HeldCoach()), streams=pool)

    app = create_app(env.settings, api_coach)
    app.dependency_overrides[get_services] = held
    headers = {**env.headers("pro"), "Accept": "text/event-stream"}

    def until(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 20
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.05)

    with uvicorn_serving(app) as base:

        def ask_and_leave(situation: str) -> None:
            with httpx.stream(
                "POST", f"{base}/v1/coach", json={"situation": situation}, headers=headers
            ) as response:
                assert next(response.iter_lines()) == "event: progress"

        ask_and_leave(SITUATION)
        until(lambda: started == [SITUATION])  # its client has gone; the job runs on
        ask_and_leave(SITUATION + " Twee.")  # queued behind the first, then left
        until(lambda: len(pool.jobs) == 2 and pool.jobs[1].cancelled())
        assert not pool.jobs[0].done()
        release.set()
        until(lambda: pool.jobs[0].done())
        listed = httpx.get(f"{base}/v1/sessions", headers=env.headers("pro")).json()
    pool.shutdown()
    assert started == [SITUATION]  # the second answer was never worked out
    assert listed["items"] == []  # the first stopped before generation: no session stored
