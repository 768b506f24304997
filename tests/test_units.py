"""A large run's units (chunks and advice items) are made in a process of their own, ahead of
the model: the same units, in the same order, as made in the indexer's own process; a small
run, or an embedder another process cannot build by name, makes them in process."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.index import units as units_module
from coach.index.embedders import Embedder, make_embedder
from coach.index.indexer import Indexer
from coach.index.records import StoreLocation
from coach.index.units import ChunkerRecipe, each_with_units, units_of
from coach.ingest.corpus import scan_corpus
from coach.testing import HashingEmbedder

REPO = Path(__file__).resolve().parents[1]


def test_units_made_in_another_process_are_the_ones_made_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embedder: Embedder = make_embedder("use-multilingual-v3")
    indexer = Indexer(embedder, StoreLocation(collection="coach", path=None))
    documents = [doc for doc in scan_corpus(REPO / "corpus").documents if doc.is_active]
    recipe = ChunkerRecipe.of(embedder.name, embedder.max_tokens)
    assert recipe is not None
    monkeypatch.setattr(units_module, "POOL_FROM", 1)
    spawned = list(each_with_units(documents, indexer.chunker, recipe))
    here = [(document, units_of(document, indexer.chunker)) for document in documents]
    assert [d.id for d, _ in spawned] == [d.id for d in documents]
    assert spawned == here
    assert sum(len(units) for _, units in here) > len(documents)


def test_no_process_for_a_small_run_or_an_embedder_without_a_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ChunkerRecipe.of(HashingEmbedder().name, 256) is None  # a test's embedder
    assert ChunkerRecipe.of("sentence-transformers:/some/folder", 256) is None

    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process was started")

    monkeypatch.setattr(units_module, "ProcessPoolExecutor", no_process)
    embedder = make_embedder("use-multilingual-v3")
    indexer = Indexer(embedder, StoreLocation(collection="coach", path=None))
    documents = [doc for doc in scan_corpus(REPO / "corpus").documents if doc.is_active]
    recipe = ChunkerRecipe.of(embedder.name, embedder.max_tokens)
    few = documents[: units_module.POOL_FROM - 1]
    assert [d.id for d, _ in each_with_units(few, indexer.chunker, recipe)] == [d.id for d in few]
