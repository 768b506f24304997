"""Several `coach serve` workers writing to one PostgreSQL database at once lose nothing: the
multi-worker deployment of README, on a real PostgreSQL server the tests start themselves."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

from api.db.tables import DraftRow, SessionRow
from coach.keys import KeyStore
from tests.api_support import SITUATION, running_service

USERS = [f"user{number}" for number in range(6)]
THREADS_PER_USER = 2
SESSIONS_PER_THREAD = 3
WORKERS = 3


def test_three_workers_write_sessions_feedback_and_drafts_at_once(
    tmp_path: Path, postgres_url: str
) -> None:
    keys_file = tmp_path / "keys.json"
    store = KeyStore(keys_file)
    keys = {user: store.add(user, "professional") for user in USERS}
    admin = {"Authorization": f"Bearer {store.add('ada', 'admin')}"}
    env = {"COACH_DATABASE_URL": postgres_url, "COACH_API_KEYS_FILE": str(keys_file)}
    with running_service(tmp_path, "--workers", str(WORKERS), env=env) as base:
        # Every worker is up (each created the schema on the same new database at start-up).
        deadline = time.monotonic() + 120
        seen: set[str] = set()
        while len(seen) < WORKERS:
            assert time.monotonic() < deadline, f"only {len(seen)} workers answered"
            seen.add(httpx.get(f"{base}/v1/me", headers=admin).headers["X-Worker"])

        def write(user: str, thread: int) -> dict[str, str]:
            """Sessions with feedback, then a lesson, each on a fresh connection (so the
            workers share the requests); the comment written for each session."""
            headers = {"Authorization": f"Bearer {keys[user]}"}
            written: dict[str, str] = {}
            for number in range(SESSIONS_PER_THREAD):
                situation = f"{SITUATION} ({user}, {thread}, {number})"
                answer = httpx.post(
                    f"{base}/v1/coach", json={"situation": situation}, headers=headers, timeout=120
                )
                assert answer.status_code == 200, answer.text
                session_id = answer.headers["X-Session-Id"]
                comment = f"{user}/{thread}/{number}"
                feedback = httpx.post(
                    f"{base}/v1/sessions/{session_id}/feedback",
                    json={"helpful": number % 2 == 0, "comment": comment},
                    headers=headers,
                    timeout=120,
                )
                assert feedback.status_code == 200, feedback.text
                written[session_id] = comment
            lesson = httpx.post(
                f"{base}/v1/sessions/{session_id}/lesson",
                json={"lesson": f"Bel klanten terug voor het einde van de dag ({user} {thread})."},
                headers=headers,
                timeout=120,
            )
            assert lesson.status_code == 201, lesson.text
            return written

        jobs = [(user, thread) for user in USERS for thread in range(THREADS_PER_USER)]
        with ThreadPoolExecutor(len(jobs)) as pool:
            results = list(pool.map(lambda job: write(*job), jobs))
        comments = {sid: comment for written in results for sid, comment in written.items()}

        # Every worker reads everything every other worker wrote.
        for user in USERS:
            headers = {"Authorization": f"Bearer {keys[user]}"}
            for _ in range(WORKERS):
                with httpx.Client(base_url=base, headers=headers) as client:
                    listed = client.get("/v1/sessions", params={"limit": 100}).json()
                    assert listed["total"] == THREADS_PER_USER * SESSIONS_PER_THREAD
    assert f"starting {WORKERS} worker processes" in (tmp_path / "serve.log").read_text()

    engine = create_engine(postgres_url)
    try:
        with engine.connect() as db:
            stored = dict(db.execute(select(SessionRow.id, SessionRow.comment)).all())
            assert stored == comments  # every session, with its own feedback, and nothing else
            drafts = db.execute(select(DraftRow.user_id, func.count()).group_by(DraftRow.user_id))
            assert dict(drafts.all()) == dict.fromkeys(USERS, THREADS_PER_USER)
            doc_ids = db.scalars(select(DraftRow.doc_id)).all()
    finally:
        engine.dispose()
    corpus = tmp_path / "corpus"
    assert all(len(list(corpus.rglob(f"{doc_id}.md"))) == 1 for doc_id in doc_ids)
