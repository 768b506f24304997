"""The sustainable didactic questions: loaded from corpus/didactics.yaml and validated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coach.errors import CorpusError, Problem
from coach.ingest.corpus import ID_RULE, YamlProblem, is_valid_id, load_yaml_mapping
from coach.vocabulary import LANGUAGES

MIN_QUESTIONS = 4
_TEXT_FIELDS = ("nl", "en", "why_nl", "why_en", "fits_when")


@dataclass(frozen=True)
class DidacticQuestion:
    """One reflective question, in both languages, with the phase it serves and when it fits."""

    id: str
    phase: str
    text: dict[str, str]
    why: dict[str, str]
    fits_when: str
    signals: dict[str, tuple[str, ...]]
    models: tuple[str, ...]


@dataclass(frozen=True)
class Didactics:
    phases: tuple[str, ...]
    questions: tuple[DidacticQuestion, ...]


def check_didactics(path: Path, rel: str) -> tuple[Didactics | None, list[Problem]]:
    """Validate a didactics file; return the parsed questions when there is no problem."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return None, [Problem(rel, 0, "didactics", f"cannot read file: {exc.strerror}")]
    except UnicodeDecodeError:
        return None, [Problem(rel, 0, "didactics", "not UTF-8; save the file as UTF-8")]
    try:
        data, lines = load_yaml_mapping(text, 0, rel)
    except YamlProblem as exc:
        problem = exc.problem
        return None, [Problem(problem.path, problem.line, "didactics", problem.message)]
    problems: list[Problem] = []

    def report(line: int, message: str) -> None:
        problems.append(Problem(rel, line, "didactics", message))

    phases = _phase_ids(data.get("phases"))
    if not phases:
        report(lines.get("phases", 1), "`phases` must be a list of entries like `- id: reflection`")
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or len(raw_questions) < MIN_QUESTIONS:
        report(
            lines.get("questions", 1),
            f"`questions` must be a list of at least {MIN_QUESTIONS} questions",
        )
        return None, problems
    question_lines = _item_lines(text, lines.get("questions", 1))
    questions: list[DidacticQuestion] = []
    seen: set[str] = set()
    for index, item in enumerate(raw_questions):
        line = question_lines[index] if index < len(question_lines) else lines.get("questions", 1)
        question = _check_question(item, index, line, phases, seen, report)
        if question is not None:
            questions.append(question)
    if problems:
        return None, problems
    return Didactics(tuple(phases), tuple(questions)), []


def load_didactics(path: Path) -> Didactics:
    """Load the didactic questions, or raise `CorpusError` listing what to fix."""
    didactics, problems = check_didactics(path, path.name)
    if didactics is None:
        raise CorpusError(f"{path} is not valid; run `coach lint` to see why", problems)
    return didactics


def _phase_ids(raw: Any) -> list[str]:
    if not isinstance(raw, list):
        return []
    ids = [item.get("id") if isinstance(item, dict) else item for item in raw]
    return [str(phase) for phase in ids if isinstance(phase, str) and phase]


def _item_lines(text: str, list_line: int) -> list[int]:
    """The 1-based line of each top-level `- ` item of the list that starts at `list_line`."""
    result: list[int] = []
    all_lines = text.splitlines()
    indent: int | None = None
    for number in range(list_line, len(all_lines)):
        line = all_lines[number]
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        current = len(line) - len(stripped)
        if current == 0 and not stripped.startswith("-"):
            break  # the next top-level key
        if stripped.startswith("- ") or stripped == "-":
            if indent is None:
                indent = current
            if current == indent:
                result.append(number + 1)
    return result


def _check_question(
    item: Any,
    index: int,
    line: int,
    phases: list[str],
    seen: set[str],
    report: Callable[[int, str], None],
) -> DidacticQuestion | None:
    if not isinstance(item, dict):
        report(line, f"question {index + 1} must be a mapping with id, phase, nl, en, ...")
        return None
    qid = item.get("id")
    label = f"question `{qid}`" if isinstance(qid, str) else f"question {index + 1}"
    ok = True
    if not isinstance(qid, str) or not is_valid_id(qid):
        shown = f"question {qid!r}" if isinstance(qid, str) else label  # repr: a newline shows
        report(line, f"{shown}: `id` is required and {ID_RULE}")
        ok = False
    elif qid in seen:
        report(line, f"{label}: duplicate id")
        ok = False
    else:
        seen.add(qid)
    phase = item.get("phase")
    if phase not in phases:
        report(
            line, f"{label}: phase `{phase}` is not one of the listed phases: {', '.join(phases)}"
        )
        ok = False
    for key in _TEXT_FIELDS:
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            report(line, f"{label}: `{key}` must be a non-empty text")
            ok = False
    signals = item.get("signals")
    if not isinstance(signals, dict) or any(
        not isinstance(signals.get(lang), list) or not signals.get(lang) for lang in LANGUAGES
    ):
        report(line, f"{label}: `signals` needs non-empty lists `nl: [...]` and `en: [...]`")
        ok = False
    models = item.get("models", [])
    if not isinstance(models, list):
        report(line, f"{label}: `models` must be a list such as [Kolb, GROW]")
        ok = False
    if not ok:
        return None
    assert isinstance(qid, str) and isinstance(signals, dict)
    return DidacticQuestion(
        id=qid,
        phase=str(phase),
        text={"nl": item["nl"].strip(), "en": item["en"].strip()},
        why={"nl": item["why_nl"].strip(), "en": item["why_en"].strip()},
        fits_when=item["fits_when"].strip(),
        signals={lang: tuple(str(word).lower() for word in signals[lang]) for lang in LANGUAGES},
        models=tuple(str(model) for model in models),
    )
