"""The service's database stores behave the same on SQLite and on PostgreSQL: every test here
runs on both (`database_url`), PostgreSQL on a throwaway cluster the tests start themselves."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from api.db import DraftStore, GroupStore, SessionStore, UserSettings, UserStore
from coach.result import CoachingResult, Source, Suggestion, Timings


def result(situation: str, *, grounded: bool = True, language: str = "nl") -> CoachingResult:
    sources = [
        Source(
            id="proc-a",
            title="A",
            type="procedure",
            language="nl",
            team=None,
            owner=None,
            path="docs/proc-a.md",
            score=0.9,
            snippet="...",
        )
    ]
    return CoachingResult.model_validate(
        {
            "situation": situation,
            "language": language,
            "grounded": grounded,
            "suggestions": [Suggestion(title="t", action="a", kind="improve", citations=["proc-a"])]
            if grounded
            else [],
            "didactic_questions": [],
            "colleagues": [],
            "sources": sources if grounded else [],
            "generator": "extractive",
            "notes": [],
            "timings_ms": Timings(retrieval=1, generation=1, total=2),
        }
    )


@pytest.fixture
def store(database_url: str) -> Iterator[SessionStore]:
    """The session store on this test's database (the draft and user stores share it)."""
    with closing(SessionStore(database_url)) as opened:
        yield opened


def test_sessions_round_trip_the_same_on_both(store: SessionStore) -> None:
    # Text PostgreSQL refuses in a text column (NUL) and long, non-ASCII text survive.
    situation = "Klant belt twee keer \x00 over één storing. " + "é" * 3000
    first = store.add("pia", result(situation))
    second = store.add("pia", result("Tweede situatie"))
    store.add("piet", result("Van iemand anders"))
    assert first.created_at.tzinfo is not None
    got = store.get(first.id, "pia")
    assert got is not None and got.result.situation == situation
    assert got.created_at == first.created_at
    assert store.get(first.id, "piet") is None  # someone else's is unknown
    items, total = store.list_for("pia", limit=10, offset=0)
    assert total == 2 and [s.id for s in items] == [second.id, first.id]  # newest first
    assert store.list_for("pia", limit=1, offset=1)[0][0].id == first.id

    feedback = store.set_feedback(first.id, "pia", False, "niet \x00 nuttig")
    assert feedback is not None and feedback.helpful is False
    assert feedback.comment == "niet \ufffd nuttig"
    assert store.get(first.id, "pia").comment == "niet \ufffd nuttig"  # type: ignore[union-attr]
    assert store.set_feedback(first.id, "piet", True, None) is None
    assert [s.id for s in store.all_for("pia")] == [second.id, first.id]

    assert not store.delete(first.id, "piet")
    assert store.delete(first.id, "pia")
    assert store.get(first.id, "pia") is None


def test_drafts_round_trip_the_same_on_both(store: SessionStore) -> None:
    drafts = DraftStore(store)
    first = drafts.add("les-een", "s1", "pia")
    second = drafts.add("les-twee", "s1", "pia")
    drafts.add("les-drie", "s2", "piet")
    assert [d.id for d in drafts.list()][:2] == [first.id, second.id]
    decided = drafts.decide(first.id, "rejected", "cas", "Staat er al")
    assert (decided.state, decided.decided_by, decided.reason) == (
        "rejected",
        "cas",
        "Staat er al",
    )
    assert [d.doc_id for d in drafts.list("rejected")] == ["les-een"]
    assert [d.doc_id for d in drafts.list()] == ["les-twee", "les-drie"]
    assert {d.doc_id for d in drafts.list_for_user("pia")} == {"les-een", "les-twee"}
    assert drafts.get("nope") is None


def test_user_settings_are_off_until_the_user_turns_them_on(store: SessionStore) -> None:
    users = UserStore(store)
    assert users.settings("pia") == UserSettings(share_situations=False)
    assert users.update("pia", UserSettings(share_situations=True)).share_situations
    assert users.settings("pia").share_situations
    assert not users.settings("piet").share_situations
    users.update("pia", UserSettings(share_situations=False))
    assert users.settings("pia") == UserSettings(share_situations=False)


def test_a_new_users_first_settings_written_at_once_all_succeed(store: SessionStore) -> None:
    users, start = UserStore(store), threading.Barrier(8)

    def turn_on(_: int) -> UserSettings:
        start.wait()
        return users.update("nieuw", UserSettings(share_situations=True))

    with ThreadPoolExecutor(8) as pool:
        assert all(s.share_situations for s in pool.map(turn_on, range(8)))
    assert users.settings("nieuw").share_situations


def test_insights_see_who_shared_by_their_current_setting(store: SessionStore) -> None:
    users = UserStore(store)
    store.add("pia", result("Pia's gat", grounded=False))
    store.add("piet", result("Piet's gat", grounded=False))
    users.update("pia", UserSettings(share_situations=True))
    shared = {row.result.situation: row.shared for row in store.insight_rows()}
    assert shared == {"Pia's gat": True, "Piet's gat": False}
    users.update("pia", UserSettings(share_situations=False))  # consent withdrawn
    assert not any(row.shared for row in store.insight_rows())


def test_forgetting_a_user_removes_their_rows_and_no_one_elses(store: SessionStore) -> None:
    users, drafts = UserStore(store), DraftStore(store)
    mine = store.add("pia", result("Mijn situatie"))
    store.set_feedback(mine.id, "pia", True, "goed")
    drafts.add("les-pia", mine.id, "pia")
    users.update("pia", UserSettings(share_situations=True))
    theirs = store.add("piet", result("Zijn situatie"))
    drafts.add("les-piet", theirs.id, "piet")
    users.update("piet", UserSettings(share_situations=True))

    forgotten = users.forget("pia")
    assert (forgotten.sessions, forgotten.drafts, forgotten.settings) == (1, 1, 1)
    assert store.all_for("pia") == [] and drafts.list_for_user("pia") == []
    assert not users.settings("pia").share_situations
    assert [s.id for s in store.all_for("piet")] == [theirs.id]
    assert [d.doc_id for d in drafts.list_for_user("piet")] == ["les-piet"]
    assert users.settings("piet").share_situations
    again = users.forget("pia")
    assert (again.sessions, again.drafts, again.settings) == (0, 0, 0)


def test_sessions_past_the_retention_are_deleted_at_start_and_on_each_write(
    database_url: str,
) -> None:
    now = datetime.now(UTC)
    with closing(SessionStore(database_url)) as keeping:  # retention 0: keep everything
        old = keeping.add("pia", result("Oud"), at=now - timedelta(days=40))
        recent = keeping.add("pia", result("Recent"), at=now - timedelta(days=20))
        assert keeping.purge_expired() == 0
    # start-up deletes the old one
    with closing(SessionStore(database_url, retention_days=30)) as purging:
        assert [s.id for s in purging.all_for("pia")] == [recent.id]
        assert purging.get(old.id, "pia") is None
        # A session that passes the retention while the service runs goes with the next write.
        purging.add("piet", result("Ook oud"), at=now - timedelta(days=31))
        newest = purging.add("piet", result("Nieuw"))
        assert [s.id for s in purging.all_for("piet")] == [newest.id]


OPENER = """
import sys
import threading
from api.db import SessionStore
print("ready", flush=True)
sys.stdin.readline()  # all at once: each opens when every one has its imports done
SessionStore(sys.argv[1]).close()
"""


def test_several_processes_create_the_schema_at_once(database_url: str) -> None:
    """What N workers do at start-up against a new, empty database: all of them succeed."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        for _ in range(6)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    failures = [p.communicate(timeout=120)[1] for p in processes if p.wait(timeout=120) != 0]
    assert not failures, failures[0][-2000:]
    with closing(SessionStore(database_url)) as store:
        assert store.add("pia", result("Na de race")).id


def test_the_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "coach.sqlite3"
    path.parent.mkdir()
    with closing(SessionStore(f"sqlite:///{path}")) as store:
        store.add("pia", result("Persoonlijk"))
        files = [p for p in path.parent.iterdir() if p.name.startswith("coach.sqlite3")]
        assert path in files and len(files) >= 2  # the database and its write-ahead log
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files}
        assert set(modes.values()) == {0o600}, modes
    # A file an older release left readable by everyone is tightened when it is opened.
    os.chmod(path, 0o644)
    SessionStore(f"sqlite:///{path}").close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_column_added_since_the_database_was_made_is_added_on_opening(
    database_url: str,
) -> None:
    with closing(SessionStore(database_url)) as made:
        GroupStore(made).create("pia", "Vóór het team", ["piet"], None)
        with made.engine.begin() as connection:  # as an earlier version made the table
            connection.execute(text("ALTER TABLE learning_groups DROP COLUMN team"))
    with closing(SessionStore(database_url)) as opened:
        columns = {c["name"] for c in inspect(opened.engine).get_columns("learning_groups")}
        assert "team" in columns
        groups = GroupStore(opened)
        [old], _ = groups.mine("pia")
        assert (old.name, old.team) == ("Vóór het team", None)
        new = groups.create("pia", "Met team", ["piet"], None, "Storingsdienst")
        assert groups.get(new.id, "pia") == new and new.team == "Storingsdienst"
