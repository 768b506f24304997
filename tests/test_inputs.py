"""Bad input gets a 4xx problem+json that says what to fix, and nothing is written: ids that are
not ids, numbers out of range, lone surrogates, oversize bodies sent in chunks.

These run the real app on the doubles of `coach.testing` (no model, no index): the curator
writes files but indexes nothing, which is all these tests need."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from api.deps import ApiServices, get_services
from api.main import create_app
from coach.ingest.corpus import scan_corpus
from coach.ingest.curation import Curator
from coach.ingest.didactics import load_didactics
from coach.testing import memory_coach
from tests.api_support import SITUATION, Env

NEW = {
    "title": "Omvormer valt uit na onweer",
    "type": "lesson",
    "language": "nl",
    "team": "Buitendienst",
    "body": "## Les\n- Controleer eerst de aardlekschakelaar van de omvormergroep.\n",
}
LESSON = {"lesson": "Controleer na onweer eerst de aardlekschakelaar van de omvormergroep."}


@dataclass
class FastApi:
    """The app on the coaching corpus, with a coach in memory and a curator that indexes
    nothing; `curator` is the one every request uses."""

    env: Env
    client: TestClient
    curator: Curator

    @property
    def corpus(self) -> Path:
        return self.env.settings.corpus_dir

    def headers(self, who: str | None) -> dict[str, str]:
        return self.env.headers(who)

    def session(self, who: str = "pro") -> str:
        response = self.client.post(
            "/v1/coach", json={"situation": SITUATION}, headers=self.headers(who)
        )
        assert response.status_code == 200, response.text
        return str(response.headers["X-Session-Id"])

    def lesson(self, who: str = "pro", session_id: str | None = None) -> Any:
        session_id = session_id or self.session(who)
        return self.client.post(
            f"/v1/sessions/{session_id}/lesson", json=LESSON, headers=self.headers(who)
        )


@contextmanager
def fast_api(root: Path, **services: Any) -> Iterator[FastApi]:
    """`FastApi` under `root`; `services` replace fields of the app's `ApiServices`."""
    env = Env(root, memory_coach([]))
    documents = scan_corpus(env.settings.corpus_dir).documents
    coach = memory_coach(documents, didactics=load_didactics(env.settings.didactics_path()))
    env.coach = coach
    curator = Curator(env.settings.corpus_dir, None)
    app = create_app(env.settings, coach)

    def in_memory(request: Request) -> ApiServices:
        return replace(get_services(request), curator=curator, **services)

    app.dependency_overrides[get_services] = in_memory
    with TestClient(app, raise_server_exceptions=False) as client:
        yield FastApi(env, client, curator)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[FastApi]:
    with fast_api(tmp_path) as built:
        yield built


def assert_problem(response: Any, status: int, *fragments: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    for fragment in fragments:
        assert fragment in body["detail"], body["detail"]
    return body


def files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file() and path.suffix == ".md"}


# -- ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", ["evil\n", "../secret", "/etc/x", "**/**", "a/b", "readme"])
def test_an_id_that_is_not_an_id_is_refused_before_any_file_is_touched(
    api: FastApi, tmp_path: Path, doc_id: str
) -> None:
    (tmp_path / "secret.md").write_text("outside the corpus\n", encoding="utf-8")
    before = files_under(tmp_path)
    response = api.client.post(
        "/v1/documents", json={**NEW, "id": doc_id}, headers=api.headers("curator")
    )
    body = assert_problem(response, 422)
    assert {error["field"] for error in body["errors"]} == {"id"}
    message = body["errors"][0]["message"]
    assert "a-z, 0-9 and -" in message or "README files are never read" in message
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("doc_id", ["evil%0A", "..%2E", "x%20y", "UPPER"])
def test_a_path_id_that_is_not_an_id_is_422_for_every_document_verb(
    api: FastApi, doc_id: str
) -> None:
    cur = api.headers("curator") | {"If-Match": '"x"'}
    for method in ("get", "put", "delete"):
        kwargs: dict[str, Any] = {"json": NEW} if method == "put" else {}
        response = getattr(api.client, method)(f"/v1/documents/{doc_id}", headers=cur, **kwargs)
        body = assert_problem(response, 422, "doc_id", "a-z0-9-")
        assert body["errors"][0]["field"] == "doc_id"


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "who"),
    [("/v1/sessions", "pro"), ("/v1/documents", "curator")],
)
def test_an_offset_past_the_maximum_is_422_not_500(api: FastApi, path: str, who: str) -> None:
    response = api.client.get(path, params={"offset": 10**30}, headers=api.headers(who))
    body = assert_problem(response, 422, "offset")
    assert body["errors"][0]["field"] == "offset"
    fine = api.client.get(path, params={"offset": 1_000_000}, headers=api.headers(who))
    assert fine.status_code == 200 and fine.json()["items"] == []


# -- text -------------------------------------------------------------------------------------


def test_a_lone_surrogate_in_a_document_is_422_naming_the_field(api: FastApi) -> None:
    before = files_under(api.corpus)
    raw = '{"id": "les-omvormer", "title": "Omvormer", "type": "lesson", "language": "nl", '
    raw += '"body": "Tekst \\ud800 meer tekst"}'
    headers = api.headers("curator") | {"Content-Type": "application/json"}
    response = api.client.post("/v1/documents", content=raw, headers=headers)
    body = assert_problem(response, 422, "surrogate")
    assert [error["field"] for error in body["errors"]] == ["body"]
    assert files_under(api.corpus) == before


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        ("/v1/coach", '{"situation": "Klanten \\udc00 bellen"}', "situation"),
        ("/v1/search", '{"query": "storing", "filters": {"team": "\\ud83d"}}', "filters.team"),
        ("/v1/sessions/{id}/lesson", '{"lesson": "Les \\ud800"}', "lesson"),
        ("/v1/sessions/{id}/feedback", '{"helpful": true, "comment": "\\udfff"}', "comment"),
    ],
)
def test_a_lone_surrogate_anywhere_is_422_naming_the_field(
    api: FastApi, path: str, raw: str, field: str
) -> None:
    session_id = api.session()
    headers = api.headers("pro") | {"Content-Type": "application/json"}
    response = api.client.post(path.format(id=session_id), content=raw, headers=headers)
    body = assert_problem(response, 422, "surrogate")
    assert [error["field"] for error in body["errors"]] == [field]
    sessions = api.client.get("/v1/sessions", headers=api.headers("pro")).json()
    assert sessions["total"] == 1 and sessions["items"][0]["comment"] is None


# -- size -------------------------------------------------------------------------------------


def test_an_oversize_body_sent_in_chunks_is_413(api: FastApi) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"situation": "'
        for _ in range(40):
            yield b"x" * 8192
        yield b'"}'

    headers = api.headers("pro") | {"Content-Type": "application/json"}
    response = api.client.post("/v1/coach", content=chunks(), headers=headers)
    assert_problem(response, 413, "256 kB")
    assert api.client.get("/v1/sessions", headers=api.headers("pro")).json()["total"] == 0
