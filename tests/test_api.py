"""The HTTP API through TestClient: coaching, search, sessions, access and errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from coach.engine import Coach
from coach.generate.extractive import ExtractiveComposer
from coach.index.embedders import Embedder
from coach.index.indexer import Indexer
from coach.index.records import StoreLocation
from coach.keys import KeyStore
from coach.retrieve.retriever import Retriever
from coach.settings import Settings
from tests.api_support import SITUATION, Env
from tests.coaching_corpus import write_coaching_corpus
from tests.conftest import CorpusBuilder, free_port, running_chroma


@pytest.fixture
def env(tmp_path: Path, api_coach: Coach) -> Env:
    return Env(tmp_path, api_coach)


@pytest.fixture
def client(env: Env) -> Iterator[TestClient]:
    with env.client() as test_client:
        yield test_client


def ask(client: TestClient, env: Env, who: str = "pro", **body: object) -> str:
    response = client.post(
        "/v1/coach", json={"situation": SITUATION, **body}, headers=env.headers(who)
    )
    assert response.status_code == 200, response.text
    return response.headers["X-Session-Id"]


def assert_problem(response: Any, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and fragment in body["detail"]
    assert "Traceback" not in response.text


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks.pop("writer") in ("warming", "ok")  # ready either way: warming is informative
    assert checks == {"index": "ok", "database": "ok"}
    deadline = time.monotonic() + 60
    while client.get("/readyz").json()["checks"]["writer"] != "ok":
        assert time.monotonic() < deadline, "the indexer did not warm up within a minute"
        time.sleep(0.1)


def test_coaching_returns_the_schema_and_stores_a_session(client: TestClient, env: Env) -> None:
    response = client.post("/v1/coach", json={"situation": SITUATION}, headers=env.headers("pro"))
    assert response.status_code == 200
    result = response.json()
    assert result["grounded"] and result["sources"][0]["id"] == "les-terugbellen-klanten"
    session_id = response.headers["X-Session-Id"]
    assert response.headers["Location"] == f"/v1/sessions/{session_id}"
    listed = client.get("/v1/sessions", headers=env.headers("pro")).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == session_id
    assert listed["items"][0]["result"] == result


def test_search_and_didactic_questions(client: TestClient, env: Env) -> None:
    found = client.post(
        "/v1/search",
        json={"query": "heat pump house stays cold", "filters": {"type": "lesson"}, "k": 3},
        headers=env.headers("curator"),
    )
    assert found.status_code == 200
    sources = found.json()["sources"]
    assert sources[0]["id"] == "les-heat-pump-curve"
    assert {source["type"] for source in sources} == {"lesson"}
    questions = client.get("/v1/didactic-questions", headers=env.headers("pro")).json()
    assert len(questions) == 10 and {"nl", "en"} <= set(questions[0]["text"])


# endpoint, method, body; expected status for no key / professional / curator / admin
MATRIX = [
    ("/v1/coach", "post", {"situation": SITUATION}, (401, 200, 403, 200)),
    ("/v1/search", "post", {"query": "storing"}, (401, 200, 200, 200)),
    ("/v1/didactic-questions", "get", None, (401, 200, 200, 200)),
    ("/v1/sessions", "get", None, (401, 200, 403, 200)),
    ("/v1/sessions/{id}", "get", None, (401, 200, 403, 404)),
    ("/v1/sessions/{id}/summary", "get", None, (401, 200, 403, 404)),
    ("/v1/sessions/{id}/feedback", "post", {"helpful": True}, (401, 200, 403, 404)),
    ("/v1/sessions/{id}/lesson", "post", {"lesson": ""}, (401, 422, 403, 422)),
    ("/v1/sessions/{id}", "delete", None, (401, 204, 403, 404)),
    ("/v1/documents", "get", None, (401, 403, 200, 200)),
    ("/v1/documents/proc-expense-claims", "get", None, (401, 403, 200, 200)),
    ("/v1/documents", "post", {"id": "x"}, (401, 403, 422, 422)),
    ("/v1/documents/proc-expense-claims", "put", {}, (401, 403, 428, 428)),
    ("/v1/drafts", "get", None, (401, 403, 200, 200)),
    ("/v1/drafts/nope/approve", "post", None, (401, 403, 404, 404)),
    ("/v1/drafts/nope/reject", "post", {"reason": "r"}, (401, 403, 404, 404)),
    ("/v1/insights", "get", None, (401, 403, 200, 200)),
    ("/healthz", "get", None, (200, 200, 200, 200)),
    ("/v1/me", "get", None, (401, 200, 200, 200)),
    ("/v1/teams", "get", None, (401, 200, 200, 200)),
    ("/v1/sources/proc-expense-claims", "get", None, (401, 200, 200, 200)),
    ("/", "get", None, (200, 200, 200, 200)),
]


@pytest.mark.parametrize(("path", "method", "body", "expected"), MATRIX)
def test_role_matrix(
    client: TestClient,
    env: Env,
    path: str,
    method: str,
    body: dict[str, object] | None,
    expected: tuple[int, int, int, int],
) -> None:
    session_id = ask(client, env, "pro")
    for who, status in zip((None, "pro", "curator", "admin"), expected, strict=True):
        url = path.format(id=session_id)
        kwargs: dict[str, object] = {"headers": env.headers(who)}
        if body is not None:
            kwargs["json"] = body
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code == status, (who, url, response.text)
        if status >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
        if method == "delete" and status == 204:
            session_id = ask(client, env, "pro")  # the next caller needs one to exist


def test_me_teams_and_cited_sources(client: TestClient, env: Env) -> None:
    me = client.get("/v1/me", headers=env.headers("pro")).json()
    assert me == {"user": "pia", "role": "professional", "local_mode": False}
    teams = client.get("/v1/teams", headers=env.headers("pro")).json()["teams"]
    assert "Finance" in teams and teams == sorted(teams)
    source = client.get("/v1/sources/proc-expense-claims", headers=env.headers("pro")).json()
    assert source["title"] == "Claiming business expenses" and "## " in source["body"]
    retired = client.get("/v1/sources/proc-storing-melden-oud", headers=env.headers("pro"))
    assert_problem(retired, 404, "no active document")
    page = client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/app.js").status_code == 200


def test_unknown_key_is_401_and_revoked_key_stops_working(client: TestClient, env: Env) -> None:
    bad = client.get("/v1/sessions", headers={"Authorization": "Bearer ck_nope"})
    assert_problem(bad, 401, "unknown or revoked")
    KeyStore(env.settings.keys_path()).revoke("pia")
    assert_problem(client.get("/v1/sessions", headers=env.headers("pro")), 401, "unknown")


def test_someone_elses_session_is_not_found(client: TestClient, env: Env) -> None:
    session_id = ask(client, env, "pro")
    other = env.headers("pro2")
    assert_problem(client.get(f"/v1/sessions/{session_id}", headers=other), 404, "no session")
    assert_problem(client.delete(f"/v1/sessions/{session_id}", headers=other), 404, "no session")
    feedback = client.post(
        f"/v1/sessions/{session_id}/feedback", json={"helpful": False}, headers=other
    )
    assert_problem(feedback, 404, "no session")
    assert client.get("/v1/sessions", headers=other).json()["total"] == 0
    assert client.get(f"/v1/sessions/{session_id}", headers=env.headers("pro")).status_code == 200


def test_feedback_summary_and_delete(client: TestClient, env: Env) -> None:
    session_id = ask(client, env, "pro")
    mine = env.headers("pro")
    updated = client.post(
        f"/v1/sessions/{session_id}/feedback",
        json={"helpful": True, "comment": "De Topdesk-taak werkt."},
        headers=mine,
    ).json()
    assert updated["helpful"] is True and updated["comment"] == "De Topdesk-taak werkt."
    summary = client.get(f"/v1/sessions/{session_id}/summary", headers=mine)
    assert summary.headers["content-type"].startswith("text/markdown")
    text = summary.text
    assert text.startswith("# Coachingsessie") and SITUATION in text
    assert "les-terugbellen-klanten" in text and "nuttig: De Topdesk-taak werkt." in text
    assert client.delete(f"/v1/sessions/{session_id}", headers=mine).status_code == 204
    assert_problem(client.get(f"/v1/sessions/{session_id}", headers=mine), 404, "no session")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"situation": "x" * 4001}, "situation"),
        ({"situation": ""}, "situation"),
        ({"situation": "   "}, "white space"),
        ({"situation": SITUATION, "k": 0}, "k"),
        ({"situation": SITUATION, "k": 21}, "k"),
        ({"situation": SITUATION, "type": "memo"}, "type"),
        ({}, "situation"),
    ],
)
def test_invalid_requests_are_422_problems(
    client: TestClient, env: Env, body: dict[str, object], fragment: str
) -> None:
    response = client.post("/v1/coach", json=body, headers=env.headers("pro"))
    assert_problem(response, 422, fragment)


def test_oversized_body_is_413(client: TestClient, env: Env) -> None:
    huge = {"situation": SITUATION, "padding": "x" * (300 * 1024)}
    assert_problem(client.post("/v1/coach", json=huge, headers=env.headers("pro")), 413, "256 kB")


def test_a_broken_keys_file_is_a_clear_503(client: TestClient, env: Env) -> None:
    env.settings.keys_path().write_text("{not json", encoding="utf-8")
    response = client.get("/v1/sessions", headers=env.headers("pro"))
    assert_problem(response, 503, "keys file")


def test_sessions_survive_a_restart(env: Env) -> None:
    with env.client() as first:
        session_id = ask(first, env, "pro")
        first.post(
            f"/v1/sessions/{session_id}/feedback",
            json={"helpful": False},
            headers=env.headers("pro"),
        )
    with env.client() as second:  # a new app on the same database
        stored = second.get(f"/v1/sessions/{session_id}", headers=env.headers("pro"))
        assert stored.status_code == 200 and stored.json()["helpful"] is False


def test_unreachable_index_is_503_and_the_service_recovers(
    tmp_path: Path, multilingual: Embedder, api_coach: Coach
) -> None:
    port = free_port()
    location = StoreLocation(collection="coach", host="127.0.0.1", port=port)
    env = Env(
        tmp_path,
        Coach(Retriever(multilingual, location), api_coach.didactics, ExtractiveComposer()),
    )
    corpus = CorpusBuilder(tmp_path / "corpus")
    write_coaching_corpus(corpus)
    with env.client() as client:
        pro = env.headers("pro")
        response = client.post("/v1/coach", json={"situation": SITUATION}, headers=pro)
        assert_problem(response, 503, "index")
        assert "127.0.0.1" not in response.text  # the Chroma host is for the server log
        assert_problem(client.get("/readyz"), 503, "index")
        assert client.get("/healthz").status_code == 200
        # The server comes up (and gets its index): the same running service answers.
        with running_chroma(tmp_path / "chroma", port):
            Indexer(multilingual, location).run(corpus.root)
            assert client.get("/readyz").status_code == 200
            response = client.post("/v1/coach", json={"situation": SITUATION}, headers=pro)
            assert response.status_code == 200 and response.json()["grounded"]


def test_a_failing_llm_falls_back_through_the_api(tmp_path: Path, multilingual: Embedder) -> None:
    """The service built from settings alone, with an LLM endpoint that fails (HTTP 500)."""
    from coach.offline import offline_environment
    from tests.fake_llm import FakeChatServer

    offline_environment()
    corpus = CorpusBuilder(tmp_path / "corpus")
    write_coaching_corpus(corpus)
    Indexer(multilingual, StoreLocation(collection="coach", path=tmp_path / "index")).run(
        corpus.root
    )
    server = FakeChatServer()
    server.answer('{"error": {"message": "overloaded"}}', status=500)
    try:
        settings = Settings(
            corpus_dir=corpus.root,
            index_dir=tmp_path / "index",
            data_dir=tmp_path / "data",
            llm_base_url=server.base_url,
            llm_model="fake-model",
        )
        app = create_app(settings, local=True)  # local mode: this machine's requests only
        with TestClient(
            app, base_url="http://127.0.0.1:8000", client=("127.0.0.1", 50000)
        ) as client:
            result = client.post("/v1/coach", json={"situation": SITUATION}).json()
    finally:
        server.close()
    assert result["generator"] == "extractive" and result["suggestions"]
    # It says it fell back; which model and what it answered is for the server log only.
    assert "no usable answer" in result["notes"][0] and "HTTP 500" not in result["notes"][0]
    assert server.requests, "the LLM was asked first"
