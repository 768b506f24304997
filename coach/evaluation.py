"""`coach eval`: the real pipeline on every evaluation case, scored offline with Ragas' non-LLM
metrics and our own retrieval, grounding and citation metrics."""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coach.engine import Coach
from coach.evalset import Case
from coach.judge import JUDGE_METRICS, JudgeConfig, judge_scores
from coach.metrics import hit_at, mean, ndcg_at, reciprocal_rank
from coach.result import CoachingResult
from coach.retrieval import MODES, Filters

RAGAS_METRICS = (
    "id_based_context_precision",
    "id_based_context_recall",
    "non_llm_context_precision_with_reference",
    "non_llm_context_recall",
    "rouge_score",
    "non_llm_string_similarity",
)
OWN_METRICS = ("hit@1", "hit@5", "mrr", "ndcg@5")
GROUPS = ("nl", "en", "cross-language")


@dataclass
class CaseOutcome:
    case: Case
    result: CoachingResult
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def retrieved_ids(self) -> list[str]:
        return [source.id for source in self.result.sources]

    @property
    def response(self) -> str:
        return "\n".join(s.action for s in self.result.suggestions)


def run_cases(
    coach: Coach,
    cases: list[Case],
    progress: Callable[[int, int], None] | None = None,
    filters: Filters | None = None,
) -> list[CaseOutcome]:
    outcomes = []
    for number, case in enumerate(cases, start=1):
        outcomes.append(CaseOutcome(case, coach.ask(case.situation, filters=filters, k=5)))
        if progress:
            progress(number, len(cases))
    return outcomes


def score(
    coach: Coach, outcomes: list[CaseOutcome], judge: JudgeConfig | None = None
) -> dict[str, Any]:
    """Per-case scores (in place) and the aggregates: overall and per group. With a judge,
    Ragas' LLM metrics as well (over the cases the judge gave a verdict on)."""
    for outcome in outcomes:
        ids, relevant = outcome.retrieved_ids, outcome.case.reference_context_ids
        cited = [c for s in outcome.result.suggestions for c in s.citations]
        outcome.scores["grounding_correct"] = float(
            outcome.result.grounded != outcome.case.out_of_scope
        )
        outcome.scores["citation_validity"] = (
            mean([1.0 if c in ids else 0.0 for c in cited]) if cited else 1.0
        )
        if not outcome.case.out_of_scope:
            outcome.scores.update(
                {
                    "hit@1": hit_at(ids, relevant, 1),
                    "hit@5": hit_at(ids, relevant, 5),
                    "mrr": reciprocal_rank(ids, relevant),
                    "ndcg@5": ndcg_at(ids, relevant, 5),
                }
            )
    in_scope = [o for o in outcomes if not o.case.out_of_scope]
    samples = _samples(coach, in_scope)
    _ragas_scores(in_scope, samples)
    failed = 0
    if judge is not None and in_scope:
        judged, failed = judge_scores(judge, coach.retriever.embedder, samples)
        for outcome, scores in zip(in_scope, judged, strict=True):
            outcome.scores.update(scores)
    names = [*RAGAS_METRICS, *OWN_METRICS, *(JUDGE_METRICS if judge else ())]

    def aggregate(selected: list[CaseOutcome]) -> dict[str, float]:
        row = {
            name: round(mean([o.scores[name] for o in selected if name in o.scores]), 4)
            for name in names
        }
        row["cases"] = len(selected)
        return row

    overall = aggregate(in_scope)
    overall["out_of_scope_accuracy"] = round(
        mean([o.scores["grounding_correct"] for o in outcomes]), 4
    )
    overall["citation_validity"] = round(mean([o.scores["citation_validity"] for o in outcomes]), 4)
    if judge is not None:
        overall["judge_failures"] = failed
    by_group = {
        group: aggregate([o for o in in_scope if o.case.group == group]) for group in GROUPS
    }
    return {"overall": overall, "groups": by_group}


def _samples(coach: Coach, outcomes: list[CaseOutcome]) -> list[Any]:
    """One Ragas sample per case: the situation, the suggestions, the reference, and the
    retrieved and reference documents, whole, so string metrics compare like with like."""
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ragas import SingleTurnSample

    reference_ids = {i for o in outcomes for i in (*o.case.reference_context_ids, *o.retrieved_ids)}
    texts = {
        doc_id: "\n".join(chunk.text for chunk in chunks)
        for doc_id, chunks in coach.retriever.document_chunks(reference_ids).items()
    }
    return [
        SingleTurnSample(
            user_input=o.case.situation,
            response=o.response,
            reference=o.case.reference,
            retrieved_contexts=[texts.get(i, "") for i in o.retrieved_ids] or [""],
            reference_contexts=[texts.get(i, "") for i in o.case.reference_context_ids],
            retrieved_context_ids=o.retrieved_ids or ["-"],
            reference_context_ids=list(o.case.reference_context_ids),
        )
        for o in outcomes
    ]


def _ragas_scores(outcomes: list[CaseOutcome], samples: list[Any]) -> None:
    if not outcomes:
        return
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ragas import EvaluationDataset, evaluate
        from ragas.metrics import (
            IDBasedContextPrecision,
            IDBasedContextRecall,
            NonLLMContextPrecisionWithReference,
            NonLLMContextRecall,
            NonLLMStringSimilarity,
            RougeScore,
        )

    metrics = [
        IDBasedContextPrecision(),
        IDBasedContextRecall(),
        NonLLMContextPrecisionWithReference(),
        NonLLMContextRecall(),
        RougeScore(),
        NonLLMStringSimilarity(),
    ]
    dataset = EvaluationDataset(samples=list[Any](samples))
    evaluated: Any = evaluate(dataset, metrics=metrics, show_progress=False)
    frame = evaluated.to_pandas()
    columns = {name: name for name in RAGAS_METRICS}
    columns["rouge_score"] = next(c for c in frame.columns if str(c).startswith("rouge_score"))
    for outcome, (_, row) in zip(outcomes, frame.iterrows(), strict=True):
        for name, column in columns.items():
            value = row[column]
            outcome.scores[name] = float(value) if value == value else 0.0  # NaN -> 0


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def corpus_hash(corpus_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(corpus_dir.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(corpus_dir).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def load_thresholds(path: Path) -> dict[str, float]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    floors = data.get("floors", {})
    return {str(key): float(value) for key, value in floors.items()}


def check(aggregates: dict[str, float], floors: dict[str, float]) -> list[str]:
    """Every metric under its floor, as a readable line."""
    failures = []
    for name, floor in floors.items():
        value = aggregates.get(name)
        if value is None:
            failures.append(f"{name}: not measured (floor {floor})")
        elif value < floor:
            failures.append(f"{name}: {value:.4f} is under its floor {floor}")
    return failures


def worst_cases(outcomes: list[CaseOutcome], n: int = 10) -> list[CaseOutcome]:
    def badness(o: CaseOutcome) -> tuple[float, float]:
        if o.case.out_of_scope:
            return (o.scores["grounding_correct"], 1.0)
        return (o.scores.get("mrr", 0.0), o.scores.get("rouge_score", 0.0))

    return sorted(outcomes, key=badness)[:n]


def markdown_report(report: dict[str, Any], outcomes: list[CaseOutcome]) -> str:
    overall = report["aggregates"]["overall"]
    lines = ["# Evaluation report", "", f"Configuration: `{report['config']}`", ""]
    lines += ["| metric | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in overall.items()]
    lines += ["", "## Per language", ""]
    judged = [name for name in JUDGE_METRICS if name in overall]
    names = [*OWN_METRICS, "id_based_context_recall", "rouge_score", *judged]
    lines += ["| group | cases | " + " | ".join(names) + " |"]
    lines += ["| --- " * (len(names) + 2) + "|"]
    for group, row in report["aggregates"]["groups"].items():
        lines.append(
            f"| {group} | {row['cases']} | " + " | ".join(str(row[n]) for n in names) + " |"
        )
    lines += ["", "## The ten worst cases", ""]
    lines += ["| case | grounded | expected | retrieved | mrr |", "| --- | --- | --- | --- | --- |"]
    for o in worst_cases(outcomes):
        expected = ", ".join(o.case.reference_context_ids) or "(out of scope)"
        lines.append(
            f"| {o.case.id} | {o.result.grounded} | {expected} | "
            f"{', '.join(o.retrieved_ids) or '-'} | {o.scores.get('mrr', '-')} |"
        )
    return "\n".join(lines) + "\n"


COMPARE_METRICS = ("hit@1", "hit@5", "mrr", "ndcg@5", "id_based_context_recall", "rouge_score")
VARIANTS = [(mode, lessons) for lessons in (True, False) for mode in MODES]


def compare(coach: Coach, cases: list[Case]) -> list[dict[str, Any]]:
    """Dense-only, BM25-only and hybrid, each with and without the lessons learned, in one run."""
    rows = []
    original = coach.retriever.mode
    try:
        for mode, lessons in VARIANTS:
            coach.retriever.mode = mode
            filters = None if lessons else Filters(type="procedure")
            outcomes = run_cases(coach, cases, filters=filters)
            overall = score(coach, outcomes)["overall"]
            rows.append(
                {
                    "retriever": mode,
                    "lessons learned": "with" if lessons else "without",
                    **{name: overall[name] for name in COMPARE_METRICS},
                    "out_of_scope_accuracy": overall["out_of_scope_accuracy"],
                }
            )
    finally:
        coach.retriever.mode = original
    return rows


def compare_markdown(rows: list[dict[str, Any]]) -> str:
    names = list(rows[0])
    lines = ["| " + " | ".join(names) + " |", "|" + " --- |" * len(names)]
    for row in rows:
        lines.append("| " + " | ".join(str(row[name]) for name in names) + " |")
    return "\n".join(lines) + "\n"


def html_report(report: dict[str, Any]) -> str:
    """A self-contained page (no scripts, no external files): one bar chart per metric, the
    bars being the overall value and each language group's."""
    groups = {"all": report["aggregates"]["overall"], **report["aggregates"]["groups"]}
    measured = report["aggregates"]["overall"]
    metrics = [m for m in (*OWN_METRICS, *RAGAS_METRICS, *JUDGE_METRICS) if m in measured]
    charts = []
    for metric in metrics:
        bars = []
        for row, (group, values) in enumerate(groups.items()):
            value = float(values.get(metric, 0.0))
            width = round(300 * max(0.0, min(1.0, value)))
            y = 8 + row * 22
            bars.append(
                f'<text x="0" y="{y + 13}" font-size="12">{group}</text>'
                f'<rect x="110" y="{y}" width="{width}" height="16" fill="#2f6f9f"></rect>'
                f'<text x="{116 + width}" y="{y + 13}" font-size="12">{value:.3f}</text>'
            )
        height = 16 + 22 * len(groups)
        charts.append(
            f"<figure><figcaption>{metric}</figcaption>"
            f'<svg role="img" aria-label="{metric} per group" width="480" height="{height}">'
            + "".join(bars)
            + "</svg></figure>"
        )
    config = "".join(
        f"<tr><th>{key}</th><td>{value}</td></tr>" for key, value in report["config"].items()
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Coach evaluation</title><style>body{font-family:sans-serif;margin:2rem}"
        "figure{display:inline-block;margin:0 2rem 1rem 0}figcaption{font-weight:bold}"
        "</style></head><body><h1>Coach evaluation</h1>"
        f"<table>{config}</table>" + "".join(charts) + "</body></html>\n"
    )
