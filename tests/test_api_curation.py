"""Curation through the API: lint-validated, atomic writes, ETags, and immediate re-indexing."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from coach.errors import StaleVersionError
from coach.index.embedders import Embedder
from coach.ingest.curation import Curator, Fields
from tests.api_support import Env
from tests.coaching_corpus import indexed_coach, write_coaching_corpus
from tests.conftest import CorpusBuilder


@pytest.fixture
def env(tmp_path: Path, multilingual: Embedder) -> Env:
    corpus = CorpusBuilder(tmp_path / "corpus")
    write_coaching_corpus(corpus)
    return Env(tmp_path, indexed_coach(corpus, multilingual, tmp_path / "index"))


@pytest.fixture
def client(env: Env) -> Iterator[TestClient]:
    with env.client() as test_client:
        yield test_client


NEW = {
    "id": "les-zonnepanelen-omvormer",
    "title": "Omvormer van zonnepanelen valt uit na onweer",
    "type": "lesson",
    "language": "nl",
    "team": "Buitendienst",
    "owner": "Kees van Leeuwen, senior monteur",
    "tags": ["zonnepanelen", "omvormer"],
    "body": "## Situatie\nNa onweer vielen omvormers uit.\n\n## Les\n- Controleer eerst de "
    "aardlekschakelaar van de omvormergroep voordat je een nieuwe omvormer bestelt.\n",
}


def search_ids(client: TestClient, env: Env, query: str) -> list[str]:
    response = client.post("/v1/search", json={"query": query, "k": 3}, headers=env.headers("pro"))
    return [source["id"] for source in response.json()["sources"]]


def test_list_and_get_documents(client: TestClient, env: Env) -> None:
    cur = env.headers("curator")
    listed = client.get("/v1/documents", headers=cur).json()
    assert listed["total"] == 7 and all(item["body"] is None for item in listed["items"])
    retired = client.get("/v1/documents", params={"status": "retired"}, headers=cur).json()
    assert [item["id"] for item in retired["items"]] == ["proc-storing-melden-oud"]
    found = client.get("/v1/documents", params={"q": "heat pump"}, headers=cur).json()
    assert [item["id"] for item in found["items"]] == ["les-heat-pump-curve"]
    one = client.get("/v1/documents/les-heat-pump-curve", headers=cur)
    assert one.status_code == 200 and one.headers["ETag"] == one.json()["etag"]
    assert "heating curve" in one.json()["body"]
    missing = client.get("/v1/documents/nope", headers=cur)
    assert missing.status_code == 404 and "no document nope" in missing.json()["detail"]


def test_create_writes_the_file_and_indexes_it_at_once(client: TestClient, env: Env) -> None:
    assert "les-zonnepanelen-omvormer" not in search_ids(
        client, env, "omvormer zonnepanelen onweer"
    )
    created = client.post("/v1/documents", json=NEW, headers=env.headers("curator"))
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/v1/documents/les-zonnepanelen-omvormer"
    path = env.settings.corpus_dir / "buitendienst" / "les-zonnepanelen-omvormer.md"
    assert path.is_file() and path.read_text(encoding="utf-8").startswith("---\nid: les-zon")
    assert search_ids(client, env, "omvormer zonnepanelen onweer")[0] == "les-zonnepanelen-omvormer"
    again = client.post("/v1/documents", json=NEW, headers=env.headers("curator"))
    assert again.status_code == 409 and "already exists" in again.json()["detail"]


def test_invalid_document_lists_every_problem_and_writes_nothing(
    client: TestClient, env: Env
) -> None:
    bad = {**NEW, "id": "les-kapot", "type": "memo", "language": "fr", "body": "  "}
    response = client.post("/v1/documents", json=bad, headers=env.headers("curator"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert {"unknown-type", "unknown-language", "empty-body"} <= {e["rule"] for e in errors}
    by_field = {e["field"]: e["message"] for e in errors}  # for a form to show next to a field
    assert "memo" in by_field["type"] and "fr" in by_field["language"] and by_field["body"]
    assert not list(env.settings.corpus_dir.rglob("les-kapot.md"))
    assert not list(env.settings.corpus_dir.rglob(".*.tmp"))


def _put(client: TestClient, env: Env, etag: str | None, title: str) -> Any:
    doc = client.get("/v1/documents/proc-expense-claims", headers=env.headers("curator")).json()
    body = {key: doc[key] for key in ("type", "language", "team", "owner", "tags", "body")}
    headers = env.headers("curator") | ({"If-Match": etag} if etag else {})
    return client.put(
        "/v1/documents/proc-expense-claims", json={**body, "title": title}, headers=headers
    )


def test_update_needs_the_current_etag(client: TestClient, env: Env) -> None:
    path = env.settings.corpus_dir / "docs" / "proc-expense-claims.md"
    first = client.get("/v1/documents/proc-expense-claims", headers=env.headers("curator"))
    etag = first.headers["ETag"]
    assert _put(client, env, None, "No precondition").status_code == 428
    updated = _put(client, env, etag, "Claiming expenses and travel costs")
    assert updated.status_code == 200 and updated.headers["ETag"] != etag
    assert "title: Claiming expenses and travel costs" in path.read_text(encoding="utf-8")
    before = path.read_bytes()
    stale = _put(client, env, etag, "Someone else's edit")
    assert stale.status_code == 412 and "changed since you read it" in stale.json()["detail"]
    assert path.read_bytes() == before


def test_two_concurrent_updates_one_wins_one_gets_412(client: TestClient, env: Env) -> None:
    etag = client.get("/v1/documents/proc-expense-claims", headers=env.headers("curator")).headers[
        "ETag"
    ]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def edit(title: str) -> None:
        barrier.wait()
        statuses.append(_put(client, env, etag, title).status_code)

    threads = [threading.Thread(target=edit, args=(f"Edit {n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 412]


def test_delete_retires_the_document(client: TestClient, env: Env) -> None:
    assert search_ids(client, env, "heat pump house stays cold")[0] == "les-heat-pump-curve"
    cur = env.headers("curator")
    etag = client.get("/v1/documents/les-heat-pump-curve", headers=cur).headers["ETag"]
    retired = client.delete("/v1/documents/les-heat-pump-curve", headers=cur | {"If-Match": etag})
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    path = env.settings.corpus_dir / "docs" / "les-heat-pump-curve.md"
    assert "status: retired" in path.read_text(encoding="utf-8")
    assert "les-heat-pump-curve" not in search_ids(client, env, "heat pump house stays cold")


def test_professionals_cannot_curate(client: TestClient, env: Env) -> None:
    pro = env.headers("pro")
    assert client.get("/v1/documents", headers=pro).status_code == 403
    assert client.post("/v1/documents", json=NEW, headers=pro).status_code == 403
    assert client.delete("/v1/documents/proc-expense-claims", headers=pro).status_code == 403
    assert client.get("/v1/documents", headers=env.headers(None)).status_code == 401
    assert client.get("/v1/documents", headers=env.headers("admin")).status_code == 200


LESSON = {
    "what_tried": "Ik heb de meterkast bekeken en de groep van de omvormer gereset.",
    "what_worked": "De aardlekschakelaar van de omvormergroep resetten bracht de omvormer terug.",
    "what_not": "Een nieuwe omvormer bestellen was niet nodig en kostte een dag.",
    "lesson": "Controleer na onweer eerst de aardlekschakelaar van de omvormergroep.",
}
SOLAR = "Na onweer doet de omvormer van de zonnepanelen bij een klant het niet meer. Wat nu?"


def test_a_lesson_round_trip_ends_in_the_next_answer(client: TestClient, env: Env) -> None:
    pro, cur = env.headers("pro"), env.headers("curator")
    first = client.post("/v1/coach", json={"situation": SOLAR}, headers=pro)
    session_id = first.headers["X-Session-Id"]
    assert all("omvormer" not in s["action"] for s in first.json()["suggestions"])

    draft = client.post(f"/v1/sessions/{session_id}/lesson", json=LESSON, headers=pro)
    assert draft.status_code == 201, draft.text
    draft_body = draft.json()
    assert draft_body["state"] == "pending" and draft_body["session_id"] == session_id
    document = draft_body["document"]
    # Private by default: no owner name (an anonymous colleague), no user id (test_privacy_api)
    assert document["status"] == "draft" and document["owner"] is None
    # A draft is never retrievable.
    again = client.post("/v1/coach", json={"situation": SOLAR}, headers=pro).json()
    assert document["id"] not in [source["id"] for source in again["sources"]]

    pending = client.get("/v1/drafts", headers=cur).json()
    assert [d["id"] for d in pending] == [draft_body["id"]]
    assert client.get("/v1/drafts", headers=pro).status_code == 403
    approved = client.post(f"/v1/drafts/{draft_body['id']}/approve", headers=cur)
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert approved.json()["document"]["status"] == "active"
    assert client.get("/v1/drafts", headers=cur).json() == []
    twice = client.post(f"/v1/drafts/{draft_body['id']}/approve", headers=cur)
    assert twice.status_code == 409

    answer = client.post("/v1/coach", json={"situation": SOLAR}, headers=pro).json()
    cited = {c for s in answer["suggestions"] for c in s["citations"]}
    assert document["id"] in cited
    assert any("aardlekschakelaar" in s["action"] for s in answer["suggestions"])


def test_a_rejected_draft_is_kept_retired_with_its_reason(client: TestClient, env: Env) -> None:
    pro, cur = env.headers("pro"), env.headers("curator")
    session_id = client.post("/v1/coach", json={"situation": SOLAR}, headers=pro).headers[
        "X-Session-Id"
    ]
    draft = client.post(f"/v1/sessions/{session_id}/lesson", json=LESSON, headers=pro).json()
    other = client.post(
        f"/v1/sessions/{session_id}/lesson", json=LESSON, headers=env.headers("pro2")
    )
    assert other.status_code == 404  # not your session
    empty = client.post(f"/v1/drafts/{draft['id']}/reject", json={"reason": ""}, headers=cur)
    assert empty.status_code == 422
    rejected = client.post(
        f"/v1/drafts/{draft['id']}/reject",
        json={"reason": "Staat al in de procedure."},
        headers=cur,
    ).json()
    assert rejected["state"] == "rejected" and rejected["reason"] == "Staat al in de procedure."
    assert rejected["document"]["status"] == "retired"


def test_insights_show_themes_gaps_and_feedback(client: TestClient, env: Env) -> None:
    pro = env.headers("pro")
    # Situation texts only from users who share them (off by default; see test_privacy_api),
    # and a theme only of words several of them used (see test_records_privacy_api).
    env.with_professionals("fee", "jan")
    for who in ("pro", "pro2", "fee", "jan"):
        client.put("/v1/me/settings", json={"share_situations": True}, headers=env.headers(who))
    for who in ("pro2", "fee"):
        asked = {"situation": "Steeds dezelfde storing gemeld omdat niemand terugbelt."}
        client.post("/v1/coach", json=asked, headers=env.headers(who))
    grounded = [
        "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt.",
        "Klanten wachten dagen op een terugbelverzoek over hun storing.",
    ]
    for situation in [*grounded, "Mijn buurman maakt ruzie over de schutting"]:
        session_id = client.post("/v1/coach", json={"situation": situation}, headers=pro).headers[
            "X-Session-Id"
        ]
        client.post(f"/v1/sessions/{session_id}/feedback", json={"helpful": True}, headers=pro)
    data = client.get("/v1/insights", headers=env.headers("curator")).json()
    assert data["sessions"] == 5
    assert {"theme": "storing", "people": 3, "sessions": 4} in data["themes"]
    assert "klanten" not in {theme["theme"] for theme in data["themes"]}  # one person's word
    gaps = [gap["situation"] for gap in data["ungrounded"]]
    assert gaps == ["Mijn buurman maakt ruzie over de schutting"]
    assert data["feedback_by_document"] and all(
        entry["helpful"] >= 1 for entry in data["feedback_by_document"]
    )
    assert client.get("/v1/insights", headers=pro).status_code == 403


HOLDER = """
import sys
from pathlib import Path
from coach.atomic import exclusive_lock
from coach.ingest.curation import WRITE_LOCK
corpus = Path(sys.argv[1])
with exclusive_lock(corpus / WRITE_LOCK):
    target = corpus / "docs" / "proc-expense-claims.md"
    target.write_text(target.read_text(encoding="utf-8") + "Edited by another worker.\\n")
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_an_update_waits_for_a_write_in_another_process_and_then_sees_it(
    tmp_path: Path,
) -> None:
    corpus = CorpusBuilder(tmp_path / "corpus")
    write_coaching_corpus(corpus)
    curator = Curator(corpus.root, None)
    document, etag = curator.get("proc-expense-claims")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(corpus.root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "holding"
    outcome: list[BaseException | None] = []

    def update() -> None:
        try:
            curator.update("proc-expense-claims", Fields.of(document), etag)
            outcome.append(None)
        except StaleVersionError as exc:
            outcome.append(exc)

    waiting = threading.Thread(target=update)
    waiting.start()
    waiting.join(timeout=0.5)
    assert waiting.is_alive()  # blocked on the other process's lock
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.wait(timeout=10) == 0
    waiting.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], StaleVersionError)
    assert "Edited by another worker." in curator.get("proc-expense-claims")[0].body
