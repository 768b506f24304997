"""Evaluation suites: each a corpus with its own evaluation cases, index and limits.

`coach eval` runs every suite in `evals/thresholds.toml` so that a change is measured on the
organisation it was tuned on and on one it never saw (a figure counts only on data that chose
no weight or threshold)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from coach.errors import CorpusError


@dataclass(frozen=True)
class Suite:
    name: str
    corpus: Path
    dataset: Path
    index_dir: Path
    tuned: bool  # True when weights and thresholds were chosen on this suite's cases
    description: str = ""


def load_suites(path: Path, names: list[str] | None = None) -> list[Suite]:
    """The suites of a thresholds file (`[suites.NAME]` with corpus, dataset, index, tuned),
    in file order; `names` picks some (an unknown name is an error that lists the known)."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CorpusError(f"cannot read the evaluation suites in {path}: {exc}") from exc
    tables = data.get("suites", {})
    if not tables:
        raise CorpusError(
            f"{path} defines no [suites.NAME] table; add one, or pass --dataset (and --corpus)"
        )
    unknown = sorted(set(names or ()) - set(tables))
    if unknown:
        raise CorpusError(
            f"unknown suite(s) {', '.join(unknown)}; {path} defines {', '.join(tables)}"
        )
    suites = []
    for name, table in tables.items():
        if names and name not in names:
            continue
        missing = [key for key in ("corpus", "dataset") if key not in table]
        if missing:
            raise CorpusError(f"suite {name} in {path} lacks {', '.join(missing)}")
        suites.append(
            Suite(
                name=name,
                corpus=Path(table["corpus"]),
                dataset=Path(table["dataset"]),
                index_dir=Path(table.get("index", f"indexes/{name}")),
                tuned=bool(table.get("tuned", False)),
                description=str(table.get("description", "")),
            )
        )
    return suites
