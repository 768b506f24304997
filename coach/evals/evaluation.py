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
from coach.evals.dataset import Case
from coach.evals.hubs import HubRow, hub_report
from coach.evals.judge import JUDGE_METRICS, JudgeConfig, judge_scores
from coach.evals.metrics import hit_at, mean, ndcg_at, precision_counts, ratio, reciprocal_rank
from coach.result import CoachingResult
from coach.retrieve.retriever import MODES, Filters

RAGAS_METRICS = (
    "id_based_context_precision",
    "id_based_context_recall",
    "non_llm_context_precision_with_reference",
    "non_llm_context_recall",
    "rouge_score",
    "non_llm_string_similarity",
)
OWN_METRICS = ("hit@1", "hit@5", "mrr", "ndcg@5")
# What a professional sees: of the content suggestions (not "consult a colleague"), the share
# that cite a reference document; of the documents an answer suggests from, the share that are
# references (both pooled over the cases); and the cases whose answer has at least one
# suggestion citing a reference.
ANSWER_METRICS = ("suggestion_precision", "answer_precision", "answer_hit")
# Groups overlap: near-duplicate cases are also Dutch, English or cross-language ones.
GROUPS: dict[str, Callable[[Case], bool]] = {
    "nl": lambda case: case.group == "nl",
    "en": lambda case: case.group == "en",
    "cross-language": lambda case: case.group == "cross-language",
    "near-duplicate": lambda case: not case.out_of_scope and "near-duplicate" in case.tags,
}


@dataclass
class CaseOutcome:
    case: Case
    result: CoachingResult
    ranking: list[str]  # the retrieval's document ids, best first (what ranking metrics see)
    scores: dict[str, float] = field(default_factory=dict)
    # Numerators and denominators of the pooled precisions.
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def retrieved_ids(self) -> list[str]:
        return self.ranking

    @property
    def content_suggestions(self) -> list[list[str]]:
        """The citations of each suggestion that is advice, not "consult a colleague"."""
        return [s.citations for s in self.result.suggestions if s.kind != "consult"]

    @property
    def suggested_from(self) -> list[str]:
        """The documents the answer's advice comes from, in order of first citation."""
        return list(dict.fromkeys(c for citations in self.content_suggestions for c in citations))

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
        answer = coach.answer(case.situation, filters=filters, k=5)
        outcomes.append(CaseOutcome(case, answer.result, answer.ranking))
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
            _answer_scores(outcome)
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
    names = [*RAGAS_METRICS, *OWN_METRICS, "answer_hit", *(JUDGE_METRICS if judge else ())]

    def aggregate(selected: list[CaseOutcome]) -> dict[str, float]:
        row = {
            name: round(mean([o.scores[name] for o in selected if name in o.scores]), 4)
            for name in names
        }
        for name in ("suggestion_precision", "answer_precision"):
            pooled = ratio(
                sum(o.counts.get(f"{name}_hits", 0) for o in selected),
                sum(o.counts.get(f"{name}_items", 0) for o in selected),
            )
            row[name] = round(pooled, 4) if pooled is not None else 0.0
        row["cases"] = len(selected)
        return row

    overall = aggregate(in_scope)
    overall["out_of_scope_accuracy"] = round(
        mean([o.scores["grounding_correct"] for o in outcomes]), 4
    )
    overall["citation_validity"] = round(mean([o.scores["citation_validity"] for o in outcomes]), 4)
    if judge is not None:
        overall["judge_failures"] = failed
    hubs = hub_report(
        [o.suggested_from for o in outcomes],
        [o.case.reference_context_ids for o in in_scope],
    )
    overall["hub_documents"] = sum(1 for row in hubs if row.over)
    by_group = {
        group: aggregate([o for o in in_scope if wanted(o.case)])
        for group, wanted in GROUPS.items()
    }
    return {"overall": overall, "groups": by_group, "hubs": [vars(row) for row in hubs]}


def _answer_scores(outcome: CaseOutcome) -> None:
    """Suggestion and answer precision of one in-scope case (None when it suggests nothing)."""
    relevant = outcome.case.reference_context_ids
    for name, items in (
        ("suggestion_precision", outcome.content_suggestions),
        ("answer_precision", [[doc_id] for doc_id in outcome.suggested_from]),
    ):
        total, hits = precision_counts(items, relevant)
        outcome.counts[f"{name}_items"], outcome.counts[f"{name}_hits"] = total, hits
        value = ratio(hits, total)
        if value is not None:
            outcome.scores[name] = round(value, 4)
    outcome.scores["answer_hit"] = float(outcome.counts["suggestion_precision_hits"] > 0)


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


@dataclass(frozen=True)
class Limits:
    """What `--check` enforces: floors (at least) and ceilings (at most), per aggregate."""

    floors: dict[str, float] = field(default_factory=dict)
    ceilings: dict[str, float] = field(default_factory=dict)


def load_thresholds(path: Path, suite: str | None = None) -> Limits:
    """The limits of one suite (`[suites.NAME.floors]`), or the file's top-level `[floors]`."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    table = data.get("suites", {}).get(suite, {}) if suite else data

    def numbers(name: str) -> dict[str, float]:
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
    names = [*OWN_METRICS, *ANSWER_METRICS, "id_based_context_recall", "rouge_score", *judged]
    lines += ["| group | cases | " + " | ".join(names) + " |"]
    lines += ["| --- " * (len(names) + 2) + "|"]
    for group, row in report["aggregates"]["groups"].items():
        lines.append(
            f"| {group} | {row['cases']} | " + " | ".join(str(row[n]) for n in names) + " |"
        )
    lines += ["", "## Hub documents", ""]
    lines += [
        "The documents the answers suggest from most often, against how many cases reference "
        "them; a document may be in at most 20% of the answers, or in as many as reference it.",
        "",
        "| document | answers | share | referenced by | allowed share | over |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for hub in report["aggregates"]["hubs"]:
        row = HubRow(**hub)
        lines.append(
            f"| {row.doc_id} | {row.answers} | {row.share} | {row.referenced_by} | "
            f"{row.allowed} | {'yes' if row.over else 'no'} |"
        )
    lines += ["", "## The ten worst cases", ""]
    lines += [
        "| case | grounded | expected | retrieved | suggested from | mrr |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for o in worst_cases(outcomes):
        expected = ", ".join(o.case.reference_context_ids) or "(out of scope)"
        lines.append(
            f"| {o.case.id} | {o.result.grounded} | {expected} | "
            f"{', '.join(o.retrieved_ids) or '-'} | {', '.join(o.suggested_from) or '-'} | "
            f"{o.scores.get('mrr', '-')} |"
        )
    return "\n".join(lines) + "\n"


COMPARE_METRICS = ("hit@1", "hit@5", "mrr", "ndcg@5", "id_based_context_recall", "rouge_score")
CROSS_METRICS = ("hit@1", "hit@5", "mrr")
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
            scored = score(coach, outcomes)
            overall, cross = scored["overall"], scored["groups"]["cross-language"]
            rows.append(
                {
                    "retriever": mode,
                    "lessons learned": "with" if lessons else "without",
                    **{name: overall[name] for name in COMPARE_METRICS},
                    "out_of_scope_accuracy": overall["out_of_scope_accuracy"],
                    **{f"cross-language {name}": cross[name] for name in CROSS_METRICS},
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
    metrics = [
        m for m in (*OWN_METRICS, *ANSWER_METRICS, *RAGAS_METRICS, *JUDGE_METRICS) if m in measured
    ]
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
        f"<table>{config}</table>" + "".join(charts) + _html_hubs(report) + "</body></html>\n"
    )


def _html_hubs(report: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{row.doc_id}</td><td>{row.answers}</td><td>{row.share}</td>"
        f"<td>{row.referenced_by}</td><td>{row.allowed}</td>"
        f"<td>{'yes' if row.over else 'no'}</td></tr>"
        for row in (HubRow(**hub) for hub in report["aggregates"].get("hubs", []))
    )
    return (
        "<h2>Hub documents</h2><table><tr><th>document</th><th>answers</th><th>share</th>"
        "<th>referenced by</th><th>allowed share</th><th>over</th></tr>" + rows + "</table>"
    )
