"""The evaluation dataset: situations with the documents and key points a good answer has."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from coach.errors import CorpusError

REQUIRED = ("id", "language", "situation", "reference", "reference_context_ids")


@dataclass(frozen=True)
class Case:
    id: str
    language: str
    situation: str
    reference: str
    reference_context_ids: tuple[str, ...]
    tags: tuple[str, ...] = ()

    @property
    def out_of_scope(self) -> bool:
        return not self.reference_context_ids

    @property
    def group(self) -> str:
        """nl, en, cross-language or out-of-scope: the breakdown the reports use."""
        if self.out_of_scope:
            return "out-of-scope"
        if "cross-language" in self.tags:
            return "cross-language"
        return self.language


def load_cases(path: Path) -> list[Case]:
    """Read a JSONL dataset, or raise `CorpusError` naming each bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"cannot read the evaluation dataset {path}: {exc}") from exc
    cases: list[Case] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            missing = [key for key in REQUIRED if key not in raw]
            if missing:
                raise ValueError(f"missing {', '.join(missing)}")
            case = Case(
                id=str(raw["id"]),
                language=str(raw["language"]),
                situation=str(raw["situation"]),
                reference=str(raw["reference"]),
                reference_context_ids=tuple(str(i) for i in raw["reference_context_ids"]),
                tags=tuple(str(tag) for tag in raw.get("tags", [])),
            )
            if case.id in seen:
                raise ValueError(f"duplicate id {case.id}")
            seen.add(case.id)
            cases.append(case)
        except (ValueError, TypeError) as exc:
            errors.append(f"{path}:{number}: {exc}")
    if errors:
        raise CorpusError(f"{len(errors)} bad line(s) in {path}: " + "; ".join(errors))
    return cases


def check_references(cases: list[Case], active_ids: set[str], known_ids: set[str]) -> list[str]:
    """Every referenced document must exist in the corpus and be active; one line per problem."""
    problems = []
    for case in cases:
        for doc_id in case.reference_context_ids:
            if doc_id not in known_ids:
                problems.append(f"{case.id}: reference {doc_id} is not in the corpus")
            elif doc_id not in active_ids:
                problems.append(
                    f"{case.id}: reference {doc_id} is not active (retired or draft); "
                    "point the case at the document that replaced it"
                )
    return problems
