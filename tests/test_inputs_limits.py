"""Limits a logged-in user cannot get around: pending drafts per user, and corpus reads that
cost one scan per request and parse only the files that changed. Runs on the doubles (see
tests/test_inputs.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_inputs import FastApi, assert_problem, fast_api, files_under

AN_HOUR_AGO = time.time_ns() - 3600 * 10**9


@pytest.fixture
def api(tmp_path: Path) -> Iterator[FastApi]:
    with fast_api(tmp_path) as built:
        yield built


def settle(corpus: Path) -> None:
    """Date every document an hour back, as a corpus that was not just written is."""
    for path in files_under(corpus):
        os.utime(path, ns=(AN_HOUR_AGO, AN_HOUR_AGO))


def test_pending_drafts_are_capped_per_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COACH_MAX_PENDING_DRAFTS", "2")
    with fast_api(tmp_path) as api:
        cur = api.headers("curator")
        first, second = api.lesson(), api.lesson()
        assert (first.status_code, second.status_code) == (201, 201)
        before = files_under(api.corpus)
        third = api.lesson()
        assert_problem(third, 429, "2 lessons waiting for review", "wait until a curator")
        assert files_under(api.corpus) == before
        assert len(api.client.get("/v1/drafts", headers=cur).json()) == 2
        assert api.lesson("pro2").status_code == 201  # the limit is per user
        rejected = api.client.post(
            f"/v1/drafts/{first.json()['id']}/reject", json={"reason": "Dubbel."}, headers=cur
        )
        assert rejected.status_code == 200
        assert api.lesson().status_code == 201  # a decided draft frees its place


def test_listing_drafts_scans_the_corpus_once_and_parses_only_changed_files(
    api: FastApi,
) -> None:
    cur = api.headers("curator")
    for _ in range(4):
        assert api.lesson().status_code == 201
    settle(api.corpus)
    api.client.get("/v1/drafts", headers=cur)
    reader = api.curator.reader
    scans, parsed = reader.scans, reader.parsed
    listed = api.client.get("/v1/drafts", headers=cur).json()
    assert len(listed) == 4 and all(draft["document"]["status"] == "draft" for draft in listed)
    assert (reader.scans, reader.parsed) == (scans + 1, parsed)

    # A file changed by hand, even to the same size, is read again: and only that one.
    path = api.corpus / "docs" / "proc-expense-claims.md"
    path.write_text(path.read_text(encoding="utf-8").replace("business", "BUSINESS"), "utf-8")
    one = api.client.get("/v1/documents/proc-expense-claims", headers=cur).json()
    assert one["title"] == "Claiming BUSINESS expenses"
    assert (reader.scans, reader.parsed) == (scans + 2, parsed + 1)
    # Until it is a few seconds old it is parsed on every scan (it may change again within one
    # timestamp tick); the others are not.
    teams = api.client.get("/v1/teams", headers=api.headers("pro")).json()["teams"]
    assert "Finance" in teams and (reader.scans, reader.parsed) == (scans + 3, parsed + 2)
