"""Group learning in one's own name, on SQLite and on PostgreSQL: each member brings their own
situation to a proposed cycle (what the proposer types for them is a suggestion only they see,
stored in their name only when they bring it), a facilitator is invited, accepts and then only
reads, and the agenda is built once everyone answered or when the proposer says. Concurrent
check-ins and notes on one cycle all land. The coach is the in-memory one of `coach.testing`;
the databases are real."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.db.cycles import MAX_OPEN_CYCLES
from coach.ingest.corpus import scan_corpus
from coach.ingest.didactics import load_didactics
from coach.testing import memory_coach
from tests.api_support import Env

CALLBACKS = "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt."
HEAT_PUMP = "After we install a heat pump the customer says the house stays cold."
PARTS = "Onze monteurs komen bij klanten aan zonder de juiste onderdelen."
MEMBERS = ("fee", "gijs", "kim", "lot", "mo", "noor")  # with pia and piet: eight


@pytest.fixture
def env(tmp_path: Path) -> Env:
    made = Env(tmp_path, memory_coach([])).with_professionals(*MEMBERS, "fac")
    documents = scan_corpus(made.settings.corpus_dir).documents
    made.coach = memory_coach(documents, didactics=load_didactics(made.settings.didactics_path()))
    return made


def group(client: TestClient, env: Env, members: tuple[str, ...], **extra: Any) -> str:
    """A group of pia with `members` (user ids; piet is "pro2"), all accepted."""
    body = {"name": "Storingen", "members": [m if m != "pro2" else "piet" for m in members]}
    made = client.post("/v1/groups", json=body | extra, headers=env.headers("pro"))
    assert made.status_code == 201, made.text
    for who in members:
        accepted = client.post(f"/v1/groups/{made.json()['id']}/accept", headers=env.headers(who))
        assert accepted.status_code == 200, accepted.text
    found: str = made.json()["id"]
    return found


def next_monday() -> str:
    today = datetime.now(UTC).date()
    return (today + timedelta(days=7 - today.weekday())).isoformat()


def proposal(**extra: Any) -> dict[str, Any]:
    return {"start": next_monday(), "time": "09:30"} | extra


def sessions_of(client: TestClient, env: Env, who: str) -> list[str]:
    listed = client.get("/v1/sessions", headers=env.headers(who)).json()
    return [item["situation"] for item in listed["items"]]


def test_a_suggestion_is_stored_in_nobodys_name_until_its_member_brings_it(env: Env) -> None:
    with env.client() as client:
        group_id = group(client, env, ("pro2", "fee"))
        proposed = client.post(
            f"/v1/groups/{group_id}/cycles",
            json=proposal(
                situation=CALLBACKS, suggestions=[{"member": "piet", "situation": HEAT_PUMP}]
            ),
            headers=env.headers("pro"),
        )
        assert proposed.status_code == 201, proposed.text
        cycle = proposed.json()
        url = f"/v1/cycles/{cycle['id']}"
        assert cycle["answers"] == {"pia": "brings"} and not cycle["agenda_ready"]
        assert all(day["agenda"]["items"] == [] for day in cycle["days"])
        # Nothing in piet's name; only piet sees what pia typed for him.
        assert sessions_of(client, env, "pro2") == []
        assert sessions_of(client, env, "pro") == [CALLBACKS]
        assert cycle["your_suggestion"] is None
        piet = client.get(url, headers=env.headers("pro2")).json()
        assert piet["your_suggestion"] == {"by": "pia", "situation": HEAT_PUMP}
        assert client.get(url, headers=env.headers("fee")).json()["your_suggestion"] is None
        # piet edits the suggestion and brings it: now it is his session, in his words.
        edited = HEAT_PUMP + " Only in older houses."
        brought = client.put(
            f"{url}/situation", json={"situation": edited}, headers=env.headers("pro2")
        )
        assert brought.status_code == 200, brought.text
        assert brought.json()["your_suggestion"] is None
        assert brought.json()["your_session_id"] is not None
        assert sessions_of(client, env, "pro2") == [edited]
        assert not brought.json()["agenda_ready"]  # fee has not answered
        # fee brings none: everyone answered, the agenda is built from what was brought.
        none = client.put(f"{url}/situation", json={"none": True}, headers=env.headers("fee"))
        assert none.status_code == 200, none.text
        built = none.json()
        assert built["agenda_ready"] and built["answers"] == {
            "fee": "none",
            "piet": "brings",
            "pia": "brings",
        }
        items = built["days"][0]["agenda"]["items"]
        assert {(i["member"], i["situation"]) for i in items} == {
            ("pia", CALLBACKS),
            ("piet", edited),
        }
        assert sessions_of(client, env, "fee") == []
        late = client.put(f"{url}/situation", json={"situation": PARTS}, headers=env.headers("fee"))
        assert late.status_code == 409, late.text
        assert sessions_of(client, env, "fee") == []


def test_what_a_member_brought_goes_with_them_when_they_leave(env: Env) -> None:
    with env.client() as client:
        group_id = group(client, env, ("pro2", "fee"))
        cycle = client.post(
            f"/v1/groups/{group_id}/cycles", json=proposal(), headers=env.headers("pro")
        ).json()
        url = f"/v1/cycles/{cycle['id']}"
        secret = "Mijn burn-out en de ruzie met mijn leidinggevende."
        client.put(f"{url}/situation", json={"situation": secret}, headers=env.headers("pro2"))
        assert client.post(f"/v1/groups/{group_id}/leave", headers=env.headers("pro2"))
        for who in ("pro", "fee"):
            client.put(f"{url}/situation", json={"none": True}, headers=env.headers(who))
        built = client.get(url, headers=env.headers("fee"))
        assert built.json()["agenda_ready"] and secret not in built.text
        assert "piet" not in built.json()["answers"]


def test_the_proposer_builds_the_agenda_with_what_was_given_by_then(env: Env) -> None:
    with env.client() as client:
        group_id = group(client, env, ("pro2", "fee"))
        cycle = client.post(
            f"/v1/groups/{group_id}/cycles",
            json=proposal(suggestions=[{"member": "fee", "situation": PARTS}]),
            headers=env.headers("pro"),
        ).json()
        url = f"/v1/cycles/{cycle['id']}"
        for seen in (cycle, client.get(url, headers=env.headers("pro2")).json()):  # stored
            at = datetime.fromisoformat(seen["agenda_at"])
            assert at == datetime.fromisoformat(seen["days"][0]["start"])  # the default
        brought = client.put(
            f"{url}/situation", json={"situation": HEAT_PUMP}, headers=env.headers("pro2")
        )
        assert brought.status_code == 200
        assert client.post(f"{url}/agenda", headers=env.headers("pro2")).status_code == 409
        built = client.post(f"{url}/agenda", headers=env.headers("pro"))
        assert built.status_code == 200, built.text
        items = built.json()["days"][0]["agenda"]["items"]
        assert [i["member"] for i in items] == ["piet"]  # fee's suggestion was never hers
        assert sessions_of(client, env, "fee") == [] and sessions_of(client, env, "pro") == []
        again = client.get(url, headers=env.headers("fee")).json()
        assert again["your_suggestion"] is None  # dropped once the agenda is set


def test_a_facilitator_is_invited_accepts_and_then_only_reads(env: Env) -> None:
    with env.client() as client:
        group_id = group(client, env, ("pro2",), facilitator="fac")
        url = f"/v1/groups/{group_id}"
        invited = client.get(url, headers=env.headers("fac")).json()
        assert invited["my_state"] == "invited_facilitator" and invited["facilitator"] is None
        assert {"user": "fac", "state": "invited_facilitator"} in invited["members"]
        cycle = client.post(
            f"{url}/cycles", json=proposal(situation=CALLBACKS), headers=env.headers("pro")
        ).json()
        cycle_url = f"/v1/cycles/{cycle['id']}"
        # Before accepting, the facilitator sees no plans.
        assert client.get(cycle_url, headers=env.headers("fac")).status_code == 404
        assert client.post(f"{url}/accept", headers=env.headers("fac")).status_code == 200
        assert client.get(url, headers=env.headers("pro")).json()["facilitator"] == "fac"
        assert client.get(cycle_url, headers=env.headers("fac")).status_code == 200
        # Then they read along and write nothing.
        writes: list[Callable[[], Any]] = [
            lambda: client.post(f"{url}/cycles", json=proposal(), headers=env.headers("fac")),
            lambda: client.post(
                f"{cycle_url}/move", json={"start": next_monday()}, headers=env.headers("fac")
            ),
            lambda: client.post(f"{cycle_url}/cancel", headers=env.headers("fac")),
            lambda: client.put(
                f"{cycle_url}/situation", json={"situation": PARTS}, headers=env.headers("fac")
            ),
            lambda: client.post(f"{url}/members", json={"user": "kim"}, headers=env.headers("fac")),
        ]
        for write in writes:
            answer = write()
            assert answer.status_code == 409, answer.text
        assert client.get(cycle_url, headers=env.headers("pro")).json()["state"] == "planned"
        assert sessions_of(client, env, "fac") == []


def test_a_declined_facilitator_invitation_leaves_no_facilitator(env: Env) -> None:
    with env.client() as client:
        group_id = group(client, env, ("pro2",), facilitator="fac")
        url = f"/v1/groups/{group_id}"
        assert client.post(f"{url}/decline", headers=env.headers("fac")).status_code == 204
        found = client.get(url, headers=env.headers("pro")).json()
        assert found["facilitator"] is None and [m["user"] for m in found["members"]] == [
            "pia",
            "piet",
        ]
        assert client.get(url, headers=env.headers("fac")).status_code == 404


def run_at_once(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Every call in a thread of its own, released together; their answers in order."""
    gate = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(number: int) -> None:
        gate.wait()
        answers[number] = calls[number]()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_forty_check_ins_and_forty_notes_at_once_on_one_cycle_all_land(env: Env) -> None:
    people = ("pro", "pro2", *MEMBERS)
    users = {"pro": "pia", "pro2": "piet"}
    with env.client() as client:
        group_id = group(client, env, ("pro2", *MEMBERS))
        cycle = client.post(
            f"/v1/groups/{group_id}/cycles", json=proposal(), headers=env.headers("pro")
        ).json()
        url = f"/v1/cycles/{cycle['id']}"
        # Each of the eight members checks in on every day, and once more on day 1 (40).
        check_ins = [(who, day) for who in people for day in (1, 2, 3, 4, 1)]
        notes = [(who, day) for who in people for day in (1, 2, 3, 4, 2)]

        def check_in(who: str, day: int) -> Callable[[], Any]:
            body = {"energy": 1 + day, "word": f"{who}-{day}", "shared": True}
            return lambda: client.put(
                f"{url}/days/{day}/check-in", json=body, headers=env.headers(who)
            )

        def note(who: str, day: int) -> Callable[[], Any]:
            body = {"did": f"{who} on {day}", "noticed": "rustig"}
            return lambda: client.post(
                f"{url}/days/{day}/notes", json=body, headers=env.headers(who)
            )

        started = datetime.now(UTC)
        answers = run_at_once([check_in(*each) for each in check_ins])
        answers += run_at_once([note(*each) for each in notes])
        took = datetime.now(UTC) - started
        assert [a.status_code for a in answers] == [200] * 80, [
            a.text for a in answers if a.status_code != 200
        ][:3]
        assert took < timedelta(seconds=20)  # 30 s each when the pool ran dry
        days = client.get(url, headers=env.headers("pro")).json()["days"]
        for day in days:
            seen_check_ins = {(c["member"], c["word"]) for c in day["check_ins"]}
            seen_notes = {(n["member"], n["did"]) for n in day["notes"]}
            expected = {users.get(who, who) for who in people}
            assert {m for m, _ in seen_check_ins} == expected
            assert seen_check_ins == {(users.get(w, w), f"{w}-{day['day']}") for w in people}
            assert seen_notes == {(users.get(w, w), f"{w} on {day['day']}") for w in people}


def test_the_export_holds_suggestions_made_and_received_and_answers(env: Env) -> None:
    with env.client() as client:
        group_id = group(client, env, ("pro2", "fee"))
        cycle = client.post(
            f"/v1/groups/{group_id}/cycles",
            json=proposal(suggestions=[{"member": "piet", "situation": HEAT_PUMP}]),
            headers=env.headers("pro"),
        ).json()
        client.put(
            f"/v1/cycles/{cycle['id']}/situation", json={"none": True}, headers=env.headers("fee")
        )

        def mine(who: str) -> dict[str, Any]:
            exported = client.get("/v1/me/export", headers=env.headers(who)).json()
            [found] = [c for c in exported["cycles"] if c["id"] == cycle["id"]]
            return dict(found)

        assert mine("pro")["your_suggestions"] == [{"member": "piet", "situation": HEAT_PUMP}]
        assert mine("pro2")["suggested_to_you"] == HEAT_PUMP
        assert mine("fee")["answer"] == "none" and mine("fee")["suggested_to_you"] is None


def test_two_settings_changed_at_once_both_stay(env: Env) -> None:
    with env.client() as client:
        for _ in range(8):
            client.put(
                "/v1/me/settings",
                json={"share_situations": False, "learning_records": True},
                headers=env.headers("pro"),
            )
            answers = run_at_once(
                [
                    partial(
                        client.put,
                        "/v1/me/settings",
                        json={"learning_records": False},
                        headers=env.headers("pro"),
                    ),
                    partial(
                        client.put,
                        "/v1/me/settings",
                        json={"share_situations": True},
                        headers=env.headers("pro"),
                    ),
                ]
            )
            assert [a.status_code for a in answers] == [200, 200]
            now = client.get("/v1/me/settings", headers=env.headers("pro")).json()
            assert (now["share_situations"], now["learning_records"]) == (True, False)


def test_forty_proposals_and_forty_answers_at_once_keep_the_cap_and_every_answer(
    env: Env,
) -> None:
    people = ("pro", "pro2", *MEMBERS)
    users = {"pro": "pia", "pro2": "piet"}
    with env.client() as client:
        group_id = group(client, env, ("pro2", *MEMBERS))
        url = f"/v1/groups/{group_id}/cycles"
        proposals = run_at_once(
            [
                partial(client.post, url, json=proposal(), headers=env.headers(who))
                for who in ("pro", "pro2") * 20
            ]
        )
        codes = sorted(answer.status_code for answer in proposals)
        assert codes == [201] * MAX_OPEN_CYCLES + [409] * (40 - MAX_OPEN_CYCLES), codes
        made = [a.json()["id"] for a in proposals if a.status_code == 201]
        listed = client.get(f"/v1/groups/{group_id}", headers=env.headers("pro")).json()
        assert sorted(c["id"] for c in listed["cycles"]) == sorted(made)
        # Every member answers each cycle at once (brings none, then changes it to a text):
        # every answer lands, each in its own member's name, until the agenda is built.
        first, second = made[0], made[1]
        calls = [
            partial(
                client.put,
                f"/v1/cycles/{cycle}/situation",
                json={"none": True},
                headers=env.headers(who),
            )
            for cycle in (first, second)
            for who in people
        ]
        calls += [
            partial(
                client.put,
                f"/v1/cycles/{second}/situation",
                json={"situation": f"{who}: {CALLBACKS}"},
                headers=env.headers(who),
            )
            for who in people
        ] * 3
        answers = run_at_once(calls[:40])
        assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers][:3]
        done = client.get(f"/v1/cycles/{first}", headers=env.headers("pro")).json()
        assert done["agenda_ready"]
        assert done["answers"] == {users.get(w, w): "none" for w in people}
        texts = answers[16:]  # the answers that bring a text, in the order of `calls`
        for number, who in enumerate(people):
            own = sessions_of(client, env, who)
            assert all(text.startswith(f"{who}: ") for text in own)  # only their own words
            landed = [a for a in texts[number :: len(people)] if a.status_code == 200]
            assert len(own) == len(landed)  # every text brought is one of their sessions
