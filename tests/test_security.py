"""Local mode, cross-site requests, security headers, what callers are told and rate limits:
the HTTP API through TestClient on an in-memory coach (no model, no server)."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import socket
import time
import tomllib
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from packaging.requirements import Requirement
from pydantic import SecretStr

from api.deps import ApiServices, get_services
from api.main import create_app
from api.ratelimit import RateLimiter
from coach.engine import Coach
from coach.errors import IndexNotFoundError
from coach.generate.extractive import ExtractiveComposer
from coach.generate.fallback import FallbackGenerator
from coach.generate.llm import LLMConfig, LLMGenerator
from coach.ingest.corpus import Document
from coach.ingest.didactics import Didactics
from coach.retrieve.retriever import Retriever
from coach.settings import Settings
from coach.testing import HASHING_CALIBRATION, MEMORY_LOCATION, HashingEmbedder, memory_coach
from tests.api_support import SITUATION, Env
from tests.coaching_corpus import coaching_documents
from tests.fake_llm import FakeChatServer

REPO = Path(__file__).resolve().parents[1]
LOCAL = "http://127.0.0.1:8000"
EVIL = "https://attacker.example"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    return coaching_documents(tmp_path_factory.mktemp("security"))


@pytest.fixture
def env(tmp_path: Path, documents: list[Document]) -> Env:
    return Env(tmp_path, memory_coach(documents))


def serve(app: Any, client: str = "127.0.0.1") -> TestClient:
    """`app` as this machine's browser reaches a service on 127.0.0.1:8000."""
    return TestClient(app, base_url=LOCAL, client=(client, 50000), raise_server_exceptions=False)


def local(env: Env, client: str = "127.0.0.1", **settings: object) -> TestClient:
    """The service in local mode (what `coach serve --local` runs)."""
    return serve(
        create_app(env.settings.model_copy(update=settings), env.coach, local=True), client
    )


@pytest.fixture
def client(env: Env) -> Iterator[TestClient]:
    with env.client() as test_client:
        yield test_client


def assert_problem(response: Any, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fragment in response.json()["detail"], response.json()["detail"]


def coach(client: TestClient, headers: dict[str, str] | None = None) -> Any:
    return client.post("/v1/coach", json={"situation": SITUATION}, headers=headers or {})


# -- 1. local mode: loopback only, the flag only, no DNS rebinding, no cross-site writes -------


def test_local_mode_answers_only_requests_addressed_to_this_machine(env: Env) -> None:
    """A page on attacker.example that rebinds its name to 127.0.0.1 sends `Host:
    attacker.example:8000`; it is refused before anything is read or written."""
    with local(env) as client:
        assert client.get("/v1/me").json()["local_mode"] is True
        for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000"):
            assert client.get("/v1/me", headers={"Host": host}).status_code == 200, host
        for host in (
            "attacker.example:8000",
            "attacker.example",
            "127.0.0.1.attacker.example:8000",
            "127.0.0.1:9999",  # another port of this machine is another origin
            "localhost",
        ):
            refused = client.get("/v1/sessions", headers={"Host": host})
            assert_problem(refused, 421, "127.0.0.1:8000")
            assert refused.headers["Cache-Control"] == "no-store"


def test_local_mode_refuses_writes_from_another_site(env: Env) -> None:
    with local(env) as client:
        for headers in (
            {"Origin": EVIL},
            {"Origin": "null"},  # a sandboxed frame or a file
            {"Origin": "http://localhost:3000"},  # another port is another origin
            {"Sec-Fetch-Site": "cross-site"},
            {"Origin": LOCAL, "Sec-Fetch-Site": "same-site"},
        ):
            assert_problem(coach(client, headers), 403, "another site")
        assert client.get("/v1/sessions").json()["total"] == 0
        # The page itself (same origin), and a client that is no browser (no Origin), may.
        answered = coach(client, {"Origin": LOCAL, "Sec-Fetch-Site": "same-origin"})
        assert answered.status_code == 200, answered.text
        session_id = coach(client).headers["X-Session-Id"]
        lesson = client.post(
            f"/v1/sessions/{session_id}/lesson",
            json={"lesson": "Bel elke klant terug."},
            headers={"Origin": LOCAL},
        )
        assert lesson.status_code == 201, lesson.text
        # A body-less POST needs no preflight: a form on another site could send it.
        draft = lesson.json()["id"]
        refused = client.post(f"/v1/drafts/{draft}/approve", headers={"Origin": EVIL})
        assert_problem(refused, 403, "another site")
        assert [d["id"] for d in client.get("/v1/drafts").json()] == [draft]  # still pending


def test_local_mode_serves_no_other_machine(env: Env) -> None:
    with local(env, client="192.0.2.7") as client:
        assert_problem(client.get("/v1/sessions"), 403, "this machine")


def test_only_the_serve_flag_turns_local_mode_on(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`COACH_LOCAL_MODE=true` in the environment or in `.env` no longer opens the service."""
    monkeypatch.setenv("COACH_LOCAL_MODE", "true")
    monkeypatch.chdir(tmp_path)
    Path(".env").write_text("COACH_LOCAL_MODE=true\n", encoding="utf-8")
    settings = Settings(
        corpus_dir=env.settings.corpus_dir,
        index_dir=env.settings.index_dir,
        data_dir=env.settings.data_dir,
    )
    with serve(create_app(settings, env.coach)) as client:
        assert_problem(client.get("/v1/me"), 401, "API key")
        assert coach(client).status_code == 401


def test_a_body_not_sent_as_json_is_refused_and_nothing_is_stored(
    client: TestClient, env: Env
) -> None:
    """A page may POST text/plain or a Blob (no Content-Type) anywhere without a preflight;
    neither is read as JSON."""
    body = json.dumps({"situation": SITUATION}).encode()
    pro = env.headers("pro")
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**pro, **({"Content-Type": content_type} if content_type else {})}
        refused = client.post("/v1/coach", content=body, headers=headers)
        assert_problem(refused, 415, "Content-Type: application/json")
    assert client.get("/v1/sessions", headers=pro).json()["total"] == 0
    answered = client.post("/v1/coach", content=body, headers={**pro, **JSON})
    assert answered.status_code == 200
    with local(env) as local_client:  # the case that matters: no key to stop it
        blob = local_client.post("/v1/coach", content=body)
        assert_problem(blob, 415, "Content-Type: application/json")


def test_fastapi_is_pinned_to_a_release_that_refuses_json_without_its_content_type() -> None:
    """FastAPI 0.132.0 made `strict_content_type` the default: before it, a body without a
    Content-Type was parsed as JSON."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    (pin,) = [
        Requirement(dependency)
        for dependency in project["project"]["dependencies"]
        if Requirement(dependency).name == "fastapi"
    ]
    assert not pin.specifier.contains("0.131.0") and pin.specifier.contains("0.132.0")
    assert pin.specifier.contains(version("fastapi"))


# -- 2. security headers on every response ----------------------------------------------------


def assert_secured(response: Any) -> None:
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    assert "frame-ancestors 'none'" in response.headers.get("Content-Security-Policy", ""), where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "no-referrer", where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    if response.request.url.path.startswith("/v1"):
        assert response.headers.get("Cache-Control") == "no-store", where


def test_every_response_carries_the_security_headers(client: TestClient, env: Env) -> None:
    pro = env.headers("pro")
    answered = coach(client, pro)
    session_id = answered.headers["X-Session-Id"]
    responses = [
        client.get("/"),
        client.get("/static/index.html"),
        client.get("/static/app.js"),
        client.get("/static/missing.js"),
        client.get("/healthz"),
        client.get("/readyz"),
        client.get("/openapi.json"),
        client.get("/docs"),
        client.get("/nowhere"),
        answered,
        client.get("/v1/me", headers=pro),
        client.get("/v1/me"),  # 401
        client.get("/v1/sessions", headers=pro),
        client.get(f"/v1/sessions/{session_id}", headers=pro),
        client.post("/v1/search", json={"query": "terugbellen"}, headers=pro),
        client.post("/v1/coach", json={"situation": " "}, headers=pro),  # 422
        client.post("/v1/coach", content=b"x" * 300_000, headers={**pro, **JSON}),  # 413
        client.get("/v1/drafts", headers=env.headers("curator")),
        client.get("/v1/drafts", headers=pro),  # 403
    ]
    with client.stream(
        "POST",
        "/v1/coach",
        json={"situation": SITUATION},
        headers={**pro, "Accept": "text/event-stream"},
    ) as stream:
        responses.append(stream)
    for response in responses:
        assert_secured(response)
    assert {r.status_code for r in responses} >= {200, 401, 403, 404, 413, 422}


def test_an_unexpected_error_carries_the_security_headers_too(env: Env) -> None:
    def broken() -> ApiServices:
        raise RuntimeError("boom")

    app = create_app(env.settings, env.coach)
    app.dependency_overrides[get_services] = broken
    with TestClient(app, raise_server_exceptions=False) as client:
        failed = client.get("/v1/me", headers=env.headers("pro"))
    assert_problem(failed, 500, "unexpected error")
    assert "boom" not in failed.text
    assert_secured(failed)


# -- 3. no internal paths, hosts, processes or upstream details to callers --------------------


def test_readiness_names_no_path_or_host_to_anyone_but_an_admin(
    tmp_path: Path, didactics: Didactics, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "embedded index /srv/coach/secret-index (collection coach)"

    def no_index() -> Any:
        raise IndexNotFoundError(f"no index in the {secret}; run `coach index` first")

    retriever = Retriever(HashingEmbedder(), MEMORY_LOCATION, open_store=no_index)
    calibration = HASHING_CALIBRATION
    env = Env(
        tmp_path,
        Coach(
            retriever,
            didactics,
            ExtractiveComposer(),
            grounding_threshold=calibration.similarity,
            grounding_score=calibration.score,
        ),
    )
    with env.client() as client, caplog.at_level(logging.WARNING):
        for who in (None, "pro", "curator"):
            refused = client.get("/readyz", headers=env.headers(who))
            assert_problem(refused, 503, "index")
            assert "/srv/coach" not in refused.text, who
        asked = coach(client, env.headers("pro"))
        assert_problem(asked, 503, "index")
        assert "/srv/coach" not in asked.text
        detailed = client.get("/readyz", headers=env.headers("admin"))
        assert_problem(detailed, 503, secret)
    assert secret in caplog.text  # the operator finds it in the server log


@pytest.fixture(scope="module")
def didactics() -> Didactics:
    return Didactics(phases=(), questions=())


def test_the_worker_header_names_neither_host_nor_process(client: TestClient) -> None:
    worker = client.get("/healthz").headers["X-Worker"]
    assert re.fullmatch(r"[0-9a-f]{12}", worker), worker
    assert socket.gethostname() not in worker and str(os.getpid()) not in worker
    assert client.get("/readyz").headers["X-Worker"] == worker  # stable: tells workers apart


def test_a_failing_language_model_is_not_named_to_the_caller(
    tmp_path: Path, documents: list[Document], caplog: pytest.LogCaptureFixture
) -> None:
    server = FakeChatServer()
    server.answer('{"error": {"message": "overloaded"}}', status=502)
    llm = LLMGenerator(LLMConfig(base_url=server.base_url, model="secret-model-7b", timeout=5))
    env = Env(
        tmp_path, memory_coach(documents, generator=FallbackGenerator(llm, ExtractiveComposer()))
    )
    try:
        with env.client() as client, caplog.at_level(logging.WARNING):
            result = coach(client, env.headers("pro")).json()
    finally:
        server.close()
    assert server.requests, "the model was asked first"
    assert result["generator"] == "extractive" and result["suggestions"]
    note = result["notes"][0]
    assert note.startswith("The language model gave no usable answer"), note
    assert "secret-model" not in json.dumps(result) and "502" not in note
    assert "secret-model-7b" in caplog.text and "HTTP 502" in caplog.text


def test_a_forged_host_never_gets_into_the_portfolio_pages_links(
    client: TestClient, env: Env
) -> None:
    """Without COACH_PUBLIC_URL the page links its stylesheets at the address the server was
    reached at, not at the `Host` the client wrote."""
    forged = {**env.headers("pro"), "Host": "evil.example"}
    page = client.get("/v1/portfolio", params={"format": "html"}, headers=forged)
    assert page.status_code == 200, page.text
    assert "evil.example" not in page.text
    assert '<link rel="stylesheet" href="http://testserver/static/app.css">' in page.text


def test_the_lrs_password_is_never_shown_or_logged(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """An LRS that repeats the credentials in its refusal: the reason the records status shows
    (and the log) has them blanked out."""
    password = "lrs-pa55word"
    token = base64.b64encode(f"coach:{password}".encode()).decode()
    lrs = FakeChatServer()
    lrs.behaviour = lambda body: (401, f"no user coach with password {password} ({token})")
    settings = env.settings.model_copy(
        update={
            "lrs_url": lrs.base_url,
            "lrs_username": "coach",
            "lrs_password": SecretStr(password),
            "xapi_interval_seconds": 0.1,
        }
    )
    try:
        with TestClient(create_app(settings, env.coach)) as client, caplog.at_level(logging.INFO):
            assert coach(client, env.headers("pro")).status_code == 200
            deadline = time.monotonic() + 30
            while not (status := records(client, env))["failing"]:
                assert time.monotonic() < deadline, status
                time.sleep(0.1)
    finally:
        lrs.close()
    assert lrs.requests, "the LRS was asked"
    assert status["lrs_url"] == lrs.base_url
    assert status["last_error"].startswith("the LRS answered 401: no user coach with password ***")
    assert password not in json.dumps(status) and token not in json.dumps(status)
    assert "the LRS answered 401" in caplog.text
    assert password not in caplog.text and token not in caplog.text


def records(client: TestClient, env: Env) -> Any:
    return client.get("/v1/admin/xapi", headers=env.headers("admin")).json()


def test_plain_http_to_another_machines_lrs_is_warned_about_at_start_up(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    for url, warned in (("http://lrs.example.org/xAPI", True), ("https://lrs.example.org", False)):
        caplog.clear()
        settings = env.settings.model_copy(
            update={"lrs_url": url, "lrs_username": "coach", "lrs_password": SecretStr("pw")}
        )
        with caplog.at_level(logging.WARNING), TestClient(create_app(settings, env.coach)):
            pass  # started and stopped: nothing waits, so the LRS is not asked
        said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("plain http" in message for message in said) == warned, (url, said)


# -- 4. rate limits per user --------------------------------------------------------------------


def test_coaching_and_search_are_limited_per_user_per_minute(env: Env) -> None:
    settings = env.settings.model_copy(
        update={"rate_coach_per_minute": 2, "rate_search_per_minute": 3}
    )
    pro, pro2 = env.headers("pro"), env.headers("pro2")
    stream = {**pro, "Accept": "text/event-stream"}
    with TestClient(create_app(settings, env.coach), raise_server_exceptions=False) as client:
        assert coach(client, pro).status_code == 200
        with client.stream("POST", "/v1/coach", json={"situation": SITUATION}, headers=stream) as s:
            assert s.status_code == 200 and "event: result" in s.read().decode()
        for headers in (pro, stream):  # the stream counts, and is counted
            refused = coach(client, headers)
            assert_problem(refused, 429, "2 coaching requests a minute")
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            assert refused.headers["Cache-Control"] == "no-store"
        assert client.get("/v1/sessions", headers=pro).json()["total"] == 2
        assert coach(client, pro2).status_code == 200  # each user has their own allowance
        found = [
            client.post("/v1/search", json={"query": "terugbellen"}, headers=pro).status_code
            for _ in range(4)
        ]
        assert found == [200, 200, 200, 429]


def test_local_mode_counts_too_and_zero_switches_a_limit_off(env: Env) -> None:
    with local(env, rate_coach_per_minute=1, rate_search_per_minute=0) as client:
        assert coach(client).status_code == 200
        assert_problem(coach(client), 429, "1 coaching request a minute")
        for _ in range(5):
            assert client.post("/v1/search", json={"query": "terugbellen"}).status_code == 200


def test_the_limit_is_a_sliding_minute() -> None:
    now = [1000.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.wait("pia") == 0 and limiter.wait("pia") == 0
    assert limiter.wait("piet") == 0
    now[0] += 20
    assert limiter.wait("pia") == 40  # seconds until the first of the two leaves the minute
    now[0] += 40
    # The refused request did not count: two more fit in this minute.
    assert limiter.wait("pia") == 0 and limiter.wait("pia") == 0
    assert limiter.wait("pia") == 60
    assert RateLimiter(0).wait("pia") == 0  # off
