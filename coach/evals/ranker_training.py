"""Training data and cross-validation for the learned ranker: each case of a suite, in each of
its forms, becomes one query whose candidates are the first stage's top `DEPTH` documents, each
with its feature row (`coach.retrieve.features`) and a label (2: the case's first reference, 1:
another reference, 0: not relevant). A model is judged on organisations it did not see: leave
one organisation out, train on the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.engine import Coach
from coach.evals.dataset import Case, forms_of
from coach.evals.metrics import mean
from coach.retrieve.features import FEATURES, candidate_features

DEPTH = 20  # candidates the second stage ranks
PARAMETERS: dict[str, Any] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "ndcg_eval_at": [1, 5],
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambdarank_truncation_level": 10,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbose": -1,
}
ROUNDS = 200


@dataclass(frozen=True)
class Query:
    suite: str
    case_id: str
    form: str
    doc_ids: tuple[str, ...]
    features: NDArray[np.float64]
    labels: NDArray[np.int32]


def collect(
    coach: Coach,
    suite: str,
    cases: Sequence[Case],
    progress: Callable[[int, int], None] | None = None,
) -> list[Query]:
    """One query per in-scope case and form, with the first stage's top DEPTH candidates."""
    queries = []
    in_scope = [case for case in cases if not case.out_of_scope]
    runs = [(case, form) for form in forms_of(list(cases)) for case in in_scope]
    for number, (case, form) in enumerate(runs, start=1):
        text = case.in_form(form).situation
        language = coach.retriever.language_of(text)
        retrieval = coach.retriever.search(text, k=DEPTH, language=language)
        documents = retrieval.documents
        relevant = case.reference_context_ids
        labels = np.array(
            [2 if d.doc_id == relevant[0] else 1 if d.doc_id in relevant else 0 for d in documents],
            dtype=np.int32,
        )
        queries.append(
            Query(
                suite,
                case.id,
                form,
                tuple(d.doc_id for d in documents),
                candidate_features(text, language, documents),
                labels,
            )
        )
        if progress:
            progress(number, len(runs))
    return queries


def train(queries: Sequence[Query], rounds: int = ROUNDS) -> Any:
    """A LightGBM lambdarank model on `queries` (deterministic for the same data)."""
    import lightgbm

    kept = [q for q in queries if len(q.labels)]
    data = lightgbm.Dataset(
        np.vstack([q.features for q in kept]),
        label=np.concatenate([q.labels for q in kept]),
        group=[len(q.labels) for q in kept],
        feature_name=list(FEATURES),
        free_raw_data=False,
    )
    return lightgbm.train(PARAMETERS, data, num_boost_round=rounds)


def _order(query: Query, scores: NDArray[np.float64] | None) -> list[str]:
    if scores is None:
        return list(query.doc_ids)
    order = sorted(range(len(query.doc_ids)), key=lambda i: (-scores[i], i))
    return [query.doc_ids[i] for i in order]


def measure(queries: Sequence[Query], model: Any | None) -> dict[str, float]:
    """hit@1, hit@5 and MRR of the first stage's order (`model` None) or the model's, per
    form, over the queries (a case whose references are not among the candidates misses)."""
    found: dict[str, dict[str, list[float]]] = {}
    for query in queries:
        scores = model.predict(query.features) if model is not None and len(query.labels) else None
        order = _order(query, scores)
        relevant = {query.doc_ids[i] for i in np.flatnonzero(query.labels)}
        ranks = [position for position, doc_id in enumerate(order, start=1) if doc_id in relevant]
        first = min(ranks, default=0)
        row = found.setdefault(query.form, {"hit@1": [], "hit@5": [], "mrr": []})
        row["hit@1"].append(float(first == 1))
        row["hit@5"].append(float(0 < first <= 5))
        row["mrr"].append(1.0 / first if first else 0.0)
    return {
        f"{form} {name}": round(mean(values), 4)
        for form, row in sorted(found.items())
        for name, values in row.items()
    }


def cross_validate(by_suite: dict[str, list[Query]]) -> dict[str, dict[str, dict[str, float]]]:
    """Leave one organisation out: for each suite, the first stage's figures and those of a
    model trained on the other suites only."""
    report = {}
    for held, queries in by_suite.items():
        others = [q for name, rows in by_suite.items() if name != held for q in rows]
        model = train(others)
        report[held] = {"first stage": measure(queries, None), "ranker": measure(queries, model)}
    return report
