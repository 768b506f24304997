"""What a user typed stays within what they allow, through the API (on SQLite and on
PostgreSQL): their learning records are in their export and go when they delete their data;
turning sharing off takes their situations out of records not sent yet; a group's team (free
text) reaches neither the records nor the insights; a theme is a word several sharing people
used, never one person's name. The LRS is not needed: records wait in the outbox, and the
tests mark them delivered through the outbox itself, as a worker does."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from api.db import Outbox, SessionStore
from api.db.cycle_records import CycleRecords
from api.db.outbox import OutboxRow
from api.xapi.recorder import LearningRecords
from api.xapi.statements import RecordsConfig
from coach.engine import Coach
from tests.api_support import Env
from tests.conftest import free_port
from tests.test_inputs import fast_api

BASE = "https://coach.example.org/xapi"
PIA_TEXT = "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt."
PIA_LATER = "Klanten wachten dagen op een terugbelverzoek over hun storing."
PIET_TEXT = "After we install a heat pump the customer says the house stays cold."
NAMED_TEAM = "Team of Piet Jansen"


@pytest.fixture
def env(tmp_path: Path, api_coach: Coach) -> Env:
    found = Env(tmp_path, api_coach).with_professionals("fee", "jan")
    found.settings = found.settings.model_copy(
        update={
            # An LRS nobody listens on, tried once an hour: the records wait in the outbox.
            "lrs_url": f"http://127.0.0.1:{free_port()}/xAPI",
            "lrs_username": "coach",
            "lrs_password": SecretStr("s3cret"),
            "xapi_base_url": BASE,
            "xapi_interval_seconds": 3600,
        }
    )
    return found


def ask(client: TestClient, env: Env, who: str, situation: str) -> str:
    response = client.post("/v1/coach", json={"situation": situation}, headers=env.headers(who))
    assert response.status_code == 200, response.text
    return response.headers["X-Session-Id"]


def share(client: TestClient, env: Env, who: str, on: bool = True) -> None:
    answer = client.put("/v1/me/settings", json={"share_situations": on}, headers=env.headers(who))
    assert answer.status_code == 200, answer.text


def deliver_waiting(env: Env) -> int:
    """Mark every waiting record delivered, as a worker does once the LRS took it."""
    with closing(SessionStore(env.settings.sessions_url())) as store:
        outbox = Outbox(store)
        token, claimed = outbox.claim(limit=100)
        outbox.delivered(token, [item.id for item in claimed])
        return len(claimed)


def outbox_rows(env: Env) -> list[tuple[str, dict[str, Any], bool]]:
    """Every row of the outbox: its user, its statement, whether it was delivered."""
    with closing(SessionStore(env.settings.sessions_url())) as store, store.transaction() as db:
        rows = db.execute(
            select(OutboxRow.user_id, OutboxRow.statement, OutboxRow.delivered_at).order_by(
                OutboxRow.created_at
            )
        ).all()
        return [(user, statement, delivered is not None) for user, statement, delivered in rows]


def record_cycles(env: Env) -> int:
    """Queue the cycles' records now due, as a worker does before each delivery round."""
    config = RecordsConfig.from_settings(env.settings)
    assert config is not None
    with closing(SessionStore(env.settings.sessions_url())) as store:
        store.listeners.append(LearningRecords(config, Outbox(store).actor_key()))
        return CycleRecords(store).record_due()


def description(statement: dict[str, Any]) -> Any:
    return statement["object"]["definition"].get("description")


def test_deleting_ones_data_deletes_every_learning_record_that_the_export_showed(
    env: Env,
) -> None:
    with env.client() as client:
        pia = env.headers("pro")
        share(client, env, "pro")
        sent = ask(client, env, "pro", PIA_TEXT)
        assert deliver_waiting(env) == 1  # the LRS has this one
        waiting = ask(client, env, "pro", PIA_LATER)
        ask(client, env, "pro2", PIET_TEXT)

        records = client.get("/v1/me/export", headers=pia).json()["learning_records"]
        assert [
            (r["statement"]["object"]["id"], r["delivered_at"] is not None) for r in records
        ] == [(f"{BASE}/sessions/{sent}", True), (f"{BASE}/sessions/{waiting}", False)]
        assert description(records[0]["statement"]) == {"nl": PIA_TEXT}
        assert all(r["id"] == r["statement"]["id"] and r["created_at"] for r in records)

        deleted = client.delete("/v1/me/data", headers=pia)
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["learning_records"] == 2  # the delivered one too
        assert client.get("/v1/me/export", headers=pia).json()["learning_records"] == []

    kept = outbox_rows(env)
    assert [user for user, _, _ in kept] == ["piet"]  # someone else's stays
    assert PIA_TEXT not in str(kept) and PIA_LATER not in str(kept)


def test_turning_sharing_off_takes_the_situation_out_of_records_not_sent_yet(env: Env) -> None:
    with env.client() as client:
        share(client, env, "pro")
        sent = ask(client, env, "pro", PIA_TEXT)
        deliver_waiting(env)
        waiting = ask(client, env, "pro", PIA_LATER)
        assert description(outbox_rows(env)[-1][1]) == {"nl": PIA_LATER}  # shared when made

        share(client, env, "pro", on=False)

    by_object = {
        statement["object"]["id"]: (statement, done) for _, statement, done in outbox_rows(env)
    }
    still, _ = by_object[f"{BASE}/sessions/{waiting}"]
    assert description(still) is None and PIA_LATER not in str(still)
    assert still["object"]["definition"]["name"] == {"en-US": "Coaching session"}
    assert still["context"]["language"] == "nl"  # the rest of the record is as it was
    # What the LRS was sent is the LRS's; the service's copy says what it holds.
    delivered, done = by_object[f"{BASE}/sessions/{sent}"]
    assert done and description(delivered) == {"nl": PIA_TEXT}


def test_a_groups_team_is_in_neither_the_learning_records_nor_the_insights(env: Env) -> None:
    with env.client() as client:
        pia, fee = env.headers("pro"), env.headers("fee")
        session = ask(client, env, "pro", PIA_TEXT)
        body = {"name": "Storingen", "members": ["fee"], "team": NAMED_TEAM}
        created = client.post("/v1/groups", json=body, headers=pia)
        assert created.status_code == 201, created.text
        group = created.json()["id"]
        assert client.post(f"/v1/groups/{group}/accept", headers=fee).status_code == 200
        proposal = {"start": "2026-03-02", "time": "09:00", "session_id": session}
        cycle = client.post(f"/v1/groups/{group}/cycles", json=proposal, headers=pia)
        assert cycle.status_code == 201, cycle.text
        for day in (1, 4):
            note = {"did": "Besproken", "noticed": "Rust"}
            url = f"/v1/cycles/{cycle.json()['id']}/days/{day}/notes"
            assert client.post(url, json=note, headers=pia).status_code in (200, 201, 204)
        assert record_cycles(env) == 3  # the week is over: attended twice, completed
        # The group's own people still see it.
        assert client.get(f"/v1/groups/{group}", headers=fee).json()["team"] == NAMED_TEAM

        insights = client.get("/v1/insights", headers=env.headers("curator"))
        assert insights.status_code == 200 and insights.json()["cycles"]["cycles"] == 1
        assert "Piet Jansen" not in insights.text and "by_team" not in insights.json()["cycles"]

    verbs = sorted(statement["verb"]["display"]["en-US"] for _, statement, _ in outbox_rows(env))
    assert verbs == ["asked", "attended", "attended", "completed", "registered", "registered"]
    assert "Piet Jansen" not in str(outbox_rows(env))


def test_a_theme_is_a_word_several_sharing_people_used_never_one_persons_name(
    env: Env,
) -> None:
    with env.client() as client:
        for number in range(4):  # one person who shares nothing, often
            ask(client, env, "pro", f"Vermeulen belt weer over de kantine, keer {number}.")
        for who in ("pro2", "fee", "jan"):  # three who share, once each
            share(client, env, who)
        for who in ("pro2", "fee", "jan"):
            ask(client, env, who, "De schutting bij de loods staat scheef.")
        for who in ("pro2", "fee"):  # a word only two of them used
            ask(client, env, who, "Het magazijn is te klein.")
        curator = env.headers("curator")

        themes = client.get("/v1/insights", headers=curator).json()["themes"]
        assert {"theme": "schutting", "people": 3, "sessions": 3} in themes
        shown = {theme["theme"] for theme in themes}
        assert "vermeulen" not in shown and "kantine" not in shown  # not shared
        assert "magazijn" not in shown  # two people

        share(client, env, "pro")  # one person, however often: still no theme
        shown = {t["theme"] for t in client.get("/v1/insights", headers=curator).json()["themes"]}
        assert "vermeulen" not in shown


def test_a_requests_team_is_bounded_as_a_groups_is(tmp_path: Path) -> None:
    with fast_api(tmp_path) as api:
        body = {"situation": PIA_TEXT, "team": "x" * 81}
        refused = api.client.post("/v1/coach", json=body, headers=api.headers("pro"))
        assert refused.status_code == 422 and "team" in refused.text
        assert api.client.get("/v1/sessions", headers=api.headers("pro")).json()["total"] == 0
        body["team"] = "x" * 80
        assert (
            api.client.post("/v1/coach", json=body, headers=api.headers("pro")).status_code == 200
        )


def test_a_requests_team_reaches_the_records_only_when_the_documents_name_it(env: Env) -> None:
    with env.client() as client:
        for team in ("Piet Jansen, burn-out sinds maart", "Buitendienst"):
            body = {"situation": PIA_TEXT, "team": team}
            answer = client.post("/v1/coach", json=body, headers=env.headers("pro"))
            assert answer.status_code == 200, answer.text
    teams = [
        statement["context"].get("extensions", {}).get(f"{BASE}/extensions/team")
        for _, statement, _ in outbox_rows(env)
        if statement["verb"]["display"]["en-US"] == "asked"
    ]
    assert teams == [None, "Buitendienst"]
