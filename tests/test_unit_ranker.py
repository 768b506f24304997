"""The learned ranker's training on its own terms: a lambdarank model learns from labelled
queries which evidence marks the relevant candidate, puts it first where the first stage did
not, trains the same model twice from the same data, and is judged on organisations it did not
see (leave one out)."""

from __future__ import annotations

import numpy as np

from coach.evals.ranker_training import Query, cross_validate, measure, train
from coach.retrieve.features import FEATURES


def queries(suite: str, count: int, seed: int) -> list[Query]:
    """Queries whose relevant candidate (third in the first stage's order) has the highest
    item cosine; the other evidence is noise."""
    rng = np.random.default_rng(seed)
    made = []
    for number in range(count):
        features = rng.random((12, len(FEATURES)))
        item = FEATURES.index("item_cosine")
        features[2, item] = features[:, item].max() + 0.1
        labels = np.zeros(12, dtype=np.int32)
        labels[2] = 2
        ids = tuple(f"doc-{i}" for i in range(12))
        made.append(Query(suite, f"c{number}", "long", ids, features, labels))
    return made


def test_the_ranker_learns_which_evidence_marks_the_relevant_document() -> None:
    learned, seen = queries("a", 60, 1), queries("b", 40, 2)
    model = train(learned)
    before, after = measure(seen, None), measure(seen, model)
    assert before["long hit@1"] == 0.0 and after["long hit@1"] >= 0.9
    again = train(learned)
    assert np.array_equal(model.predict(seen[0].features), again.predict(seen[0].features))


def test_cross_validation_leaves_each_organisation_out() -> None:
    report = cross_validate({"a": queries("a", 40, 1), "b": queries("b", 40, 2)})
    assert set(report) == {"a", "b"}
    for figures in report.values():
        assert figures["first stage"]["long hit@1"] == 0.0
        assert figures["ranker"]["long hit@1"] >= 0.9
