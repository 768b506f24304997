"""Group writes that check, then write, on SQLite and on PostgreSQL: two invitations at once do
not take a group past its cap, an acceptance against the last member leaving ends in one state,
a move against a cancel leaves no cancelled cycle with moved dates; and what one user may grow
is bounded (groups per user, open cycles per group) and listed a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from api.db.cycles import MAX_OPEN_CYCLES
from api.db.groups import MAX_GROUP_SIZE, MAX_GROUPS_PER_USER
from tests.api_support import Env
from tests.test_cycle_consent_api import env, next_monday, run_at_once

__all__ = ["env"]  # the fixture, shared with the consent tests

COLLEAGUES = ("fee", "gijs", "kim", "lot", "mo", "noor")


def test_two_invitations_at_once_never_take_a_group_past_its_cap(env: Env) -> None:
    env.with_professionals("ria", "sam")
    with env.client() as client:
        for _ in range(6):
            body = {"name": "Vol", "members": ["piet", *COLLEAGUES[:-1]]}  # seven of eight
            group = client.post("/v1/groups", json=body, headers=env.headers("pro")).json()
            url = f"/v1/groups/{group['id']}"
            client.post(f"{url}/accept", headers=env.headers("pro2"))
            answers = run_at_once(
                [
                    partial(
                        client.post, f"{url}/members", json={"user": who}, headers=env.headers(by)
                    )
                    for who, by in (("ria", "pro"), ("sam", "pro2"))
                ]
            )
            assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
            found = client.get(url, headers=env.headers("pro")).json()
            assert len(found["members"]) == MAX_GROUP_SIZE


def test_accepting_while_the_last_member_leaves_ends_in_one_state(env: Env) -> None:
    with env.client() as client:
        for _ in range(6):
            body = {"name": "Kort", "members": ["fee"]}
            group = client.post("/v1/groups", json=body, headers=env.headers("pro")).json()
            url = f"/v1/groups/{group['id']}"
            accept, leave = run_at_once(
                [
                    partial(client.post, f"{url}/accept", headers=env.headers("fee")),
                    partial(client.post, f"{url}/leave", headers=env.headers("pro")),
                ]
            )
            assert leave.status_code == 204, leave.text
            assert accept.status_code in (200, 404), accept.text
            seen = client.get(url, headers=env.headers("fee"))
            # fee accepted first (and is its member now), or the group was gone before.
            assert seen.status_code == (200 if accept.status_code == 200 else 404)


def test_a_move_against_a_cancel_never_moves_a_cancelled_cycle(env: Env) -> None:
    with env.client() as client:
        body = {"name": "Wissel", "members": ["piet"]}
        group = client.post("/v1/groups", json=body, headers=env.headers("pro")).json()
        client.post(f"/v1/groups/{group['id']}/accept", headers=env.headers("pro2"))
        later = (datetime.now(UTC).date() + timedelta(days=21)).isoformat()
        for _ in range(5):
            cycle = client.post(
                f"/v1/groups/{group['id']}/cycles",
                json={"start": next_monday(), "time": "09:00"},
                headers=env.headers("pro"),
            ).json()
            url = f"/v1/cycles/{cycle['id']}"
            move, cancel = run_at_once(
                [
                    partial(
                        client.post,
                        f"{url}/move",
                        json={"start": later},
                        headers=env.headers("pro2"),
                    ),
                    partial(client.post, f"{url}/cancel", headers=env.headers("pro")),
                ]
            )
            assert cancel.status_code == 200 and move.status_code in (200, 409), move.text
            final = client.get(url, headers=env.headers("pro")).json()
            assert final["state"] == "cancelled"
            moved = move.status_code == 200
            assert final["sequence"] == (2 if moved else 1)
            assert (final["days"][0]["date"] >= later) == moved


def test_groups_per_user_are_capped_and_listed_a_page_at_a_time(env: Env) -> None:
    with env.client() as client:
        made = run_at_once(
            [
                partial(
                    client.post,
                    "/v1/groups",
                    json={"name": f"Groep {n}", "members": ["piet"]},
                    headers=env.headers("pro"),
                )
                for n in range(MAX_GROUPS_PER_USER + 5)
            ]
        )
        codes = sorted(answer.status_code for answer in made)
        assert codes == [201] * MAX_GROUPS_PER_USER + [409] * 5
        refused = next(a for a in made if a.status_code == 409)
        assert "leave one" in refused.json()["detail"]
        page = client.get("/v1/groups?limit=7&offset=14", headers=env.headers("pro")).json()
        assert (page["total"], page["limit"], page["offset"]) == (MAX_GROUPS_PER_USER, 7, 14)
        assert len(page["items"]) == MAX_GROUPS_PER_USER - 14
        first = client.get("/v1/groups", headers=env.headers("pro")).json()
        assert len(first["items"]) == 20 and first["total"] == MAX_GROUPS_PER_USER
        too_many = client.get("/v1/groups?limit=1000", headers=env.headers("pro"))
        assert too_many.status_code == 422
        # piet is invited to all of them: he sees them a page at a time, and may still create.
        assert client.get("/v1/groups", headers=env.headers("pro2")).json()["total"] == 20
        own = client.post(
            "/v1/groups", json={"name": "Van piet", "members": ["pia"]}, headers=env.headers("pro2")
        )
        assert own.status_code == 201, own.text


def test_a_group_has_a_bounded_number_of_cycles_to_come(env: Env) -> None:
    with env.client() as client:
        body = {"name": "Plannen", "members": ["piet"]}
        group = client.post("/v1/groups", json=body, headers=env.headers("pro")).json()
        url = f"/v1/groups/{group['id']}/cycles"
        answers = [
            client.post(
                url, json={"start": next_monday(), "time": "09:00"}, headers=env.headers("pro")
            )
            for _ in range(MAX_OPEN_CYCLES + 1)
        ]
        assert [a.status_code for a in answers] == [201] * MAX_OPEN_CYCLES + [409]
        assert "still to come" in answers[-1].json()["detail"]
        # A cancelled one makes room.
        client.post(f"/v1/cycles/{answers[0].json()['id']}/cancel", headers=env.headers("pro"))
        again = client.post(
            url, json={"start": next_monday(), "time": "10:00"}, headers=env.headers("pro")
        )
        assert again.status_code == 201, again.text
        listed = client.get(f"/v1/groups/{group['id']}", headers=env.headers("pro")).json()
        assert listed["cycles_total"] == MAX_OPEN_CYCLES + 1
