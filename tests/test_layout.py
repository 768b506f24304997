"""The layout keeps its promises: the library never imports the app or the command line, no two
modules import each other (directly or round a longer loop), and no module grows into a god
module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("coach", "api")
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports(path: Path, known: set[str]) -> set[str]:
    """Our modules that `path` imports anywhere in it (lazy imports in functions count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for name in names:
            # the deepest of our modules the name reaches (a package's __init__ otherwise)
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports(path, known) - {name} for name, path in found.items()}


def test_the_library_never_imports_the_app_or_the_command_line() -> None:
    offenders = {
        name: sorted(target for target in targets if target.split(".")[0] == "api")
        for name, targets in graph().items()
        if name.startswith("coach") and not name.startswith("coach.cli")
    }
    offenders.update(
        {
            name: sorted(t for t in targets if t.startswith("coach.cli"))
            for name, targets in graph().items()
            if not name.startswith("coach.cli")
        }
    )
    assert {name: found for name, found in offenders.items() if found} == {}


def test_no_import_cycle() -> None:
    edges = graph()
    # packages' __init__ modules only re-export lazily; a cycle through them is not a real one
    edges = {n: {t for t in ts if t not in {"coach", "api"}} for n, ts in edges.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_no_module_is_a_god_module() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
