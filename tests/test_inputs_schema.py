"""What the OpenAPI schema allows, the server takes, and what the server refuses, the schema
says: the cases Schemathesis found with seeds other than its test's (`tests/test_openapi.py`).

Fast: the real app on the doubles of `coach.testing` (`tests.test_inputs.fast_api`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api_support import SITUATION
from tests.test_inputs import FastApi, assert_problem, fast_api


@pytest.fixture
def api(tmp_path: Path) -> Iterator[FastApi]:
    with fast_api(tmp_path) as built:
        yield built


def body_schema(api: FastApi, method: str, path: str) -> dict[str, Any]:
    """The properties of an operation's JSON body, as the OpenAPI document states them."""
    document = api.client.get("/openapi.json").json()
    content = document["paths"][path][method]["requestBody"]["content"]["application/json"]
    reference = content["schema"]["$ref"].rsplit("/", 1)[-1]
    properties: dict[str, Any] = document["components"]["schemas"][reference]["properties"]
    return properties


# Texts with nothing to read in them: white space, control characters, a byte order mark.
BLANK = ["\x00", "\x01\x02", "\x1f\x1e", " \t\n", "\u2028\x7f", "\x85\xa0", "\ufeff"]
READABLE = ["a\x00", "\x1fkoud huis", "\u200bé"]


@pytest.mark.parametrize(("path", "field"), [("/v1/search", "query"), ("/v1/coach", "situation")])
def test_a_text_without_a_visible_character_is_refused_as_the_schema_says(
    api: FastApi, path: str, field: str
) -> None:
    pattern = body_schema(api, "post", path)[field]["pattern"]
    for text in BLANK:
        assert not re.search(pattern, text), text  # the schema says: refused
        answer = api.client.post(path, json={field: text}, headers=api.headers("pro"))
        problem = assert_problem(answer, 422, field)
        assert [error["field"] for error in problem["errors"]] == [field], text
    for text in READABLE:
        assert re.search(pattern, text), text  # the schema says: taken
        answer = api.client.post(path, json={field: text}, headers=api.headers("pro"))
        assert answer.status_code == 200, (text, answer.text)


def test_a_whole_number_written_with_a_point_is_an_integer(api: FastApi) -> None:
    """JSON Schema's integer is any number without a fraction: 2.0 is 2. A fraction, a string
    or a yes/no is still no energy."""
    energy = body_schema(api, "put", "/v1/cycles/{cycle_id}/days/{day}/check-in")["energy"]
    assert energy["type"] == "integer"
    made = api.client.post(
        "/v1/groups", json={"name": "Storingen", "members": ["piet"]}, headers=api.headers("pro")
    )
    assert made.status_code == 201, made.text
    group = made.json()["id"]
    assert api.client.post(f"/v1/groups/{group}/accept", headers=api.headers("pro2"))
    proposal = {
        "start": "2026-03-02",
        "time": "09:00",
        "situations": [
            {"member": "pia", "situation": SITUATION},
            {"member": "piet", "situation": SITUATION},
        ],
    }
    cycle = api.client.post(f"/v1/groups/{group}/cycles", json=proposal, headers=api.headers("pro"))
    assert cycle.status_code == 201, cycle.text
    url = f"/v1/cycles/{cycle.json()['id']}"
    answer = api.client.put(
        f"{url}/days/1/check-in", json={"energy": 2.0}, headers=api.headers("pro")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["days"][0]["check_ins"][0]["energy"] == 2
    assert '"energy":2,' in api.client.get(url, headers=api.headers("pro")).text  # not 2.0
    for bad in (2.5, "2", True, 6.0, float("1e300")):
        refused = api.client.put(
            f"{url}/days/1/check-in", json={"energy": bad}, headers=api.headers("pro")
        )
        assert refused.status_code == 422, (bad, refused.text)


def test_a_period_that_ends_before_it_starts_is_an_empty_portfolio(api: FastApi) -> None:
    """`from` after `to` is a period with no days: nothing in it, as the schema (two days,
    each optional) allows; the file says which period it covers."""
    api.session("pro")  # something of hers, outside the period
    answer = api.client.get(
        "/v1/portfolio",
        params={"from": "2026-05-02", "to": "2026-05-01", "lang": "en"},
        headers=api.headers("pro"),
    )
    assert answer.status_code == 200, answer.text
    assert "portfolio-pia-2026-05-02-2026-05-01.md" in answer.headers["content-disposition"]
    assert "- Coaching sessions: 0" in answer.text and SITUATION not in answer.text
    parameters = api.client.get("/openapi.json").json()["paths"]["/v1/portfolio"]["get"]
    [start] = [p for p in parameters["parameters"] if p["name"] == "from"]
    assert "after `to`" in start["description"]
