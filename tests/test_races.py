"""Curation under concurrency and preconditions: a draft is decided once, under the corpus write
lock, so its document and its record always agree; If-Match guards approve, reject and delete,
and a stale one is 412 everywhere. Runs on the doubles (see tests/test_inputs.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_inputs import FastApi, assert_problem, fast_api


@pytest.fixture
def api(tmp_path: Path) -> Iterator[FastApi]:
    with fast_api(tmp_path) as built:
        yield built


def pending_draft(api: FastApi) -> dict[str, Any]:
    response = api.lesson()
    assert response.status_code == 201, response.text
    draft: dict[str, Any] = response.json()
    return draft


def document_status(api: FastApi, doc_id: str) -> str:
    response = api.client.get(f"/v1/documents/{doc_id}", headers=api.headers("curator"))
    status: str = response.json()["status"]
    return status


def decide(api: FastApi, draft_id: str, verb: str, etag: str | None = None) -> Any:
    headers = api.headers("curator") | ({"If-Match": etag} if etag else {})
    body = {"reason": "Staat al in de procedure."} if verb == "reject" else None
    return api.client.post(f"/v1/drafts/{draft_id}/{verb}", json=body, headers=headers)


def test_approve_and_reject_of_one_draft_at_once_end_consistent(api: FastApi) -> None:
    agree = {"approved": "active", "rejected": "retired"}
    for _ in range(15):
        draft = pending_draft(api)
        statuses: dict[str, int] = {}
        barrier = threading.Barrier(2)

        def run(
            verb: str,
            draft_id: str = draft["id"],
            gate: threading.Barrier = barrier,
            outcome: dict[str, int] = statuses,
        ) -> None:
            gate.wait()
            outcome[verb] = decide(api, draft_id, verb).status_code

        threads = [threading.Thread(target=run, args=(verb,)) for verb in ("approve", "reject")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses.values()) == [200, 409], statuses
        [record] = [
            d
            for state in ("approved", "rejected")
            for d in api.client.get(
                "/v1/drafts", params={"state": state}, headers=api.headers("curator")
            ).json()
            if d["id"] == draft["id"]
        ]
        winner = "approved" if statuses["approve"] == 200 else "rejected"
        assert record["state"] == winner
        assert document_status(api, draft["doc_id"]) == agree[winner]


@pytest.mark.parametrize(("verb", "state"), [("approve", "approved"), ("reject", "rejected")])
def test_a_decision_honours_if_match(api: FastApi, verb: str, state: str) -> None:
    """The ETag of a draft is the ETag of its document file (`document.etag`, as
    GET /v1/documents/{doc_id} sends it): a curator decides on the version they read."""
    draft = pending_draft(api)
    stale = decide(api, draft["id"], verb, etag='"0123456789abcdef0123456789abcdef"')
    assert_problem(stale, 412, "changed since you read it")
    assert document_status(api, draft["doc_id"]) == "draft"
    pending = api.client.get("/v1/drafts", headers=api.headers("curator")).json()
    assert [d["id"] for d in pending] == [draft["id"]]
    current = decide(api, draft["id"], verb, etag=pending[0]["document"]["etag"])
    assert current.status_code == 200 and current.json()["state"] == state


def test_delete_needs_if_match_and_a_stale_one_is_412(api: FastApi) -> None:
    url, cur = "/v1/documents/proc-expense-claims", api.headers("curator")
    path = api.corpus / "docs" / "proc-expense-claims.md"
    before = path.read_bytes()
    assert_problem(api.client.delete(url, headers=cur), 428, "If-Match")
    stale = api.client.delete(url, headers=cur | {"If-Match": '"not-the-etag"'})
    assert_problem(stale, 412, "changed since you read it")
    assert path.read_bytes() == before
    etag = api.client.get(url, headers=cur).headers["ETag"]
    retired = api.client.delete(url, headers=cur | {"If-Match": etag})
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
