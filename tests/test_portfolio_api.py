"""The talent development portfolio through the API (on SQLite and on PostgreSQL): a
professional downloads their own sessions, cycles and lessons of a period as Markdown or a
printable page; nothing of anyone else's appears, not even of the members of their own cycle,
and nobody can ask for someone else's."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from api.routes.portfolio import period_of
from coach.engine import Coach
from coach.keys import KeyStore
from tests.api_support import SITUATION, Env

HEAT_PUMP = "PIET: after we install a heat pump the customer says the house stays cold."
SCRIPTED = "Storing <script>alert('x')</script>: klanten bellen steeds opnieuw omdat niemand belt."
PIA_DID = "Drie klanten binnen twee uur teruggebeld"
LESSON = {
    "what_tried": "Elk terugbelverzoek als taak in Topdesk gezet.",
    "lesson": "Zet elk terugbelverzoek direct als taak met een deadline.",
}
PIET_LESSON = {"lesson": "PIET-LESSON: meet de temperatuur in elke kamer na de installatie."}


@pytest.fixture
def env(tmp_path: Path, api_coach: Coach) -> Env:
    found = Env(tmp_path, api_coach)
    found.keys["gijs"] = KeyStore(found.settings.keys_path()).add("gijs", "professional")
    return found


def today(env: Env) -> date:
    return datetime.now(ZoneInfo(env.settings.cycle_time_zone)).date()


def held_cycle(client: TestClient, env: Env) -> str:
    """pia and piet's cycle of three weeks ago (gijs facilitates), with notes and check-ins of
    both, piet's shared with the group; pia's lesson from it is accepted into the corpus."""
    body = {"name": "Storingen", "members": ["piet"], "facilitator": "gijs"}
    group = client.post("/v1/groups", json=body, headers=env.headers("pro")).json()["id"]
    for who in ("pro2", "gijs"):
        client.post(f"/v1/groups/{group}/accept", headers=env.headers(who))
    proposal = {
        "start": (today(env) - timedelta(days=21)).isoformat(),
        "time": "09:30",
        "situation": SCRIPTED,
    }
    made = client.post(f"/v1/groups/{group}/cycles", json=proposal, headers=env.headers("pro"))
    assert made.status_code == 201, made.text
    url = f"/v1/cycles/{made.json()['id']}"
    brought = client.put(
        f"{url}/situation", json={"situation": HEAT_PUMP}, headers=env.headers("pro2")
    )
    assert brought.status_code == 200 and brought.json()["agenda_ready"], brought.text
    for who, did, word, shared in (
        ("pro", PIA_DID, "rustig", False),
        ("pro2", "PIET-DID", "PIET-WORD", True),
    ):
        note = {"did": did, "noticed": f"{who}-noticed"}
        assert (
            client.post(f"{url}/days/3/notes", json=note, headers=env.headers(who)).status_code
            == 200
        )
        check_in = {"energy": 4, "word": word, "shared": shared}
        answer = client.put(f"{url}/days/1/check-in", json=check_in, headers=env.headers(who))
        assert answer.status_code == 200, answer.text
    titles = []
    for who, lesson in (("pro2", PIET_LESSON), ("pro", LESSON)):
        drafted = client.post(f"{url}/lesson", json=lesson, headers=env.headers(who))
        assert drafted.status_code == 201, drafted.text
        approved = client.post(
            f"/v1/drafts/{drafted.json()['id']}/approve", headers=env.headers("curator")
        )
        assert approved.status_code == 200, approved.text
        titles.append(approved.json()["document"]["title"])
    assert "PIET" in titles[0]
    accepted: str = titles[1]
    return accepted


def ask(client: TestClient, env: Env, who: str, situation: str) -> str:
    answer = client.post("/v1/coach", json={"situation": situation}, headers=env.headers(who))
    assert answer.status_code == 200, answer.text
    return answer.headers["X-Session-Id"]


def test_the_portfolio_holds_your_own_work_of_the_period_and_nothing_of_others(env: Env) -> None:
    with env.client() as client:
        title = held_cycle(client, env)
        mine = ask(client, env, "pro", SITUATION)
        feedback = {"helpful": True, "comment": "Heel bruikbaar"}
        client.post(f"/v1/sessions/{mine}/feedback", json=feedback, headers=env.headers("pro"))
        ask(client, env, "pro2", "PIET-SESSION: de planning van de monteurs loopt vast.")
        # A session of two years ago, stored as the service stores any (the API makes "now").
        store = client.app.state.services.sessions  # type: ignore[attr-defined]
        earlier = store.get(mine, "pia").result.model_copy(update={"situation": "OLD-SESSION"})
        store.add("pia", earlier, at=datetime.now(UTC) - timedelta(days=730))

        answer = client.get("/v1/portfolio", headers=env.headers("pro"))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "text/markdown; charset=utf-8"
        period = period_of(None, None, today(env))  # the twelve months up to today
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="portfolio-pia-{period.first}-{today(env)}.md"'
        )
        text = answer.text
        assert "PIET" not in text and "piet" not in text  # his situation, notes, word, session
        assert "OLD-SESSION" not in text  # before the period
        assert (
            f"**Situatie:** {SITUATION}" in text
            and "**Jouw feedback:** nuttig: Heel bruikbaar" in text
        )
        worked_on = client.get(f"/v1/sessions/{mine}", headers=env.headers("pro")).json()
        questions = [q["text"] for q in worked_on["result"]["didactic_questions"]]
        assert questions and all(f"\n- {question}\n" in text for question in questions)
        assert "**Status:** afgerond" in text and f"**Jouw situatie:** {SCRIPTED}" in text
        experiment = text.split("(je experiment)\n\n")[1].split("\n\n")[0]
        assert experiment == f"- Gedaan: {PIA_DID}\n- Opgemerkt: pro-noticed"
        assert "- Check-in: energie 4 van 5, “rustig”" in text
        assert f"{title} (opgenomen in het corpus)" in text
        assert "- Lessen opgenomen in het corpus: 1" in text
        assert "- Vitale weekcycli: 1 (1 afgerond, 0 geannuleerd, 0 gepland)" in text
        assert "- Coachingsessies: 2" in text  # the cycle's situation is a session of hers too

        # Only the period asked for: nothing before it, nothing after it.
        later = {"from": (today(env) + timedelta(days=1)).isoformat(), "to": "2999-01-01"}
        empty = client.get("/v1/portfolio", params=later, headers=env.headers("pro")).text
        assert "- Coachingsessies: 0" in empty and SITUATION not in empty and PIA_DID not in empty
        back = {"from": "2000-01-01", "to": today(env).isoformat(), "lang": "en"}
        everything = client.get("/v1/portfolio", params=back, headers=env.headers("pro")).text
        assert "OLD-SESSION" in everything and "- Coaching sessions: 3" in everything

        # The facilitator's portfolio shows the cycle, none of the members' content.
        facilitated = client.get("/v1/portfolio", headers=env.headers("gijs")).text
        assert "**Jouw rol:** begeleider" in facilitated
        assert (
            PIA_DID not in facilitated and "rustig" not in facilitated and "PIET" not in facilitated
        )


def test_the_printable_page_escapes_your_text_and_is_styled_by_files_the_csp_allows(
    env: Env,
) -> None:
    with env.client() as client:
        held_cycle(client, env)
        answer = client.get(
            "/v1/portfolio", params={"format": "html", "lang": "en"}, headers=env.headers("pro")
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert answer.headers["content-disposition"].startswith('inline; filename="portfolio-pia-')
        page = answer.text
        assert "<script" not in page
        assert "Storing &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;: klanten" in page
        assert "<h1>Talent development portfolio of pia</h1>" in page
        # The CSP allows styles from this site only, so the page links them and inlines none.
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "unsafe-inline" not in policy
        assert "<style" not in page and "style=" not in page
        links = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page)
        # At the service's full address, so that the saved page finds them too.
        assert links == ["http://testserver/static/app.css", "http://testserver/static/print.css"]
        for href in links:
            sheet = client.get(href)
            assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
        assert "@media print" in client.get(links[1]).text


def test_only_you_make_your_portfolio(env: Env) -> None:
    with env.client() as client:
        ask(client, env, "pro", SITUATION)
        assert client.get("/v1/portfolio").status_code == 401
        refused = client.get("/v1/portfolio", headers=env.headers("curator"))
        assert refused.status_code == 403 and "professional" in refused.json()["detail"]
        # There is no user to name: a parameter naming someone else changes nothing.
        own = client.get("/v1/portfolio", params={"user": "pia"}, headers=env.headers("pro2"))
        assert own.status_code == 200 and SITUATION not in own.text
        assert "portfolio-piet-" in own.headers["content-disposition"]
        admin = client.get("/v1/portfolio", headers=env.headers("admin"))  # an admin's own: empty
        assert admin.status_code == 200 and SITUATION not in admin.text


def test_a_bad_parameter_is_refused_naming_it(env: Env) -> None:
    with env.client() as client:
        headers = env.headers("pro")
        for bad in ({"from": "2026-02-30"}, {"to": "0"}, {"format": "pdf"}, {"lang": "de"}):
            answer = client.get("/v1/portfolio", params=bad, headers=headers)
            assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == next(
                iter(bad)
            )
        long_ago = client.get(
            "/v1/portfolio", params={"from": "0001-01-01", "to": "9999-12-31"}, headers=headers
        )
        assert long_ago.status_code == 200
