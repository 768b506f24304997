"""Shared by the API tests: a coach on the small coaching corpus, and users with API keys.

Registered as a pytest plugin in conftest.py, so its fixtures reach every test module."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from coach.embedding import Embedder
from coach.engine import Coach
from coach.keys import KeyStore
from coach.settings import Settings
from tests.coaching_corpus import indexed_coach, write_coaching_corpus
from tests.conftest import CorpusBuilder

SITUATION = "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt."


class Env:
    def __init__(self, root: Path, coach: Coach) -> None:
        if not (root / "corpus").exists():
            write_coaching_corpus(CorpusBuilder(root / "corpus"))
        self.settings = Settings(
            corpus_dir=root / "corpus", index_dir=root / "index", data_dir=root / "data"
        )
        self.coach = coach
        keys = KeyStore(self.settings.keys_path())
        self.keys = {
            "pro": keys.add("pia", "professional"),
            "pro2": keys.add("piet", "professional"),
            "curator": keys.add("cas", "curator"),
            "admin": keys.add("ada", "admin"),
        }

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"} if who else {}

    def client(self) -> TestClient:
        return TestClient(create_app(self.settings, self.coach), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def api_coach(tmp_path_factory: pytest.TempPathFactory, multilingual: Embedder) -> Coach:
    root = tmp_path_factory.mktemp("api-coach")
    corpus = CorpusBuilder(root / "corpus")
    write_coaching_corpus(corpus)
    return indexed_coach(corpus, multilingual, root / "index")
