"""Shared fixtures: offline guard, the real embedder, tiny corpora, a real Chroma server."""

from __future__ import annotations

import ast
import inspect
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

import httpx
import pytest

from coach.index.embedders import Embedder, make_embedder
from coach.index.records import StoreLocation
from coach.offline import offline_environment

offline_environment()

pytest_plugins = ["tests.api_support", "tests.web_support"]

REPO = Path(__file__).resolve().parents[1]


# -- the fast tier and the slow one ----------------------------------------------------------
#
# `pytest -m "not slow"` runs the tests that load no model, start no server, browser or `coach`
# process and index nothing into Chroma (under a minute); `pytest` runs everything. Tests are
# marked slow here, from what they use, so a new test lands in the right tier by itself.

# Fixtures that load an embedding model, start a server or a browser, or run the `coach`
# command (whose index, ask, eval and serve load the model). `location` is here because it
# starts the Chroma server through `request.getfixturevalue`, which no fixture closure shows.
SLOW_FIXTURES = frozenset(
    {"embedder", "multilingual", "chroma_server", "location", "run_cli", "browser", "lrs"}
)
# Names that load a model, start a server or a browser, or index into Chroma when called.
SLOW_NAMES = frozenset(
    {
        "make_embedder",
        "build_embedder",
        "build_services",
        "build_coach",
        "Indexer",
        "ChunkStore",
        "open_writer",
        "open_index",
        "LayeredStore",
        "indexed_coach",
        "running_service",
        "running_chroma",
        "sync_playwright",
    }
)


def _names(code: CodeType) -> set[str]:
    """The global and attribute names a function's code refers to, nested functions included."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            names |= _names(constant)
    return names


def _calls_slow(function: Callable[..., object]) -> bool:
    code = getattr(inspect.unwrap(function), "__code__", None)
    return isinstance(code, CodeType) and bool(_names(code) & SLOW_NAMES)


_slow_modules: dict[str, bool] = {}


def _slow_at_import(module: ModuleType) -> bool:
    """Whether the module's own top level (not its functions) uses a slow name."""
    if module.__name__ not in _slow_modules:
        try:
            tree = ast.parse(inspect.getsource(module))
        except (OSError, TypeError):
            tree = ast.Module(body=[], type_ignores=[])
        definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import)
        top_level = [
            stmt for stmt in tree.body if not isinstance(stmt, (*definitions, ast.ImportFrom))
        ]
        used = {
            node.id if isinstance(node, ast.Name) else node.attr
            for stmt in top_level
            for node in ast.walk(stmt)
            if isinstance(node, (ast.Name, ast.Attribute))
        }
        _slow_modules[module.__name__] = bool(used & SLOW_NAMES)
    return _slow_modules[module.__name__]


def is_slow(item: pytest.Item) -> bool:
    """A test is slow when it uses a slow fixture (directly or through other fixtures), when
    it or a fixture it uses calls a slow name, or when its module does at import."""
    if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    function = getattr(item, "function", None)
    if function is not None and _calls_slow(function):
        return True
    info = getattr(item, "_fixtureinfo", None)  # pytest's, to see the fixtures' own code
    for definitions in getattr(info, "name2fixturedefs", {}).values():
        if any(_calls_slow(definition.func) for definition in definitions):
            return True
    module = getattr(item, "module", None)
    return isinstance(module, ModuleType) and _slow_at_import(module)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if is_slow(item) and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)


# -- no network but loopback ------------------------------------------------------------------


def _is_loopback(address: Any) -> bool:
    if isinstance(address, str):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class StrayNetworkCall(RuntimeError):
    pass


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise StrayNetworkCall(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise StrayNetworkCall(f"test tried to reach the network: {address!r}")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name not in (None, "localhost") and not _is_loopback((name, 0)):
        raise StrayNetworkCall(f"test tried to resolve a network name: {name!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]
socket.getaddrinfo = _guarded_getaddrinfo


# -- the real embedder, loaded once -----------------------------------------------------------


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return make_embedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def multilingual() -> Embedder:
    """The default embedder (multilingual USE): what coaching runs on."""
    return make_embedder("use-multilingual-v3")


# -- tiny corpora -----------------------------------------------------------------------------

DIDACTICS_SOURCE = REPO / "corpus" / "didactics.yaml"


def document_text(
    doc_id: str,
    body: str,
    *,
    title: str | None = None,
    type_: str = "procedure",
    language: str = "nl",
    team: str | None = "Servicedesk",
    owner: str | None = "Sanne de Vries, teamleider",
    tags: str | None = "[test]",
    status: str | None = None,
) -> str:
    lines = [
        "---",
        f"id: {doc_id}",
        f"title: {title or doc_id.replace('-', ' ').capitalize()}",
        f"type: {type_}",
        f"language: {language}",
    ]
    if team:
        lines.append(f"team: {team}")
    if owner:
        lines.append(f"owner: {owner}")
    if tags:
        lines.append(f"tags: {tags}")
    lines.append("updated: 2025-06-12")
    if status:
        lines.append(f"status: {status}")
    lines += ["---", body.strip(), ""]
    return "\n".join(lines)


class CorpusBuilder:
    """Writes documents into a corpus folder under tmp_path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy(DIDACTICS_SOURCE, root / "didactics.yaml")

    def write(self, doc_id: str, body: str, folder: str = "docs", **fields: Any) -> Path:
        path = self.root / folder / f"{doc_id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document_text(doc_id, body, **fields), encoding="utf-8")
        return path

    def raw(self, relative: str, content: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path


@pytest.fixture
def corpus(tmp_path: Path) -> CorpusBuilder:
    return CorpusBuilder(tmp_path / "corpus")


# -- a real Chroma server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_chroma(data: Path, port: int) -> Iterator[tuple[str, int]]:
    """`chroma run` on 127.0.0.1:`port`, ready when its heartbeat answers; stopped by PID."""
    chroma = Path(sys.executable).with_name("chroma")
    data.mkdir(parents=True, exist_ok=True)
    log = (data / "server.log").open("wb")
    process = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(data / "db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"chroma run exited: {(data / 'server.log').read_text()}")
            try:
                url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chroma run did not answer its heartbeat within 30 s")
            time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """One real Chroma server for the whole session."""
    with running_chroma(tmp_path_factory.mktemp("chroma-server"), free_port()) as address:
        yield address


_collections = iter(range(1_000_000))


@pytest.fixture(params=["embedded", "server"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    """Each test that takes it runs twice: on the embedded index and on a real Chroma server."""
    if request.param == "embedded":
        return StoreLocation(collection="coach", path=tmp_path / "index")
    host, port = request.getfixturevalue("chroma_server")
    return StoreLocation(collection=f"test-{next(_collections)}", host=host, port=port)


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `coach` command as a user would."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        command = Path(sys.executable).with_name("coach")
        return subprocess.run(
            [str(command), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )

    return run
