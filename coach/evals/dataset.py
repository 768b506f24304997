"""The evaluation dataset: situations with the documents and key points a good answer has."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
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
    # the same situation as a person types it into a chat box: one line of at most 20 words
    short: str | None = None

    @property
    def out_of_scope(self) -> bool:
        return not self.reference_context_ids

    def in_form(self, form: str) -> Case:
        """This case as `form` gives it: `long` (the situation as written) or `short` (the
        one-line form, in the situation's place; ValueError when the case has none)."""
        if form == "long":
            return self
        if form != "short" or self.short is None:
            raise ValueError(f"case {self.id} has no {form} form")
        return replace(self, situation=self.short)

    @property
    def group(self) -> str:
        """nl, en, cross-language or out-of-scope: the breakdown the reports use."""
        if self.out_of_scope:
            return "out-of-scope"
        if "cross-language" in self.tags:
            return "cross-language"
        return self.language


SHORT_WORDS = 20  # a short form is one line of at most this many words


def _short(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError("`short` must be a non-empty text")
    words = len(value.split())
    if words > SHORT_WORDS or "\n" in value.strip():
        raise ValueError(f"`short` is one line of at most {SHORT_WORDS} words, not {words}")
    return value.strip()


def forms_of(cases: list[Case]) -> list[str]:
    """The forms a suite can be measured in: `long`, and `short` when every case has one."""
    return ["long", "short"] if cases and all(c.short for c in cases) else ["long"]


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
                short=_short(raw.get("short")),
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
