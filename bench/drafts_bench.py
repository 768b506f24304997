"""What many lesson drafts cost the corpus reads: `Curator.documents()` (behind /v1/documents,
/v1/teams and /v1/sources), `GET /v1/drafts` and writing one more draft, on the sample corpus
plus N draft lessons of about 20 kB each (a lesson form filled to its limits).

Runs in process on the real app (TestClient), with a coach in memory and a curator that indexes
nothing, so only the corpus reads are measured. Writes JSON to bench/results/drafts.json.

    .venv/bin/python bench/drafts_bench.py [--drafts 500] [--pending 500] [--repeat 5]

`--pending`: how many of the drafts wait for review (the ones GET /v1/drafts lists).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.testclient import TestClient

from api.db import DraftStore, SessionStore
from api.deps import ApiServices, get_services
from api.main import create_app
from coach.ingest.corpus import scan_corpus
from coach.ingest.curation import Curator, Fields
from coach.keys import KeyStore
from coach.offline import offline_environment
from coach.settings import Settings
from coach.testing import memory_coach

REPO = Path(__file__).resolve().parents[1]
SECTION_CHARS = 4000  # each of the lesson form's five texts at its limit


def lesson_text(doc_id: str, words: list[str], rng: random.Random) -> str:
    sections = ("Situatie", "Wat heb ik geprobeerd", "Wat werkte", "Wat werkte niet", "Les")
    parts = []
    for heading in sections:
        text = ""
        while len(text) < SECTION_CHARS - 20:
            text += rng.choice(words) + (". " if rng.random() < 0.08 else " ")
        parts.append(f"## {heading}\n{text.strip()}")
    front = (
        f"---\nid: {doc_id}\ntitle: Les {doc_id}\ntype: lesson\nlanguage: nl\n"
        f"owner: Collega {doc_id[-3:]}\ntags: [geleerde-les]\nupdated: 2025-06-12\n"
        "status: draft\n---\n"
    )
    return front + "\n\n".join(parts) + "\n"


def build(source: Path, root: Path, drafts: int, pending: int) -> tuple[Settings, str]:
    """The sample corpus and `drafts` draft lessons in it; `pending` of them waiting in the
    database (spread over users, twenty each, as the per-user limit allows)."""
    corpus = root / "corpus"
    shutil.copytree(source, corpus, ignore=shutil.ignore_patterns(".*"))
    rng = random.Random(13)
    words = [w for doc in scan_corpus(corpus).documents for w in doc.body.split() if w.isalpha()]
    settings = Settings(corpus_dir=corpus, index_dir=root / "index", data_dir=root / "data")
    store = SessionStore(settings.sessions_url())
    drafts_db = DraftStore(store)
    for number in range(drafts):
        doc_id = f"les-draft-{number:04d}"
        path = corpus / "lessen" / f"{doc_id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(lesson_text(doc_id, words, rng), encoding="utf-8")
        if number < pending:
            drafts_db.add(doc_id, f"session-{number}", f"user-{number // 20}")
    store.close()
    return settings, KeyStore(settings.keys_path()).add("cas", "curator")


def timed(run: Callable[[], Any], repeat: int) -> dict[str, float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return {
        "first_s": round(seconds[0], 4),
        "median_s": round(statistics.median(seconds), 4),
        "max_s": round(max(seconds), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus", help="the base corpus")
    parser.add_argument("--drafts", type=int, default=500)
    parser.add_argument("--pending", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "drafts.json")
    args = parser.parse_args()
    offline_environment()
    with tempfile.TemporaryDirectory() as temp:
        settings, key = build(args.corpus, Path(temp), args.drafts, args.pending)
        documents = scan_corpus(settings.corpus_dir).documents
        files = len(list(settings.corpus_dir.rglob("*.md")))
        an_hour_ago = time.time_ns() - 3600 * 10**9  # as a corpus not written this second is
        for path in settings.corpus_dir.rglob("*.md"):
            os.utime(path, ns=(an_hour_ago, an_hour_ago))
        results: dict[str, Any] = {"drafts": args.drafts, "pending": args.pending, "files": files}
        curator = Curator(settings.corpus_dir, None)
        results["documents()"] = timed(curator.documents, args.repeat)

        app = create_app(settings, memory_coach(documents))
        shared = Curator(settings.corpus_dir, None)

        def services(request: Request) -> ApiServices:
            return replace(get_services(request), curator=shared)

        app.dependency_overrides[get_services] = services
        headers = {"Authorization": f"Bearer {key}"}
        with TestClient(app) as client:

            def list_drafts() -> None:
                response = client.get("/v1/drafts", headers=headers)
                assert response.status_code == 200 and len(response.json()) == args.pending

            results["GET /v1/drafts"] = timed(list_drafts, args.repeat)
            numbers = iter(range(10**6))

            def create() -> None:
                doc_id = f"les-extra-{next(numbers)}"
                body = "## Les\n- Een les die na de meting is geschreven.\n"
                curator.create(
                    Fields(
                        doc_id, doc_id, "lesson", "nl", body, status="draft", updated=date.today()
                    )
                )

            results["create one draft (no indexing)"] = timed(create, args.repeat)
    print(json.dumps(results, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
