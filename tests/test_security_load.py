"""Under load, on a real `coach serve` on loopback: 8 clients for 15 s coach (plain and
streamed), search and record lessons at once (`bench/load_bench.py`, which measures the same
for 60 s). No 5xx, every request answered or refused with 429, nothing lost in the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.coaching_corpus import write_coaching_corpus
from tests.conftest import REPO, CorpusBuilder

pytestmark = pytest.mark.slow


def test_eight_clients_at_once_get_answers_or_429_and_lose_nothing(tmp_path: Path) -> None:
    corpus = CorpusBuilder(tmp_path / "corpus")
    write_coaching_corpus(corpus)
    out = tmp_path / "load.json"
    # Low limits, so that 15 s reach them: the refusals are part of what is tested.
    limits = {"COACH_RATE_COACH_PER_MINUTE": "6", "COACH_MAX_PENDING_DRAFTS": "3"}
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "load_bench.py"),
            *("--clients", "8", "--seconds", "15"),
            *("--corpus", str(corpus.root), "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **limits},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["server_errors"] == 0 and report["unexpected"] == {}
    assert report["unanswered"] == [] and report["lost"] == 0
    assert report["sessions"]["answered"] == report["sessions"]["stored"] > 0
    assert report["drafts"]["answered"] == report["drafts"]["stored"] > 0
    kinds = report["kinds"]
    for kind in ("coach", "search", "lesson"):
        assert kinds[kind]["statuses"].get("200", 0) + kinds[kind]["statuses"].get("201", 0) > 0
    # Each user reached their coaching allowance and their drafts limit, and was told so.
    assert kinds["coach"]["statuses"]["429"] > 0 and kinds["lesson"]["statuses"]["429"] > 0
    assert report["sessions"]["answered"] <= 8 * 6  # nobody got past the limit
