"""The API served by a real uvicorn on 127.0.0.1, read by a real HTTP client: SSE streaming."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.main import create_app
from coach.engine import Coach
from tests.api_support import SITUATION, Env
from tests.conftest import free_port


@pytest.fixture
def server(tmp_path: Path, api_coach: Coach) -> Iterator[tuple[str, Env]]:
    env = Env(tmp_path, api_coach)
    port = free_port()
    config = uvicorn.Config(
        create_app(env.settings, api_coach), host="127.0.0.1", port=port, log_level="warning"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", env
    uv.should_exit = True
    thread.join(timeout=10)


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
