"""Hybrid retrieval on a small corpus: the right document first, filters, only active ones,
and BM25 in step with incremental indexing, on the embedded index and a Chroma server."""

from __future__ import annotations

import pytest

from coach.index.embedders import Embedder
from coach.index.indexer import Indexer
from coach.index.records import StoreLocation
from coach.retrieve.filters import Filters
from coach.retrieve.fusion import MODES
from coach.retrieve.retriever import Retriever
from tests.coaching_corpus import write_coaching_corpus
from tests.conftest import CorpusBuilder


@pytest.fixture(params=["in-memory", "chroma-query"])
def retriever(
    request: pytest.FixtureRequest,
    corpus: CorpusBuilder,
    multilingual: Embedder,
    location: StoreLocation,
) -> Retriever:
    """Dense search runs in memory for indexes up to `memory_chunks`, and as a Chroma query
    beyond: both paths must agree on every behaviour."""
    write_coaching_corpus(corpus)
    Indexer(multilingual, location).run(corpus.root)
    memory_chunks = 0 if request.param == "chroma-query" else 200_000
    return Retriever(multilingual, location, memory_chunks=memory_chunks)


def ids(retriever: Retriever, query: str, **kwargs: object) -> list[str]:
    return [doc.doc_id for doc in retriever.search(query, **kwargs).documents]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        (
            "Klanten bellen steeds opnieuw omdat niemand ze terugbelt over hun storing",
            "les-terugbellen-klanten",
        ),
        (
            "Hoe leg ik een melding van een kapotte ketel vast als een klant belt?",
            "proc-storing-melden",
        ),
        ("After we fit a heat pump, people tell us their house stays cold", "les-heat-pump-curve"),
        ("How do I get my travel costs for a client visit paid back?", "proc-expense-claims"),
    ],
)
def test_the_right_document_comes_first(
    retriever: Retriever, situation: str, expected: str
) -> None:
    assert ids(retriever, situation)[0] == expected


def test_cross_language_situation_finds_the_document(retriever: Retriever) -> None:
    # English words, Dutch procedure: only the multilingual dense side can bridge it.
    found = ids(retriever, "Customers keep calling back because nobody returns their calls", k=3)
    assert "les-terugbellen-klanten" in found


def test_retired_and_draft_documents_are_never_returned(retriever: Retriever) -> None:
    for mode in MODES:
        found = ids(retriever, "storingsmelding formulier bakje planner PlanPro", k=20, mode=mode)
        assert "proc-storing-melden-oud" not in found
        assert "les-concept-planning" not in found


def test_filters_are_honoured(retriever: Retriever) -> None:
    query = "klant belt over een storing en wil teruggebeld worden"
    for mode in MODES:
        lessons = retriever.search(query, filters=Filters(type="lesson"), k=20, mode=mode)
        assert lessons.documents and {d.metadata["type"] for d in lessons.documents} == {"lesson"}
        team = retriever.search(query, filters=Filters(team="Finance"), k=20, mode=mode)
        assert {d.metadata["team"] for d in team.documents} <= {"Finance"}
        english = retriever.search(query, filters=Filters(language="en"), k=20, mode=mode)
        assert {d.metadata["language"] for d in english.documents} <= {"en"}


def test_results_are_documents_with_their_best_chunks(retriever: Retriever) -> None:
    result = retriever.search("terugbelverzoek topdesk deadline", k=5)
    doc_ids = [doc.doc_id for doc in result.documents]
    assert len(doc_ids) == len(set(doc_ids))
    scores = [doc.score for doc in result.documents]
    assert scores == sorted(scores, reverse=True)
    first = result.documents[0]
    assert first.chunks and all(chunk.doc_id == first.doc_id for chunk in first.chunks)
    assert result.language == "nl"


def test_lexical_index_follows_incremental_indexing(
    corpus: CorpusBuilder, multilingual: Embedder, location: StoreLocation
) -> None:
    write_coaching_corpus(corpus)
    indexer = Indexer(multilingual, location)
    indexer.run(corpus.root)
    retriever = Retriever(multilingual, location)
    assert ids(retriever, "zonnepanelen omvormer", mode="lexical") == []

    corpus.write(
        "proc-werkbon-afronden",
        "## Stappen\n1. Controleer de omvormer van de zonnepanelen voor je vertrekt.\n",
        title="Werkbon afronden in de WerkbonApp",
        team="Buitendienst",
    )
    indexer.run(corpus.root)
    assert ids(retriever, "zonnepanelen omvormer", mode="lexical") == ["proc-werkbon-afronden"]
    assert ids(retriever, "barcode bus-voorraad synchroniseer", mode="lexical") == []

    corpus.write(
        "proc-werkbon-afronden",
        "## Stappen\n1. Omvormer zonnepanelen.\n",
        title="Werkbon",
        status="retired",
    )
    indexer.run(corpus.root)
    for mode in MODES:
        assert "proc-werkbon-afronden" not in ids(retriever, "zonnepanelen omvormer", mode=mode)


def test_advice_items_are_scored_apart_from_the_chunks(retriever: Retriever) -> None:
    situation = "Klanten bellen steeds opnieuw omdat niemand ze terugbelt over hun storing"
    documents = retriever.search(situation, k=3).documents
    # Item records never stand in for a document's chunks, on either search path.
    assert all(hit.metadata.get("record") != "item" for d in documents for hit in d.chunks)
    top = documents[0]
    if retriever.memory_chunks == 0:  # through Chroma: items are not read, shared terms rank them
        assert top.items == []
        return
    texts = [hit.text for hit, _ in top.items]
    scores = [score for _, score in top.items]
    assert texts and scores == sorted(scores, reverse=True)
    assert "Leg elk terugbelverzoek vast in Topdesk, nooit op papier of in de mail." in texts
    # Only advice: the lesson's story ("what happened") is not an item, and markup is gone.
    assert not any("briefjes" in text or "**" in text for text in texts)
    assert top.item_similarity == scores[0]


def test_an_index_with_no_active_document_answers_with_nothing(
    corpus: CorpusBuilder, multilingual: Embedder, location: StoreLocation
) -> None:
    # Every document retired (or still a draft): the index holds no records at all.
    corpus.write("proc-oud", "## Stappen\n1. Bel de klant terug.\n", title="Oud", status="retired")
    corpus.write("les-nieuw", "## Les\nBel terug.\n", title="Nieuw", status="draft")
    Indexer(multilingual, location).run(corpus.root)
    for memory_chunks in (0, 200_000):  # the Chroma query path and the in-memory one
        retriever = Retriever(multilingual, location, memory_chunks=memory_chunks)
        for mode in MODES:
            assert ids(retriever, "Klanten worden niet teruggebeld", mode=mode) == []
        retriever.close()
