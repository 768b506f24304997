"""Learning records without an LRS: the statements made for each learning event, and the
outbox on a SQLite file (queued with the action, opted-out users left out, claimed, delivered,
retried later, forgotten). The LRS itself is in tests/test_xapi_lrs.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest
import typer
from pydantic import SecretStr, ValidationError

from api.db import Outbox, SessionStore, UserSettings, UserStore
from api.db.learning import EventKind, LearningEvent
from api.db.outbox import backoff
from api.xapi.recorder import LearningRecords
from api.xapi.statements import RecordsConfig, opaque_id, statement
from coach.cli.common import read_settings
from coach.ingest.corpus import ID_PATTERN
from coach.ingest.lessons import draft_lesson
from coach.settings import Settings

BASE = "https://coach.example.org/xapi"
CONFIG = RecordsConfig("http://lrs.invalid/xAPI", "coach", "s3cret", BASE)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SITUATION = "Klanten bellen ons steeds opnieuw over dezelfde storing."


def event(kind: EventKind, **extra: object) -> LearningEvent:
    return LearningEvent(kind, "pia@example.org", "obj-1", AT, **extra)  # type: ignore[arg-type]


def test_each_event_has_its_verb_an_opaque_actor_and_its_activity() -> None:
    verbs = {
        kind: statement(CONFIG, "key", event(kind, day=2), show_situation=False)["verb"]["id"]
        for kind in get_args(EventKind)
    }
    adl = "http://adlnet.gov/expapi/verbs/"
    assert verbs == {
        "asked": adl + "asked",
        "feedback": adl + "responded",
        "lesson_recorded": adl + "shared",
        "lesson_accepted": f"{BASE}/verbs/contributed",
        "joined_group": adl + "registered",
        "attended_day": adl + "attended",
        "completed_cycle": adl + "completed",
    }
    made = statement(CONFIG, "key", event("attended_day", day=2), show_situation=False)
    assert made["actor"] == {
        "objectType": "Agent",
        "account": {"homePage": BASE, "name": opaque_id("key", "pia@example.org")},
    }
    assert "pia" not in str(made) and "mailto" not in str(made)
    assert made["object"]["id"] == f"{BASE}/cycles/obj-1/days/2"
    assert made["context"]["contextActivities"]["parent"][0]["id"] == f"{BASE}/cycles/obj-1"
    assert made["timestamp"] == "2026-03-02T09:00:00+00:00"
    again = statement(CONFIG, "key", event("attended_day", day=2), show_situation=False)
    assert again["id"] != made["id"] and again["actor"] == made["actor"]


def test_the_opaque_id_depends_on_the_user_and_the_deployments_key() -> None:
    assert opaque_id("k", "pia") == opaque_id("k", "pia")
    assert len({opaque_id("k", "pia"), opaque_id("k", "piet"), opaque_id("other", "pia")}) == 3


def test_a_situation_is_shown_only_when_allowed_and_context_carries_language_and_team() -> None:
    asked = event("asked", language="nl", situation=SITUATION, team="Servicedesk")
    hidden = statement(CONFIG, "key", asked, show_situation=False)
    shown = statement(CONFIG, "key", asked, show_situation=True)
    assert SITUATION not in str(hidden)
    assert shown["object"]["definition"]["description"] == {"nl": SITUATION}
    assert hidden["context"] == {
        "platform": "coach",
        "language": "nl",
        "extensions": {f"{BASE}/extensions/team": "Servicedesk"},
    }
    feedback = statement(CONFIG, "key", event("feedback", helpful=False), show_situation=False)
    assert feedback["result"] == {"success": False, "response": "not helpful"}


def test_the_configuration_comes_from_the_settings_and_keeps_its_password_out_of_sight() -> None:
    assert RecordsConfig.from_settings(Settings()) is None
    made = RecordsConfig.from_settings(
        Settings(
            lrs_url="https://lrs.example.org/xAPI",
            lrs_username="coach",
            lrs_password=SecretStr("s3cret"),
            xapi_base_url=BASE + "/",
        )
    )
    assert made is not None and made.base_url == BASE and made.password == "s3cret"
    assert "s3cret" not in repr(made)
    with pytest.raises(ValueError, match="COACH_LRS_USERNAME and COACH_LRS_PASSWORD"):
        Settings(lrs_url="https://lrs.example.org/xAPI")


def test_credentials_in_the_lrs_url_are_refused_saying_where_they_go(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The URL is shown to admins (`GET /v1/admin/xapi`, `coach xapi status`): a password in it
    never starts the service, and the error does not repeat it."""
    with pytest.raises(ValidationError) as refused:
        Settings(
            lrs_url="https://coach:s3cret@lrs.example.org/xAPI",
            lrs_username="coach",
            lrs_password=SecretStr("s3cret"),
        )
    [error] = refused.value.errors()
    assert error["loc"] == ("lrs_url",)
    assert "COACH_LRS_USERNAME and COACH_LRS_PASSWORD" in error["msg"]
    assert "s3cret" not in str(refused.value)
    monkeypatch.setenv("COACH_LRS_URL", "https://coach:s3cret@lrs.example.org/xAPI")
    monkeypatch.setenv("COACH_LRS_USERNAME", "coach")
    monkeypatch.setenv("COACH_LRS_PASSWORD", "s3cret")
    with pytest.raises(typer.Exit):
        read_settings()  # what every command, `coach serve` too, starts with
    [said] = capsys.readouterr().err.splitlines()
    assert said.startswith("error: invalid setting COACH_LRS_URL: ")
    assert "COACH_LRS_USERNAME" in said and "s3cret" not in said


@pytest.mark.parametrize(
    ("url", "in_clear"),
    [
        ("http://lrs.example.org/xAPI", True),
        ("http://10.0.0.5:8100/xAPI", True),
        ("https://lrs.example.org/xAPI", False),
        ("http://127.0.0.1:8100/xAPI", False),
        ("http://LOCALHOST:8100/xAPI", False),
        ("http://[::1]:8100/xAPI", False),
    ],
)
def test_plain_http_is_in_the_clear_unless_the_lrs_is_this_machine(
    url: str, in_clear: bool
) -> None:
    settings = Settings(lrs_url=url, lrs_username="coach", lrs_password=SecretStr("s3cret"))
    assert settings.lrs_in_clear() is in_clear
    assert not Settings().lrs_in_clear()


def test_backoff_doubles_up_to_five_minutes() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 8, 9, 20)] == [2, 4, 8, 256, 300, 300]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SessionStore]:
    with closing(SessionStore(f"sqlite:///{tmp_path / 'coach.sqlite3'}")) as opened:
        opened.listeners.append(LearningRecords(CONFIG, Outbox(opened).actor_key()))
        yield opened


def test_records_are_queued_with_the_action_and_not_for_who_opted_out(
    store: SessionStore,
) -> None:
    outbox, users = Outbox(store), UserStore(store)
    users.update("piet", UserSettings(learning_records=False))
    with store.transaction() as db:
        store.learned(db, LearningEvent("asked", "pia", "s-1", AT, situation=SITUATION))
        store.learned(db, LearningEvent("asked", "piet", "s-2", AT, situation=SITUATION))
    assert outbox.status().pending == 1
    with pytest.raises(RuntimeError), store.transaction() as db:  # the action fails: no record
        store.learned(db, LearningEvent("asked", "pia", "s-3", AT))
        raise RuntimeError("the action failed")
    assert outbox.status().pending == 1


def test_claimed_records_are_delivered_or_retried_later_and_all_forgotten(
    store: SessionStore,
) -> None:
    outbox = Outbox(store)
    with store.transaction() as db:
        for number in range(3):
            store.learned(db, LearningEvent("asked", "pia", f"s-{number}", AT))
        store.learned(db, LearningEvent("asked", "fee", "s-9", AT))
    token, claimed = outbox.claim(limit=2)
    assert len(claimed) == 2
    assert outbox.claim(limit=10)[1] != [] and outbox.claim(limit=10)[1] == []  # all claimed
    outbox.delivered(token, [claimed[0].id])
    outbox.failed(token, [claimed[1].id], "the LRS is unreachable (ConnectError)")
    status = outbox.status()
    assert (status.pending, status.failing, status.delivered) == (3, 1, 1)
    assert status.last_error == "the LRS is unreachable (ConnectError)"
    later = datetime.now(UTC) + timedelta(minutes=2)  # the claims ran out, the wait too
    assert len(outbox.claim(limit=10, now=later)[1]) == 3
    assert outbox.forget("pia") == 3  # the delivered one too: the LRS keeps its own copy
    status = outbox.status()
    assert (status.pending, status.delivered) == (1, 0)


def test_a_lessons_id_carries_none_of_its_words() -> None:
    made = {
        draft_lesson(
            situation=SITUATION,
            language="nl",
            what_tried="",
            what_worked="",
            what_not="",
            lesson="Piet Jansen belt nooit terug, dus bel ik hem zelf.",
        ).id
        for _ in range(20)
    }
    assert len(made) == 20  # random: the same words make another id
    for doc_id in made:
        assert re.fullmatch(r"les-[0-9a-f]{16}", doc_id) and ID_PATTERN.fullmatch(doc_id)
