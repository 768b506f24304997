"""Shared by the API tests: a coach on the small coaching corpus, users with API keys, and the
database they run on: SQLite, and PostgreSQL on a throwaway cluster the tests start themselves.

Registered as a pytest plugin in conftest.py, so its fixtures reach every test module. Every
test that uses an `env` fixture runs twice, on SQLite and on PostgreSQL (`api_database`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import httpx
import psycopg
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
    # The database of the test being set up (None: SQLite in the data folder); `api_database`
    # sets it, so every `env` fixture runs on SQLite and on PostgreSQL without knowing it.
    database_url: ClassVar[str | None] = None

    def __init__(self, root: Path, coach: Coach) -> None:
        if not (root / "corpus").exists():
            write_coaching_corpus(CorpusBuilder(root / "corpus"))
        self.settings = Settings(
            corpus_dir=root / "corpus",
            index_dir=root / "index",
            data_dir=root / "data",
            database_url=Env.database_url,
        )
        self.coach = coach
        keys = KeyStore(self.settings.keys_path())
        self.keys = {
            "pro": keys.add("pia", "professional"),
            "pro2": keys.add("piet", "professional"),
            "curator": keys.add("cas", "curator"),
            "admin": keys.add("ada", "admin"),
        }

    def with_professionals(self, *names: str) -> Env:
        """This environment with a professional's key for each of `names` (key name = user)."""
        keys = KeyStore(self.settings.keys_path())
        for name in names:
            self.keys[name] = keys.add(name, "professional")
        return self

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


# -- PostgreSQL: a throwaway cluster ------------------------------------------------------------

POSTGRES = Path("/usr/lib/postgresql")
MISSING_POSTGRES = (
    "PostgreSQL is missing: `apt-get install -y postgresql` (make test installs it); the "
    "database tests run on it as well as on SQLite and never skip it"
)


def postgres_bin() -> Path:
    """The newest installed server's bin folder (Debian keeps one folder per version)."""
    found = sorted(POSTGRES.glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3].split(".")[0]))
    if not found:
        pytest.fail(MISSING_POSTGRES)
    return found[-1].parent


@contextmanager
def running_postgres(port: int) -> Iterator[str]:
    """A new cluster on 127.0.0.1:`port` with the superuser `coach` and no password (trust),
    stopped and removed afterwards; yields its SQLAlchemy URL without a database name. The
    server refuses to run as root, so as root it runs as the `postgres` user."""
    bin_dir = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="coach-pg-"))  # /tmp: reachable for `postgres`
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = folder / "data", folder / "server.log"

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=120)
        log_text = log.read_text(errors="replace") if log.exists() else ""
        assert done.returncode == 0, f"{command[0]} failed: {done.stderr}{log_text}"

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "coach")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        try:
            yield f"postgresql+psycopg://coach@127.0.0.1:{port}"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One PostgreSQL cluster for the whole session (each test gets a database of its own)."""
    with running_postgres(free_port()) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database on the session's cluster."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    plain = postgres_server.replace("+psycopg", "")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_server}/{name}"


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs twice: on a SQLite file and on a PostgreSQL database."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path / 'coach.sqlite3'}"


@pytest.fixture(autouse=True)
def api_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The database an `Env` made during this test uses: PostgreSQL when the test is
    parametrised so (see pytest_generate_tests), SQLite otherwise."""
    backend = getattr(request, "param", "sqlite")
    Env.database_url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    try:
        yield backend
    finally:
        Env.database_url = None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The API tests (those using an `env` fixture) run on both databases."""
    if "env" in metafunc.fixturenames and "api_database" in metafunc.fixturenames:
        metafunc.parametrize("api_database", BACKENDS, indirect=True)
