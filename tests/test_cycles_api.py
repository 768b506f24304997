"""Vital week cycles through the API (on SQLite and on PostgreSQL): a group's member proposes a
cycle, each member brings their own situation, they get four meetings on working days with the
coach's agenda once everyone answered, import
it as a calendar whose events keep their UIDs when the cycle moves, record notes per day, and
cancel it; nobody outside the group sees it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from coach.engine import Coach
from tests.api_support import Env

CALLBACKS = "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt."
HEAT_PUMP = "After we install a heat pump the customer says the house stays cold."
OUT_OF_SCOPE = "Mijn buurman maakt al weken ruzie over de schutting tussen onze tuinen."


@pytest.fixture
def env(tmp_path: Path, api_coach: Coach) -> Env:
    return Env(tmp_path, api_coach).with_professionals("fee", "gijs", "kim")


def group_of_three(client: TestClient, env: Env) -> str:
    """pia, piet and fee, all accepted, with gijs as facilitator (who accepted too)."""
    body = {"name": "Storingen", "members": ["piet", "fee"], "facilitator": "gijs"}
    group = client.post("/v1/groups", json=body, headers=env.headers("pro")).json()
    for who in ("pro2", "fee", "gijs"):
        accepted = client.post(f"/v1/groups/{group['id']}/accept", headers=env.headers(who))
        assert accepted.status_code == 200, accepted.text
    found: str = group["id"]
    return found


PROPOSAL: dict[str, Any] = {
    "start": "2027-03-26",  # a Friday; the clocks go forward on Sunday the 28th
    "time": "09:30",
    "place": "Werkplaats, zaal 2",
    "holidays": ["2027-03-29", "2027-04-05"],  # Easter Monday, and a week later
    "situation": CALLBACKS,  # pia's own
}


def propose(client: TestClient, env: Env, group: str) -> dict[str, Any]:
    """pia proposes with her situation; piet and fee bring theirs, which builds the agenda."""
    answer = client.post(f"/v1/groups/{group}/cycles", json=PROPOSAL, headers=env.headers("pro"))
    assert answer.status_code == 201, answer.text
    assert not answer.json()["agenda_ready"] and answer.json()["answers"] == {"pia": "brings"}
    url = f"/v1/cycles/{answer.json()['id']}/situation"
    for who, text in (("pro2", HEAT_PUMP), ("fee", OUT_OF_SCOPE)):
        brought = client.put(url, json={"situation": text}, headers=env.headers(who))
        assert brought.status_code == 200, brought.text
    found: dict[str, Any] = client.get(
        f"/v1/cycles/{answer.json()['id']}", headers=env.headers("pro")
    ).json()
    assert found["agenda_ready"], found
    return found


def events(ics: bytes) -> dict[str, Any]:
    calendar = Calendar.from_ical(ics)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_a_cycle_is_planned_imported_moved_noted_and_cancelled(env: Env) -> None:
    with env.client() as client:
        cycle = propose(client, env, group_of_three(client, env))
        url = f"/v1/cycles/{cycle['id']}"
        assert cycle["state"] == "planned" and cycle["sequence"] == 0
        days = cycle["days"]
        assert [d["date"] for d in days] == ["2027-03-26", "2027-03-30", "2027-03-31", "2027-04-01"]
        for day in days:
            start, end = datetime.fromisoformat(day["start"]), datetime.fromisoformat(day["end"])
            assert start.strftime("%H:%M") == "09:30" and end - start == timedelta(hours=1)
            assert date.fromisoformat(day["date"]).weekday() < 5
        # Day 2: cited suggestions for the grounded members, none for the out-of-scope one.
        items = {item["member"]: item for item in days[1]["agenda"]["items"]}
        assert set(items) == {"pia", "piet", "fee"}
        for grounded in ("pia", "piet"):
            assert items[grounded]["grounded"] and items[grounded]["suggestions"]
            assert all(s["citations"] for s in items[grounded]["suggestions"])
        assert not items["fee"]["grounded"] and items["fee"]["suggestions"] == []
        # The facilitator sees the same plan; only the proposer's own session differs.
        assert cycle["your_session_id"] is not None
        facilitator = client.get(url, headers=env.headers("gijs")).json()
        assert facilitator == cycle | {"your_session_id": None, "my_state": "facilitator"}
        assert cycle["my_state"] == "member"

        first = client.get(f"{url}/calendar.ics", headers=env.headers("pro2"))
        assert first.status_code == 200, first.text
        assert first.headers["content-type"].startswith("text/calendar")
        assert first.headers["content-disposition"] == (
            f'attachment; filename="vital-week-{cycle["id"]}.ics"'
        )
        before = events(first.content)
        assert len(before) == 4
        for event in before.values():
            assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(hours=1)
            assert int(event["SEQUENCE"]) == 0 and str(event["LOCATION"]) == "Werkplaats, zaal 2"
        # piet's situation is English: his calendar is too; pia's is Dutch.
        assert "Day 2 of 4" in str(before[f"{cycle['id']}-day-2@coach"]["DESCRIPTION"])
        dutch = events(client.get(f"{url}/calendar.ics", headers=env.headers("pro")).content)
        assert "Dag 2 van 4" in str(dutch[f"{cycle['id']}-day-2@coach"]["DESCRIPTION"])

        moved = client.post(f"{url}/move", json={"start": "2027-04-02"}, headers=env.headers("fee"))
        assert moved.status_code == 200, moved.text
        assert moved.json()["sequence"] == 1
        # 5 April, a holiday of the cycle, is skipped.
        new_days = ["2027-04-02", "2027-04-06", "2027-04-07", "2027-04-08"]
        assert [d["date"] for d in moved.json()["days"]] == new_days
        after = events(client.get(f"{url}/calendar.ics", headers=env.headers("pro")).content)
        assert set(after) == set(before)
        assert sorted(e.decoded("DTSTART").date().isoformat() for e in after.values()) == new_days
        assert {int(e["SEQUENCE"]) for e in after.values()} == {1}

        note = {"did": "Drie klanten teruggebeld", "noticed": "Ze waren opgelucht"}
        noted = client.post(f"{url}/days/2/notes", json=note, headers=env.headers("pro2"))
        assert noted.status_code == 200, noted.text
        client.post(f"{url}/days/2/notes", json=note | {"did": "Niets"}, headers=env.headers("fee"))
        again = note | {"noticed": "Eén was boos"}
        client.post(f"{url}/days/2/notes", json=again, headers=env.headers("pro2"))  # replaces
        seen = client.get(url, headers=env.headers("gijs")).json()["days"]
        assert seen[1]["notes"] == [
            {"member": "fee", "did": "Niets", "noticed": "Ze waren opgelucht"},
            {"member": "piet", "did": "Drie klanten teruggebeld", "noticed": "Eén was boos"},
        ]
        assert all(day["notes"] == [] for i, day in enumerate(seen) if i != 1)
        by_facilitator = client.post(f"{url}/days/1/notes", json=note, headers=env.headers("gijs"))
        assert by_facilitator.status_code == 409
        assert (
            client.post(f"{url}/days/5/notes", json=note, headers=env.headers("pro")).status_code
            == 422
        )

        cancelled = client.post(f"{url}/cancel", headers=env.headers("pro"))
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        assert [d["date"] for d in cancelled.json()["days"]] == new_days  # the plan is kept
        refused = client.post(
            f"{url}/move", json={"start": "2026-05-04"}, headers=env.headers("pro")
        )
        assert refused.status_code == 409, refused.text
        # Cancelling bumps SEQUENCE: the same four events, imported again, say cancelled.
        assert client.get(url, headers=env.headers("pro")).json()["sequence"] == 2
        gone = events(client.get(f"{url}/calendar.ics", headers=env.headers("pro")).content)
        assert set(gone) == set(before)
        assert {(str(e["STATUS"]), int(e["SEQUENCE"])) for e in gone.values()} == {("CANCELLED", 2)}
        assert {str(e["STATUS"]) for e in after.values()} == {"CONFIRMED"}


def test_only_the_groups_members_and_facilitator_see_a_cycle(env: Env) -> None:
    with env.client() as client:
        cycle = propose(client, env, group_of_three(client, env))
        url = f"/v1/cycles/{cycle['id']}"
        for stranger in ("kim", "admin"):
            headers = env.headers(stranger)
            assert client.get(url, headers=headers).status_code == 404
            assert client.get(f"{url}/calendar.ics", headers=headers).status_code == 404
            moved = client.post(f"{url}/move", json={"start": "2026-04-03"}, headers=headers)
            assert moved.status_code == 404
            assert client.post(f"{url}/cancel", headers=headers).status_code == 404
        assert client.get(url, headers=env.headers("pro")).json()["state"] == "planned"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time": "25:00"}, "time"),
        ({"start": "2026-02-30"}, "start"),
        ({"start": "9999-12-31"}, "start"),
        ({"holidays": ["2026-13-01"]}, "holidays"),
        ({"start": 0}, "start"),  # not read as 1970-01-01
        ({"holidays": [20260406]}, "holidays"),
        ({"start": "9999-12-27"}, "start"),  # its calendar ran into year 10000: 500
        ({"situation": CALLBACKS, "session_id": "0" * 32}, "session_id"),
    ],
)
def test_a_bad_proposal_is_refused_naming_its_field(
    env: Env, change: dict[str, Any], field: str
) -> None:
    with env.client() as client:
        group = group_of_three(client, env)
        answer = client.post(
            f"/v1/groups/{group}/cycles", json=PROPOSAL | change, headers=env.headers("pro")
        )
        assert answer.status_code == 422, answer.text
        assert field in answer.text
        assert client.get(f"/v1/groups/{group}", headers=env.headers("pro")).status_code == 200


def test_a_suggestion_for_someone_not_in_the_group_is_refused_naming_them(env: Env) -> None:
    with env.client() as client:
        group = group_of_three(client, env)
        for stranger in ("kim", "gijs", "pia"):  # outside; the facilitator; the proposer
            suggestions = [{"member": stranger, "situation": CALLBACKS}]
            answer = client.post(
                f"/v1/groups/{group}/cycles",
                json=PROPOSAL | {"suggestions": suggestions},
                headers=env.headers("pro"),
            )
            assert answer.status_code == 409, answer.text
            assert stranger in answer.json()["detail"]
            assert answer.json()["errors"][0]["field"] == "suggestions[0].member"
