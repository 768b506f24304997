"""What `coach eval --check` enforces: per-suite floors and ceilings, and the hashes that tie a
report to the corpus and dataset it measured."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def corpus_hash(corpus_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(corpus_dir.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(corpus_dir).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Limits:
    """What `--check` enforces: floors (at least) and ceilings (at most), per aggregate."""

    floors: dict[str, float] = field(default_factory=dict)
    ceilings: dict[str, float] = field(default_factory=dict)


def load_thresholds(path: Path, suite: str | None = None, form: str = "long") -> Limits:
    """The limits of one suite (`[suites.NAME.floors]`), or the file's top-level `[floors]`;
    for the short form of its cases, `[suites.NAME.short_floors]` and `short_ceilings`."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    table = data.get("suites", {}).get(suite, {}) if suite else data

    def numbers(name: str) -> dict[str, float]:
        name = name if form == "long" else f"{form}_{name}"
        return {str(key): float(value) for key, value in table.get(name, {}).items()}

    return Limits(numbers("floors"), numbers("ceilings"))


def check(aggregates: dict[str, float], limits: Limits | dict[str, float]) -> list[str]:
    """Every metric under its floor or over its ceiling, as a readable line."""
    if isinstance(limits, dict):
        limits = Limits(floors=limits)
    failures = []
    for name, floor in limits.floors.items():
        value = aggregates.get(name)
        if value is None:
            failures.append(f"{name}: not measured (floor {floor})")
        elif value < floor:
            failures.append(f"{name}: {value:.4f} is under its floor {floor}")
    for name, ceiling in limits.ceilings.items():
        value = aggregates.get(name)
        if value is None:
            failures.append(f"{name}: not measured (ceiling {ceiling})")
        elif value > ceiling:
            failures.append(f"{name}: {value:.4f} is over its ceiling {ceiling}")
    return failures
