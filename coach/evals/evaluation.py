"""`coach eval`: the real pipeline on every evaluation case, scored offline with Ragas' non-LLM
metrics and our own retrieval, grounding and citation metrics."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coach.engine import Coach
from coach.evals.dataset import Case
from coach.evals.hubs import hub_report
from coach.evals.judge import JUDGE_METRICS, JudgeConfig, judge_scores
from coach.evals.metrics import hit_at, mean, ndcg_at, precision_counts, ratio, reciprocal_rank
from coach.result import CoachingResult
from coach.retrieve.filters import Filters
from coach.retrieve.fusion import MODES

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
    proposed_citations: list[str] = field(default_factory=list)  # before invalid ones dropped
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
        outcomes.append(CaseOutcome(case, answer.result, answer.ranking, answer.proposed_citations))
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
        sources = {source.id for source in outcome.result.sources}
        outcome.scores["grounding_correct"] = float(
            outcome.result.grounded != outcome.case.out_of_scope
        )
        # Scored on what the generator proposed, before invalid citations were dropped: a
        # generator that invents document ids lowers it.
        proposed = outcome.proposed_citations
        outcome.scores["citation_validity"] = (
            mean([1.0 if c in sources else 0.0 for c in proposed]) if proposed else 1.0
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
        judged, failed = judge_scores(judge, coach.embedder, samples)
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
    # in-scope situations answered as if the documents said nothing about them
    overall["false_refusals"] = round(mean([float(not o.result.grounded) for o in in_scope]), 4)
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
        for doc_id, chunks in coach.document_chunks(reference_ids).items()
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


COMPARE_METRICS = ("hit@1", "hit@5", "mrr", "ndcg@5", "id_based_context_recall", "rouge_score")
CROSS_METRICS = ("hit@1", "hit@5", "mrr")
VARIANTS = [(mode, lessons) for lessons in (True, False) for mode in MODES]


def compare(coach: Coach, cases: list[Case]) -> list[dict[str, Any]]:
    """Dense-only, BM25-only and hybrid, each with and without the lessons learned, in one run."""
    rows = []
    original = coach.mode
    try:
        for mode, lessons in VARIANTS:
            coach.mode = mode
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
        coach.mode = original
    return rows
