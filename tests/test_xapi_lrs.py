"""Learning records reach a real Learning Record Store (Ralph, xAPI 1.0.3): what professionals
do through the API is read back through the LRS's own GET /xAPI/statements with the right verbs,
actors and contexts; a user who opted out is not recorded; with the LRS down the records wait,
and once it is back every one arrives exactly once (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text

from api.db import SessionStore
from api.xapi.statements import opaque_id
from coach.engine import Coach
from tests.api_support import Env
from tests.lrs_support import PASSWORD, USER, Ralph
from tests.test_cycles_api import CALLBACKS, HEAT_PUMP

BASE = "https://coach.example.org/xapi"
ADL = "http://adlnet.gov/expapi/verbs/"
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def lrs(tmp_path: Path) -> Iterator[Ralph]:
    server = Ralph(tmp_path / "lrs")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path: Path, api_coach: Coach, lrs: Ralph) -> Env:
    found = Env(tmp_path, api_coach).with_professionals("fee")
    found.settings = found.settings.model_copy(
        update={
            "lrs_url": lrs.url,
            "lrs_username": USER,
            "lrs_password": SecretStr(PASSWORD),
            "xapi_base_url": BASE,
            "xapi_interval_seconds": 0.2,
        }
    )
    return found


def queue(client: TestClient, env: Env) -> dict[str, Any]:
    found: dict[str, Any] = client.get("/v1/admin/xapi", headers=env.headers("admin")).json()
    return found


def wait_for(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def actor_key(env: Env) -> str:
    store = SessionStore(env.settings.sessions_url())
    try:
        with store.engine.connect() as connection:
            return str(
                connection.execute(
                    text("SELECT value FROM service_values WHERE name = 'xapi_actor_key'")
                ).scalar_one()
            )
    finally:
        store.close()


def test_what_professionals_do_is_read_back_from_the_lrs(env: Env, lrs: Ralph) -> None:
    with env.client() as client:
        pia, piet, fee = env.headers("pro"), env.headers("pro2"), env.headers("fee")
        assert client.put("/v1/me/settings", json={"share_situations": True}, headers=pia)
        assert client.put("/v1/me/settings", json={"learning_records": False}, headers=piet)
        asked = client.post("/v1/coach", json={"situation": CALLBACKS}, headers=pia)
        session = asked.headers["X-Session-Id"]
        client.post(f"/v1/sessions/{session}/feedback", json={"helpful": True}, headers=pia)
        lesson = {"lesson": "Zet elke terugbelafspraak direct als taak met een deadline."}
        draft = client.post(f"/v1/sessions/{session}/lesson", json=lesson, headers=pia).json()
        client.post(f"/v1/drafts/{draft['id']}/approve", headers=env.headers("curator"))
        asked_in_team = {"situation": HEAT_PUMP, "team": "Buitendienst"}  # a documents' team
        client.post("/v1/coach", json=asked_in_team, headers=fee)  # not shared
        client.post("/v1/coach", json={"situation": HEAT_PUMP}, headers=piet)  # opted out
        body = {"name": "Storingen", "members": ["piet", "fee"], "team": "Servicedesk"}
        group = client.post("/v1/groups", json=body, headers=pia).json()["id"]
        client.post(f"/v1/groups/{group}/accept", headers=fee)
        client.post(f"/v1/groups/{group}/accept", headers=piet)
        proposal = {"start": "2026-03-02", "time": "09:00", "session_id": session}
        cycle = client.post(f"/v1/groups/{group}/cycles", json=proposal, headers=pia).json()["id"]
        for day in (1, 4):
            note = {"did": "Besproken", "noticed": "Rust"}
            client.post(f"/v1/cycles/{cycle}/days/{day}/notes", json=note, headers=pia)
        client.put(f"/v1/cycles/{cycle}/days/1/check-in", json={"energy": 4}, headers=pia)

        # attended and completed are told by a delivery round after the notes (the meetings
        # are over), not by the notes themselves
        wait_for(lambda: len(lrs.statements()) >= 10 and queue(client, env)["pending"] == 0)
        status = queue(client, env)
        assert status["enabled"] and status["lrs_url"] == lrs.url and status["failing"] == 0

    held = lrs.statements()
    key = actor_key(env)
    who = {opaque_id(key, user): user for user in ("pia", "piet", "fee")}
    seen = Counter((who[s["actor"]["account"]["name"]], s["verb"]["id"]) for s in held)
    assert seen == {
        ("pia", ADL + "asked"): 1,
        ("pia", ADL + "responded"): 1,
        ("pia", ADL + "shared"): 1,
        ("pia", f"{BASE}/verbs/contributed"): 1,
        ("pia", ADL + "registered"): 1,
        ("pia", ADL + "attended"): 2,  # days 1 and 4; the check-in on day 1 adds none
        ("pia", ADL + "completed"): 1,
        ("fee", ADL + "asked"): 1,
        ("fee", ADL + "registered"): 1,
    }
    for one in held:
        assert one["actor"] == {
            "objectType": "Agent",
            "account": {"homePage": BASE, "name": one["actor"]["account"]["name"]},
        }
        assert one["object"]["id"].startswith(f"{BASE}/")
        assert one["context"]["platform"] == "coach"
    by_verb = {(who[s["actor"]["account"]["name"]], s["verb"]["id"]): s for s in held}
    asked_by_pia = by_verb[("pia", ADL + "asked")]
    assert asked_by_pia["object"]["id"] == f"{BASE}/sessions/{session}"
    assert asked_by_pia["context"]["language"] == "nl"
    assert asked_by_pia["object"]["definition"]["description"] == {"nl": CALLBACKS}  # shared
    assert "description" not in by_verb[("fee", ADL + "asked")]["object"]["definition"]
    assert by_verb[("fee", ADL + "asked")]["context"]["extensions"] == {
        f"{BASE}/extensions/team": "Buitendienst"
    }
    assert by_verb[("pia", ADL + "responded")]["result"] == {"success": True, "response": "helpful"}
    assert by_verb[("pia", f"{BASE}/verbs/contributed")]["object"]["id"] == (
        f"{BASE}/lessons/{draft['doc_id']}"
    )
    joined = by_verb[("fee", ADL + "registered")]
    assert "extensions" not in joined["context"]  # a group's team is free text: not sent
    attended = [s for s in held if s["verb"]["id"] == ADL + "attended"]
    assert sorted(s["object"]["id"] for s in attended) == [
        f"{BASE}/cycles/{cycle}/days/1",
        f"{BASE}/cycles/{cycle}/days/4",
    ]
    assert all(
        s["context"]["contextActivities"]["parent"][0]["id"] == f"{BASE}/cycles/{cycle}"
        for s in attended
    )
    ours = str([{k: v for k, v in s.items() if k != "authority"} for s in held])  # not the LRS's
    for private in ("pia", "piet", "mailto", HEAT_PUMP, "Servicedesk"):
        assert private not in ours


def test_with_the_lrs_down_records_wait_and_then_arrive_exactly_once(
    env: Env, lrs: Ralph, run_cli: Run
) -> None:
    with env.client() as client:
        pia = env.headers("pro")
        client.post("/v1/coach", json={"situation": CALLBACKS}, headers=pia)
        wait_for(lambda: queue(client, env)["delivered"] == 1)

        lrs.stop()
        for situation in (CALLBACKS, HEAT_PUMP, CALLBACKS):
            answer = client.post("/v1/coach", json={"situation": situation}, headers=pia)
            assert answer.status_code == 200  # the user notices nothing
        wait_for(lambda: queue(client, env)["failing"] == 3)
        down = queue(client, env)
        assert down["pending"] == 3 and "unreachable" in down["last_error"]

    lrs.start()
    variables = {
        "COACH_DATA_DIR": str(env.settings.data_dir),
        "COACH_LRS_URL": lrs.url,
        "COACH_LRS_USERNAME": USER,
        "COACH_LRS_PASSWORD": PASSWORD,
        "COACH_XAPI_BASE_URL": BASE,
    }
    if env.settings.database_url:
        variables["COACH_DATABASE_URL"] = env.settings.database_url
    status = run_cli("xapi", "status", env=variables)
    assert "waiting: 3 (failing: 3)" in status.stdout, status.stdout + status.stderr
    flushed = run_cli("xapi", "flush", env=variables)
    assert flushed.returncode == 0, flushed.stderr
    assert "delivered 3; waiting 0" in flushed.stdout

    # An answer lost on the way back: the coach sends a delivered statement again.
    store = SessionStore(env.settings.sessions_url())
    try:
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE xapi_outbox SET delivered_at = NULL"))
            ids = [row[0] for row in connection.execute(text("SELECT id FROM xapi_outbox"))]
    finally:
        store.close()
    again = run_cli("xapi", "flush", env=variables)
    assert again.returncode == 0 and "delivered 4; waiting 0" in again.stdout, again.stdout
    held = Counter(s["id"] for s in lrs.statements())
    assert held == dict.fromkeys(ids, 1)  # every statement, each once

    lrs.stop()
    assert "delivered 0; waiting 0" in run_cli("xapi", "flush", env=variables).stdout
    store = SessionStore(env.settings.sessions_url())
    try:
        with store.engine.begin() as connection:
            connection.execute(
                text(f"UPDATE xapi_outbox SET delivered_at = NULL WHERE id = '{ids[0]}'")
            )
    finally:
        store.close()
    refused = run_cli("xapi", "flush", env=variables)
    assert refused.returncode == 1 and "unreachable" in refused.stderr
    assert "waiting 1" in refused.stdout
