"""Shared by the API tests: a coach on the small coaching corpus, and users with API keys.

Registered as a pytest plugin in conftest.py, so its fixtures reach every test module."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from coach.engine import Coach
from coach.index.embedders import Embedder
from coach.keys import KeyStore
from coach.settings import Settings
from tests.coaching_corpus import indexed_coach, write_coaching_corpus
from tests.conftest import CorpusBuilder, free_port

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


@contextmanager
def running_service(
    tmp_path: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """`coach serve` (a real uvicorn process) on the coaching corpus and a free port, with its
    data under `tmp_path`; yields the base URL once /readyz answers."""
    corpus = CorpusBuilder(tmp_path / "corpus")
    write_coaching_corpus(corpus)
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("coach")),
        "serve",
        "--port",
        str(port),
        "--corpus",
        str(corpus.root),
        "--index-dir",
        str(tmp_path / "index"),
        *options,
    ]
    log = (tmp_path / "serve.log").open("w")
    environment = {**os.environ, "COACH_DATA_DIR": str(tmp_path / "data"), **(env or {})}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
