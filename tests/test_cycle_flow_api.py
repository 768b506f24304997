"""A vital week cycle from start to end through the API (on SQLite and on PostgreSQL): three
members check in, note what they did and noticed, and send their lessons into the draft review;
check-ins stay private unless shared; a member may bring one of their own sessions; L&D sees
the cycles in counts only; a member who asks to be forgotten is gone from the cycle; a group
without members is gone, and its cycles with it unless someone wrote there (what they wrote
stays theirs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.db import SessionStore
from coach.engine import Coach
from tests.api_support import Env
from tests.test_cycles_api import CALLBACKS, HEAT_PUMP, OUT_OF_SCOPE

TEAM = "Storingsdienst"
PAST: dict[str, Any] = {  # a week that has ended: the cycle counts as completed
    "start": "2026-03-02",
    "time": "09:00",
}
BRINGS = {"pia": CALLBACKS, "piet": HEAT_PUMP, "fee": OUT_OF_SCOPE}
EXPERIMENTS = {
    "pia": "Elke terugbelafspraak als taak met een deadline gezet.",
    "piet": "Asked every customer to keep the thermostat at 20 degrees for two days.",
    "fee": "Het gesprek met de buurman uitgesteld tot na de vakantie.",
}
WHO = {"pia": "pro", "piet": "pro2", "fee": "fee", "gijs": "gijs", "kim": "kim"}


@pytest.fixture
def env(tmp_path: Path, api_coach: Coach) -> Env:
    return Env(tmp_path, api_coach).with_professionals("fee", "gijs", "kim")


def as_(env: Env, user: str) -> dict[str, str]:
    return env.headers(WHO.get(user, user))


def group(client: TestClient, env: Env) -> str:
    body = {"name": "Storingen", "members": ["piet", "fee"], "facilitator": "gijs", "team": TEAM}
    made = client.post("/v1/groups", json=body, headers=as_(env, "pia"))
    assert made.status_code == 201, made.text
    for user in ("piet", "fee", "gijs"):  # gijs accepts to facilitate
        accepted = client.post(f"/v1/groups/{made.json()['id']}/accept", headers=as_(env, user))
        assert accepted.status_code == 200, accepted.text
    found: str = made.json()["id"]
    return found


def propose(
    client: TestClient,
    env: Env,
    group_id: str,
    body: dict[str, Any],
    brings: dict[str, str] = BRINGS,
) -> dict[str, Any]:
    """pia proposes `body`; each member in `brings` brings that situation themselves."""
    own = {"situation": brings["pia"]} if "pia" in brings else {}
    made = client.post(f"/v1/groups/{group_id}/cycles", json=body | own, headers=as_(env, "pia"))
    assert made.status_code == 201, made.text
    url = f"/v1/cycles/{made.json()['id']}"
    for user, situation in brings.items():
        if user != "pia":
            brought = client.put(
                f"{url}/situation", json={"situation": situation}, headers=as_(env, user)
            )
            assert brought.status_code == 200, brought.text
    built = client.post(f"{url}/agenda", headers=as_(env, "pia"))  # fee may not answer
    assert built.status_code in (200, 409), built.text
    found: dict[str, Any] = client.get(url, headers=as_(env, "pia")).json()
    assert found["agenda_ready"], found
    return found


def sessions_of(client: TestClient, env: Env, user: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get("/v1/sessions", headers=as_(env, user)).json()["items"]
    return found


def test_three_members_run_a_whole_cycle_ending_in_three_lesson_drafts(env: Env) -> None:
    with env.client() as client:
        cycle = propose(client, env, group(client, env), PAST)
        url = f"/v1/cycles/{cycle['id']}"
        assert cycle["completed"] and cycle["group_name"] == "Storingen"
        # Each member's situation became a coaching session of their own.
        for user, situation in (("pia", CALLBACKS), ("piet", HEAT_PUMP), ("fee", OUT_OF_SCOPE)):
            seen = client.get(url, headers=as_(env, user)).json()
            [stored] = sessions_of(client, env, user)
            assert stored["id"] == seen["your_session_id"]
            assert stored["situation"] == situation
        for day in range(1, 5):
            for energy, user in enumerate(("pia", "piet", "fee"), start=2):
                checked = client.put(
                    f"{url}/days/{day}/check-in",
                    json={"energy": energy, "word": "rustig", "shared": user == "pia"},
                    headers=as_(env, user),
                )
                assert checked.status_code == 200, checked.text
                did = EXPERIMENTS[user] if day == 3 else f"Dag {day}: situatie besproken"
                noted = client.post(
                    f"{url}/days/{day}/notes",
                    json={"did": did, "noticed": "Het gaf rust"},
                    headers=as_(env, user),
                )
                assert noted.status_code == 200, noted.text
        drafts = []
        for user in ("pia", "piet", "fee"):
            lesson = {
                "what_tried": EXPERIMENTS[user],
                "lesson": f"Wat {user} leerde: klein beginnen.",
            }
            sent = client.post(f"{url}/lesson", json=lesson, headers=as_(env, user))
            assert sent.status_code == 201, sent.text
            assert sent.json()["session_id"] == sessions_of(client, env, user)[0]["id"]
            drafts.append(sent.json())
        waiting = client.get("/v1/drafts", headers=env.headers("curator")).json()
        assert sorted(d["id"] for d in waiting) == sorted(d["id"] for d in drafts)
        assert {d["user_id"] for d in waiting} == {"pia", "piet", "fee"}
        assert all(d["document"]["status"] == "draft" for d in waiting)
        # The facilitator brings no situation: no lesson from the cycle for them.
        assert (
            client.post(f"{url}/lesson", json={"lesson": "x"}, headers=as_(env, "gijs")).status_code
            == 409
        )
        final = client.get(url, headers=as_(env, "gijs")).json()
        assert [n["did"] for n in final["days"][2]["notes"]] == [
            EXPERIMENTS["fee"],
            EXPERIMENTS["pia"],
            EXPERIMENTS["piet"],
        ]


def test_a_check_in_is_private_unless_shared(env: Env) -> None:
    with env.client() as client:
        url = f"/v1/cycles/{propose(client, env, group(client, env), PAST)['id']}"
        client.put(
            f"{url}/days/1/check-in",
            json={"energy": 2, "word": "uitgeputxq"},
            headers=as_(env, "piet"),
        )
        shared = {"energy": 4, "word": "blij", "shared": True}
        client.put(f"{url}/days/1/check-in", json=shared, headers=as_(env, "pia"))

        def check_ins(user: str) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = client.get(url, headers=as_(env, user)).json()["days"][0][
                "check_ins"
            ]
            return found

        pia = {"member": "pia", "energy": 4, "word": "blij", "shared": True}
        piet = {"member": "piet", "energy": 2, "word": "uitgeputxq", "shared": False}
        assert check_ins("piet") == [pia, piet]
        for other in ("pia", "fee", "gijs"):  # members and the facilitator
            assert check_ins(other) == [pia]
            assert "uitgeputxq" not in client.get(url, headers=as_(env, other)).text
        # A second check-in for the day replaces the first; sharing it shows it.
        again = {"energy": 3, "word": None, "shared": True}
        client.put(f"{url}/days/1/check-in", json=again, headers=as_(env, "piet"))
        assert check_ins("fee") == [pia, {"member": "piet", **again}]
        refused = client.put(f"{url}/days/1/check-in", json={"energy": 3}, headers=as_(env, "gijs"))
        assert refused.status_code == 409  # the facilitator does not check in
        for bad in ({"energy": 0}, {"energy": 6}, {"energy": "3"}, {"energy": 3, "word": "x" * 41}):
            answer = client.put(f"{url}/days/1/check-in", json=bad, headers=as_(env, "pia"))
            assert answer.status_code == 422, (bad, answer.text)
        stranger = client.put(f"{url}/days/1/check-in", json={"energy": 3}, headers=as_(env, "kim"))
        assert stranger.status_code == 404
        assert (
            client.put(
                f"{url}/days/5/check-in", json={"energy": 3}, headers=as_(env, "pia")
            ).status_code
            == 422
        )


def test_a_member_brings_one_of_their_own_sessions(env: Env) -> None:
    with env.client() as client:
        group_id = group(client, env)
        asked = client.post("/v1/coach", json={"situation": CALLBACKS}, headers=as_(env, "pia"))
        session_id = asked.headers["X-Session-Id"]
        piets = client.post("/v1/coach", json={"situation": HEAT_PUMP}, headers=as_(env, "piet"))
        cycle = propose(
            client, env, group_id, PAST | {"session_id": session_id}, {"piet": HEAT_PUMP}
        )
        assert cycle["your_session_id"] == session_id
        assert len(sessions_of(client, env, "pia")) == 1  # no second session for the same one
        options = {i["member"]: i for i in cycle["days"][1]["agenda"]["items"]}
        assert options["pia"]["situation"] == CALLBACKS and options["pia"]["suggestions"]
        for mine, field in (
            ({"session_id": piets.headers["X-Session-Id"]}, "session_id"),  # piet's, not hers
            ({"session_id": session_id, "situation": CALLBACKS}, "session_id"),
        ):
            answer = client.post(
                f"/v1/groups/{group_id}/cycles", json=PAST | mine, headers=as_(env, "pia")
            )
            assert answer.status_code == 422, answer.text
            assert field in answer.text
        other = client.post(f"/v1/groups/{group_id}/cycles", json=PAST, headers=as_(env, "pia"))
        url = f"/v1/cycles/{other.json()['id']}/situation"
        for bad in (
            {"session_id": session_id},  # pia's, brought by piet
            {"session_id": session_id, "situation": HEAT_PUMP},
            {},
            {"none": True, "situation": HEAT_PUMP},
        ):
            answer = client.put(url, json=bad, headers=as_(env, "piet"))
            assert answer.status_code == 422, (bad, answer.text)


def test_insights_count_cycles_without_names_teams_or_text(env: Env) -> None:
    with env.client() as client:
        group_id = group(client, env)
        propose(client, env, group_id, PAST)
        later = propose(client, env, group_id, PAST | {"start": "2099-03-02"})
        cancelled = propose(client, env, group_id, PAST | {"start": "2099-06-01"})
        client.post(f"/v1/cycles/{cancelled['id']}/cancel", headers=as_(env, "pia"))
        answer = client.get("/v1/insights", headers=env.headers("curator"))
        assert answer.status_code == 200, answer.text
        cycles = answer.json()["cycles"]
        assert cycles | {"most_cited_documents": []} == {
            "cycles": 3,
            "completed": 1,
            "cancelled": 1,
            "planned": 1,
            "situations": 9,
            "ungrounded_situations": 3,
            "most_cited_documents": [],
        }
        assert cycles["most_cited_documents"][0]["cycles"] == 3
        shown = json.dumps(cycles)
        for private in ("pia", "piet", "fee", "gijs", "Storingen", TEAM, CALLBACKS, later["id"]):
            assert private not in shown
        assert client.get("/v1/insights", headers=as_(env, "pia")).status_code == 403


def test_a_forgotten_member_is_gone_from_the_cycle_and_an_empty_group_with_it(
    env: Env,
) -> None:
    with env.client() as client:
        url = f"/v1/cycles/{propose(client, env, group(client, env), PAST)['id']}"
        note = {"did": "Drie klanten teruggebeld", "noticed": "Geheim van piet"}
        client.post(f"{url}/days/2/notes", json=note, headers=as_(env, "piet"))
        client.put(
            f"{url}/days/2/check-in", json={"energy": 5, "shared": True}, headers=as_(env, "piet")
        )

        mine = client.get("/v1/me/export", headers=as_(env, "piet")).json()
        assert [(g["name"], g["team"], g["my_state"]) for g in mine["groups"]] == [
            ("Storingen", TEAM, "member")
        ]
        [cycle] = mine["cycles"]
        assert cycle["situation"] == HEAT_PUMP
        assert cycle["days"] == [
            {
                "day": 2,
                "did": note["did"],
                "noticed": note["noticed"],
                "energy": 5,
                "word": None,
                "shared": True,
            }
        ]
        assert CALLBACKS not in json.dumps(mine["cycles"])  # pia's situation is hers

        gone = client.delete("/v1/me/data", headers=as_(env, "piet")).json()
        assert (gone["groups_left"], gone["cycle_entries"], gone["sessions"]) == (1, 2, 1)
        seen = client.get(url, headers=as_(env, "pia"))
        assert seen.status_code == 200
        for private in (HEAT_PUMP, "Geheim van piet", '"piet"'):
            assert private not in seen.text
        assert {i["member"] for i in seen.json()["days"][0]["agenda"]["items"]} == {"pia", "fee"}

        for user in ("pia", "fee"):
            group_id = seen.json()["group_id"]
            assert (
                client.post(f"/v1/groups/{group_id}/leave", headers=as_(env, user)).status_code
                == 204
            )
        assert client.get(url, headers=as_(env, "gijs")).status_code == 404
        store = SessionStore(env.settings.sessions_url())
        try:
            with store.engine.connect() as connection:
                for table in (
                    "vital_week_cycles",
                    "vital_week_cycle_notes",
                    "vital_week_cycle_check_ins",
                    "learning_groups",
                ):
                    count = connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
                    assert count == 0, table
        finally:
            store.close()


def test_what_a_member_did_in_a_cycle_stays_theirs_after_they_leave_the_group(env: Env) -> None:
    with env.client() as client:
        group_id = group(client, env)
        url = f"/v1/cycles/{propose(client, env, group_id, PAST)['id']}"
        note = {"did": "Drie klanten teruggebeld", "noticed": "Ze waren opgelucht"}
        client.post(f"{url}/days/3/notes", json=note, headers=as_(env, "piet"))
        assert (
            client.post(f"/v1/groups/{group_id}/leave", headers=as_(env, "piet")).status_code == 204
        )
        assert client.get(url, headers=as_(env, "piet")).status_code == 404  # not theirs to see
        [cycle] = client.get("/v1/me/export", headers=as_(env, "piet")).json()["cycles"]
        assert cycle["situation"] == HEAT_PUMP
        assert [(d["day"], d["did"]) for d in cycle["days"]] == [(3, note["did"])]
        portfolio = client.get(
            "/v1/portfolio?from=2026-01-01&to=2026-12-31", headers=as_(env, "piet")
        )
        assert note["did"] in portfolio.text and "Storingen" in portfolio.text
        assert CALLBACKS not in portfolio.text  # pia's situation is hers


def test_what_members_wrote_stays_theirs_when_the_last_member_leaves(env: Env) -> None:
    with env.client() as client:
        group_id = group(client, env)
        url = f"/v1/cycles/{propose(client, env, group_id, PAST)['id']}"
        for user in ("pia", "piet"):
            note = {"did": f"{user} belde terug", "noticed": "Rustiger"}
            assert client.post(f"{url}/days/2/notes", json=note, headers=as_(env, user))
        for user in ("fee", "piet", "pia"):  # pia leaves last: the group is gone
            left = client.post(f"/v1/groups/{group_id}/leave", headers=as_(env, user))
            assert left.status_code == 204, left.text
        assert client.get(f"/v1/groups/{group_id}", headers=as_(env, "pia")).status_code == 404
        assert client.get(url, headers=as_(env, "gijs")).status_code == 404
        for user, situation in (("pia", CALLBACKS), ("piet", HEAT_PUMP)):
            [cycle] = client.get("/v1/me/export", headers=as_(env, user)).json()["cycles"]
            assert cycle["situation"] == situation
            assert [(d["day"], d["did"]) for d in cycle["days"]] == [(2, f"{user} belde terug")]
            portfolio = client.get(
                "/v1/portfolio?from=2026-01-01&to=2026-12-31", headers=as_(env, user)
            )
            assert f"{user} belde terug" in portfolio.text
        # Once they ask to be forgotten, nothing of the group is left.
        for user in ("pia", "piet"):
            assert client.delete("/v1/me/data", headers=as_(env, user)).status_code == 200
        assert client.get("/v1/me/export", headers=as_(env, "pia")).json()["cycles"] == []
