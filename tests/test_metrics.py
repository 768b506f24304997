"""The evaluation's own metrics on hand-made rankings and answers (no model, no index)."""

from __future__ import annotations

import pytest

from coach.evals.gate import Limits, check
from coach.evals.hubs import hub_report
from coach.evals.metrics import hit_at, ndcg_at, precision_counts, ratio, reciprocal_rank


def test_ranking_metrics() -> None:
    ranked = ["a", "b", "c", "d"]
    assert hit_at(ranked, ["c"], 2) == 0.0 and hit_at(ranked, ["c"], 3) == 1.0
    assert reciprocal_rank(ranked, ["c", "b"]) == 0.5
    assert reciprocal_rank(ranked, ["x"]) == 0.0
    assert ndcg_at(["a", "b"], ["a", "b"], 5) == pytest.approx(1.0)
    # The first reference counts most: finding only the second scores less than only the first.
    assert ndcg_at(["b"], ["a", "b"], 5) < ndcg_at(["a"], ["a", "b"], 5) < 1.0


def test_suggestion_precision_counts_suggestions_citing_a_reference() -> None:
    suggestions = [["proc-a"], ["les-b", "proc-a"], ["les-c"], ["les-d"]]
    assert precision_counts(suggestions, ["proc-a"]) == (4, 2)
    assert precision_counts([], ["proc-a"]) == (0, 0)
    assert ratio(2, 4) == 0.5 and ratio(0, 0) is None


def test_hub_report_flags_a_document_in_more_answers_than_reference_it() -> None:
    # "generic" is in every answer but referenced by one case; "a" is in 4 of 5 answers and
    # referenced by 4 of 5 cases, so it may be.
    answers = [["a", "generic"], ["a", "generic"], ["a", "generic"], ["a", "generic"], ["generic"]]
    references = [["a"], ["a"], ["a"], ["a"], ["generic"]]
    rows = {row.doc_id: row for row in hub_report(answers, references)}
    assert rows["generic"].over and rows["generic"].share == 1.0
    assert rows["generic"].referenced_by == 1 and rows["generic"].allowed == 0.2
    assert not rows["a"].over and rows["a"].allowed == 0.8
    # An answer that suggests nothing does not count as an answer.
    assert hub_report([["a"], []], [["a"], ["b"]])[0].share == 1.0


def test_check_reports_floors_and_ceilings() -> None:
    limits = Limits(floors={"mrr": 0.8, "hit@5": 0.9}, ceilings={"hub_documents": 0})
    failures = check({"mrr": 0.7, "hub_documents": 2}, limits)
    assert failures == [
        "mrr: 0.7000 is under its floor 0.8",
        "hit@5: not measured (floor 0.9)",
        "hub_documents: 2.0000 is over its ceiling 0",
    ]
    assert check({"mrr": 0.8, "hit@5": 0.9, "hub_documents": 0}, limits) == []
