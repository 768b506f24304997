"""Learning groups through the API (on SQLite and on PostgreSQL): created, joined, declined,
left and gone; seen by their own people only (a curator or an admin included gets 404), and
by curators only as a count; sizes and names checked, naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from coach.engine import Coach
from tests.api_support import Env


@pytest.fixture
def env(tmp_path: Path, api_coach: Coach) -> Env:
    names = ("fee", "fleur", "gijs", "hans", "ilse", "jan", "kim", "lot")
    return Env(tmp_path, api_coach).with_professionals(*names)


def create(client: TestClient, env: Env, who: str, **body: Any) -> dict[str, Any]:
    answer = client.post("/v1/groups", json=body, headers=env.headers(who))
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def people(group: dict[str, Any]) -> dict[str, str]:
    return {person["user"]: person["state"] for person in group["members"]}


def test_a_group_is_created_joined_declined_left_and_gone(env: Env) -> None:
    with env.client() as client:
        pia, piet, fee = env.headers("pro"), env.headers("pro2"), env.headers("fee")
        group = create(client, env, "pro", name="Storingen", members=["piet", "fee"])
        url = f"/v1/groups/{group['id']}"
        assert group["my_state"] == "member" and group["name"] == "Storingen"
        assert people(group) == {"pia": "member", "piet": "invited", "fee": "invited"}

        mine = client.get("/v1/groups", headers=piet).json()["items"]
        assert [(g["id"], g["my_state"]) for g in mine] == [(group["id"], "invited")]
        accepted = client.post(f"{url}/accept", headers=piet)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["my_state"] == "member"
        again = client.post(f"{url}/accept", headers=piet)
        assert again.status_code == 409 and "no open invitation" in again.json()["detail"]

        assert client.post(f"{url}/decline", headers=fee).status_code == 204
        assert client.get(url, headers=fee).status_code == 404  # a declined one is dropped
        assert client.get("/v1/groups", headers=fee).json()["items"] == []
        assert people(client.get(url, headers=pia).json()) == {"pia": "member", "piet": "member"}

        # A member invites again; the invitee may accept this time.
        invited = client.post(f"{url}/members", json={"user": "fee"}, headers=piet)
        assert invited.status_code == 200, invited.text
        assert people(invited.json())["fee"] == "invited"
        twice = client.post(f"{url}/members", json={"user": "fee"}, headers=pia)
        assert twice.status_code == 409 and "already" in twice.json()["detail"]

        assert client.post(f"{url}/leave", headers=pia).status_code == 204
        assert client.get(url, headers=pia).status_code == 404
        assert people(client.get(url, headers=piet).json()) == {"piet": "member", "fee": "invited"}
        # The last member leaves: the group is gone, for its invitee too.
        assert client.post(f"{url}/leave", headers=piet).status_code == 204
        for who in ("pro", "pro2", "fee"):
            assert client.get(url, headers=env.headers(who)).status_code == 404
        assert client.post(f"{url}/accept", headers=fee).status_code == 404
        stats = client.get("/v1/insights/groups", headers=env.headers("curator")).json()
        assert stats == {"groups": 0, "members": 0}


def test_only_its_people_see_a_group_and_curators_only_a_count(env: Env) -> None:
    with env.client() as client:
        group = create(
            client, env, "pro", name="Geheim overleg", members=["piet"], facilitator="gijs"
        )
        url = f"/v1/groups/{group['id']}"
        invited = client.get(url, headers=env.headers("gijs")).json()
        assert invited["my_state"] == "invited_facilitator" and invited["facilitator"] is None
        assert client.post(f"{url}/accept", headers=env.headers("gijs")).status_code == 200
        facilitated = client.get(url, headers=env.headers("gijs"))
        assert facilitated.status_code == 200 and facilitated.json()["my_state"] == "facilitator"
        assert [
            g["id"] for g in client.get("/v1/groups", headers=env.headers("gijs")).json()["items"]
        ] == [group["id"]]

        for stranger in ("fee", "curator", "admin"):
            headers = env.headers(stranger)
            if stranger != "curator":  # a curator is no professional: 403 on every group route
                assert client.get(url, headers=headers).status_code == 404
                assert client.get("/v1/groups", headers=headers).json()["items"] == []
                refused = client.post(f"{url}/members", json={"user": stranger}, headers=headers)
                assert refused.status_code == 404, refused.text  # inviting by a non-member
                assert client.post(f"{url}/accept", headers=headers).status_code == 404
                assert client.post(f"{url}/leave", headers=headers).status_code == 404
            else:
                assert client.get(url, headers=headers).status_code == 403

        stats = client.get("/v1/insights/groups", headers=env.headers("curator"))
        assert stats.status_code == 200 and stats.json() == {"groups": 1, "members": 1}
        assert "Geheim" not in stats.text and "pia" not in stats.text
        client.post(f"{url}/accept", headers=env.headers("pro2"))
        assert client.get("/v1/insights/groups", headers=env.headers("admin")).json() == {
            "groups": 1,
            "members": 2,
        }
        assert client.get("/v1/insights/groups", headers=env.headers("pro")).status_code == 403
        # An invitee does not invite until they are a member; the facilitator does not either.
        other = create(client, env, "pro", name="Tweede", members=["fee"], facilitator="gijs")
        for who in ("fee", "gijs"):
            answer = client.post(
                f"/v1/groups/{other['id']}/members", json={"user": "hans"}, headers=env.headers(who)
            )
            assert answer.status_code == 409, answer.text

        # The facilitator steps down and no longer sees the group; an invitee declines instead.
        assert client.post(f"{url}/leave", headers=env.headers("gijs")).status_code == 204
        assert client.get(url, headers=env.headers("gijs")).status_code == 404
        assert client.get(url, headers=env.headers("pro")).json()["facilitator"] is None
        not_yet = client.post(f"/v1/groups/{other['id']}/leave", headers=env.headers("fee"))
        assert not_yet.status_code == 409 and "decline" in not_yet.json()["detail"]


def test_sizes_and_names_are_checked_naming_the_field(env: Env) -> None:
    with env.client() as client:
        pia = env.headers("pro")
        eight = ["piet", "fee", "fleur", "gijs", "hans", "ilse", "jan", "kim"]
        refusals = [
            ({"name": "Te groot", "members": eight}, "members"),
            ({"name": "Alleen", "members": []}, "members"),
            ({"name": "Alleen", "members": ["pia"]}, "members"),
            ({"name": "", "members": ["piet"]}, "name"),
            ({"name": "x" * 81, "members": ["piet"]}, "name"),
        ]
        for body, field in refusals:
            answer = client.post("/v1/groups", json=body, headers=pia)
            assert answer.status_code == 422, (body, answer.text)
            assert field in answer.text, answer.text
        assert client.get("/v1/groups", headers=pia).json()["items"] == []  # nothing written

        clash = client.post(
            "/v1/groups",
            json={"name": "Dubbel", "members": ["piet"], "facilitator": "piet"},
            headers=pia,
        )
        assert clash.status_code == 409 and "facilitator" in clash.json()["detail"]

        full = create(client, env, "pro", name="x" * 80, members=eight[:7])
        assert len(full["members"]) == 8
        beyond = client.post(f"/v1/groups/{full['id']}/members", json={"user": "lot"}, headers=pia)
        assert beyond.status_code == 409 and "at most 8" in beyond.json()["detail"]
        # A declined invitation frees its place.
        assert (
            client.post(f"/v1/groups/{full['id']}/decline", headers=env.headers("jan")).status_code
            == 204
        )
        added = client.post(f"/v1/groups/{full['id']}/members", json={"user": "lot"}, headers=pia)
        assert added.status_code == 200 and people(added.json())["lot"] == "invited"
