"""Privacy by default, through the API (on SQLite and on PostgreSQL): insights show situations
only from users who share them and never who wrote them; a lesson is previewed exactly as it
will be published; old sessions are deleted; a user exports and deletes all their data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, update

from api.db.tables import SessionRow
from coach.engine import Coach
from tests.api_support import SITUATION, Env

GAP_PIA = "Mijn buurman maakt al weken ruzie over de schutting tussen onze tuinen."
GAP_PIET = "De kantine bij de tuinen heeft al weken geen vegetarische soep meer."
LESSON = {
    "what_tried": "Elke terugbelafspraak als taak in Topdesk gezet.",
    "lesson": "Zet elke terugbelafspraak direct als taak met een deadline.",
}


@pytest.fixture
def env(tmp_path: Path, api_coach: Coach) -> Env:
    return Env(tmp_path, api_coach)


def ask(client: TestClient, env: Env, who: str, situation: str = SITUATION) -> str:
    response = client.post("/v1/coach", json={"situation": situation}, headers=env.headers(who))
    assert response.status_code == 200, response.text
    return response.headers["X-Session-Id"]


def test_insights_show_situations_only_of_users_who_share_them(env: Env) -> None:
    with env.client() as client:
        ask(client, env, "pro", GAP_PIA)
        ask(client, env, "pro2", GAP_PIET)
        ask(client, env, "pro2", SITUATION)
        pia, curator = env.headers("pro"), env.headers("curator")
        assert client.get("/v1/me/settings", headers=pia).json() == {
            "share_situations": False,
            "learning_records": True,
        }

        hidden = client.get("/v1/insights", headers=curator).json()
        assert hidden["ungrounded"] == []  # nobody shares by default
        assert hidden["sessions"] == 3 and hidden["ungrounded_sessions"] == 2  # counts: everyone
        assert hidden["themes"] == []  # themes: only words of people who share

        refused = client.put("/v1/me/settings", json={"share_situations": "perhaps"}, headers=pia)
        assert refused.status_code == 422
        assert client.get("/v1/me/settings", headers=pia).json() == {
            "share_situations": False,
            "learning_records": True,
        }
        turned_on = client.put("/v1/me/settings", json={"share_situations": True}, headers=pia)
        assert turned_on.status_code == 200 and turned_on.json() == {
            "share_situations": True,
            "learning_records": True,
        }

        shown = client.get("/v1/insights", headers=curator)
        assert shown.json()["ungrounded"] == [{"situation": GAP_PIA, "language": "nl"}]
        assert "pia" not in shown.text and "piet" not in shown.text  # never who wrote it
        assert GAP_PIET not in shown.text

        client.put("/v1/me/settings", json={"share_situations": False}, headers=pia)
        assert client.get("/v1/insights", headers=curator).json()["ungrounded"] == []


def test_a_lesson_is_previewed_exactly_as_it_will_be_published(env: Env) -> None:
    with env.client() as client:
        pia, curator = env.headers("pro"), env.headers("curator")
        session_id = ask(client, env, "pro")
        preview_url = f"/v1/sessions/{session_id}/lesson/preview"

        default = client.post(preview_url, json=LESSON, headers=pia)
        assert default.status_code == 200, default.text
        assert default.json()["owner"] is None  # an anonymous colleague, not the user id
        assert SITUATION not in default.json()["body"]  # the situation stays out unless asked
        assert "pia" not in default.text

        chosen = {**LESSON, "owner": "Pia de Monteur", "include_situation": True}
        preview = client.post(preview_url, json=chosen, headers=pia).json()
        assert preview["owner"] == "Pia de Monteur"
        assert "## Situatie\n" + SITUATION in preview["body"]
        assert client.get("/v1/drafts", headers=curator).json() == []  # a preview stores nothing
        assert client.post(preview_url, json=chosen, headers=env.headers("pro2")).status_code == 404

        sent = client.post(f"/v1/sessions/{session_id}/lesson", json=chosen, headers=pia)
        assert sent.status_code == 201, sent.text
        document = sent.json()["document"]
        published = {key: document[key] for key in ("title", "owner", "language", "tags", "body")}
        assert published == preview

        anonymous = client.post(
            f"/v1/sessions/{session_id}/lesson", json=LESSON, headers=pia
        ).json()
        assert anonymous["document"]["owner"] is None
        assert anonymous["document"]["body"] == default.json()["body"]
        text = (env.settings.corpus_dir / anonymous["document"]["path"]).read_text(encoding="utf-8")
        assert "pia" not in text and "owner:" not in text and SITUATION not in text


def age(env: Env, session_id: str, days: int) -> None:
    """Make a stored session `days` old, as time would."""
    engine = create_engine(env.settings.sessions_url())
    try:
        with engine.begin() as connection:
            connection.execute(
                update(SessionRow)
                .where(SessionRow.id == session_id)
                .values(created_at=datetime.now(UTC) - timedelta(days=days))
            )
    finally:
        engine.dispose()


def test_sessions_past_the_retention_are_deleted(env: Env) -> None:
    with env.client() as client:
        old, kept, aged = (ask(client, env, "pro") for _ in range(3))
    age(env, old, 40)
    age(env, kept, 10)
    env.settings = env.settings.model_copy(update={"session_retention_days": 30})
    pia = env.headers("pro")
    with env.client() as restarted:  # start-up deletes what is past the retention
        assert restarted.get(f"/v1/sessions/{old}", headers=pia).status_code == 404
        assert restarted.get(f"/v1/sessions/{kept}", headers=pia).status_code == 200
        # One that passes the retention while the service runs goes with the next write.
        age(env, aged, 31)
        assert restarted.get(f"/v1/sessions/{aged}", headers=pia).status_code == 200
        ask(restarted, env, "pro")
        assert restarted.get(f"/v1/sessions/{aged}", headers=pia).status_code == 404
        assert restarted.get(f"/v1/sessions/{kept}", headers=pia).status_code == 200


def test_a_user_exports_and_then_deletes_all_their_data(env: Env) -> None:
    with env.client() as client:
        pia, curator = env.headers("pro"), env.headers("curator")
        session_id = ask(client, env, "pro")
        client.post(
            f"/v1/sessions/{session_id}/feedback",
            json={"helpful": True, "comment": "De taak hielp."},
            headers=pia,
        )
        pending = client.post(f"/v1/sessions/{session_id}/lesson", json=LESSON, headers=pia).json()
        approved = client.post(
            f"/v1/sessions/{session_id}/lesson",
            json={"lesson": "Bel de klant terug voor het einde van de dag."},
            headers=pia,
        ).json()
        assert (
            client.post(f"/v1/drafts/{approved['id']}/approve", headers=curator).status_code == 200
        )
        client.put("/v1/me/settings", json={"share_situations": True}, headers=pia)
        other_session = ask(client, env, "pro2")

        exported = client.get("/v1/me/export", headers=pia)
        assert exported.status_code == 200
        assert exported.headers["content-disposition"].startswith("attachment")
        data = exported.json()
        assert data["user"] == "pia" and data["settings"] == {
            "share_situations": True,
            "learning_records": True,
        }
        assert [(s["id"], s["helpful"], s["comment"]) for s in data["sessions"]] == [
            (session_id, True, "De taak hielp.")
        ]
        assert data["sessions"][0]["result"]["situation"] == SITUATION
        assert {d["id"] for d in data["drafts"]} == {pending["id"], approved["id"]}
        assert all(d["document"]["body"] for d in data["drafts"])
        assert other_session not in exported.text

        deleted = client.delete("/v1/me/data", headers=pia)
        assert deleted.status_code == 200, deleted.text
        assert deleted.json() == {
            "sessions": 1,
            "drafts": 2,
            "settings": 1,
            "groups_left": 0,
            "learning_records": 0,
            "cycle_entries": 0,
            "documents_withdrawn": 1,
        }
        assert client.get("/v1/sessions", headers=pia).json()["total"] == 0
        after = client.get("/v1/me/export", headers=pia).json()
        assert (after["sessions"], after["drafts"]) == ([], [])
        assert after["settings"] == {
            "share_situations": False,
            "learning_records": True,
        }
        # The unpublished lesson is gone from the corpus; the approved one is the organisation's.
        assert client.get(f"/v1/documents/{pending['doc_id']}", headers=curator).status_code == 404
        assert client.get(f"/v1/sources/{approved['doc_id']}", headers=pia).status_code == 200
        # Someone else's data is untouched.
        assert (
            client.get(f"/v1/sessions/{other_session}", headers=env.headers("pro2")).status_code
            == 200
        )
