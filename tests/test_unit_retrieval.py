"""Fusion, filters and the retriever end to end on an in-memory store with the hashing
embedder: no model and no Chroma, so everything runs in the fast tier."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.index.layers import LayeredStore
from coach.index.protocol import SearchableStore
from coach.index.store import ChunkStore
from coach.ingest.corpus import Document
from coach.retrieve.filters import Filters
from coach.retrieve.fusion import MODES, Fusion, Mode
from coach.retrieve.language import detect_language
from coach.retrieve.results import DocumentHit
from coach.retrieve.retriever import Retriever
from coach.testing import MEMORY_LOCATION, HashingEmbedder, InMemoryStore, document, memory_coach
from tests.coaching_corpus import coaching_documents

EMBEDDER = HashingEmbedder()
# The search paths: vectors in memory (the default), scored exactly or in two passes (the
# first-pass shortlist holds every chunk of this corpus, so both find the same), and the store's
# own query. Each as (memory_chunks, two_pass_from).
PATHS = {"in-memory": (200_000, 20_000), "two-pass": (200_000, 1), "store-query": (0, 20_000)}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    return coaching_documents(tmp_path_factory.mktemp("unit-retrieval"))


@pytest.fixture(scope="module")
def store(documents: list[Document]) -> InMemoryStore:
    return InMemoryStore.from_documents(documents, EMBEDDER)


@pytest.fixture(params=sorted(PATHS))
def retriever(request: pytest.FixtureRequest, store: InMemoryStore) -> Retriever:
    return retriever_on(store, request.param)


def retriever_on(store: InMemoryStore, path: str) -> Retriever:
    """A retriever of `store` on one of the search `PATHS`."""
    memory_chunks, two_pass_from = PATHS[path]
    retriever = Retriever(
        EMBEDDER,
        MEMORY_LOCATION,
        memory_chunks=memory_chunks,
        two_pass_from=two_pass_from,
        open_store=lambda: store,
    )
    retriever.store()
    assert retriever.two_pass == (path == "two-pass")
    return retriever


def _layered_store_is_searchable(store: LayeredStore) -> SearchableStore:
    """Not a test: mypy checks here that LayeredStore satisfies the retriever's store protocol."""
    return store


def _chunk_store_is_searchable(store: ChunkStore) -> SearchableStore:
    """Not a test: mypy checks here that ChunkStore satisfies the retriever's store protocol."""
    return store


def ids(retrieval_documents: list[DocumentHit]) -> list[str]:
    return [d.doc_id for d in retrieval_documents]


def meaning(retriever: Retriever, doc: DocumentHit) -> float:
    """Its two cosines fused; a document without an item cosine counts its chunk's twice."""
    similarity = doc.similarity or 0.0
    item = doc.item_similarity
    return retriever.fusion.meaning(similarity, similarity if item is None else item)


# -- fusion and filters -----------------------------------------------------------------------


def test_fusion_is_a_weighted_sum_on_one_scale() -> None:
    fusion = Fusion()  # dense 1.0, items 1.0, lexical 0.3
    assert fusion.meaning(0.5, 0.25) == pytest.approx(0.75)
    assert fusion.score(0.5, 0.25, 0.4) == pytest.approx(0.75 + 0.3 * 0.4)
    weighted = Fusion(dense=2.0, items=0.5, lexical=1.0)
    assert weighted.meaning(0.5, 0.4) == pytest.approx(1.2)
    assert weighted.score(0.5, 0.4, 0.3) == pytest.approx(1.5)
    # The lexical share never enters the meaning: it is the language-dependent evidence.
    assert weighted.score(0.5, 0.4, 0.0) == weighted.meaning(0.5, 0.4)


def test_filters_give_chroma_where_clauses_and_check_metadata() -> None:
    assert Filters().where() is None
    assert Filters(team="Finance").where() == {"team": "Finance"}
    both = Filters(type="lesson", language="en")
    assert both.where() == {"$and": [{"type": "lesson"}, {"language": "en"}]}
    assert both.allows({"type": "lesson", "language": "en", "team": "x"})
    assert not both.allows({"type": "lesson", "language": "nl"})
    assert Filters().allows({})


# -- the retriever on the coaching corpus -----------------------------------------------------


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        ("Hoe rond ik een werkbon af in de WerkbonApp met foto's?", "proc-werkbon-afronden"),
        ("How do I claim my business expenses with a receipt?", "proc-expense-claims"),
        ("After we install a heat pump the house stays cold.", "les-heat-pump-curve"),
        ("Klanten bellen ons steeds opnieuw omdat niemand terugbelt.", "les-terugbellen-klanten"),
    ],
)
def test_the_document_sharing_the_situation_words_comes_first(
    retriever: Retriever, situation: str, expected: str
) -> None:
    for mode in MODES:
        assert ids(retriever.search(situation, k=3, mode=mode).documents)[0] == expected, mode


def test_scores_are_the_fusion_of_each_documents_evidence(retriever: Retriever) -> None:
    situation = "Klanten bellen over een storing en willen teruggebeld worden."
    hybrid = retriever.search(situation, k=5)
    assert hybrid.mode == "hybrid" and hybrid.language == "nl"
    scores = [d.score for d in hybrid.documents]
    assert scores == sorted(scores, reverse=True)
    for doc in hybrid.documents:
        expected = meaning(retriever, doc) + retriever.fusion.lexical * doc.lexical_share
        assert doc.score == pytest.approx(expected)
        assert 0.0 <= doc.lexical_share <= 1.0
    if retriever.memory_chunks:  # in memory, every candidate's cosines are measured
        assert all(d.similarity is not None and d.item_similarity for d in hybrid.documents)
    # The best dense cosine over the candidates is what the engine's grounding reads.
    assert hybrid.top_similarity == pytest.approx(max(d.similarity or 0 for d in hybrid.documents))

    dense = retriever.search(situation, k=5, mode="dense")
    assert all(d.score == d.similarity for d in dense.documents)
    lexical = retriever.search(situation, k=5, mode="lexical")
    assert lexical.top_similarity is None and lexical.documents[0].score == pytest.approx(1.0)


@pytest.mark.parametrize("mode", MODES)
def test_filters_are_honoured_on_both_paths(retriever: Retriever, mode: Mode) -> None:
    query = "klant belt over een storing en wil teruggebeld worden"
    lessons = retriever.search(query, filters=Filters(type="lesson"), k=20, mode=mode).documents
    assert lessons and {d.metadata["type"] for d in lessons} == {"lesson"}
    finance = retriever.search(query, filters=Filters(team="Finance"), k=20, mode=mode).documents
    assert {d.metadata["team"] for d in finance} <= {"Finance"}
    english = retriever.search(query, filters=Filters(language="en"), k=20, mode=mode).documents
    assert {d.metadata["language"] for d in english} <= {"en"}
    both = Filters(team="Servicedesk", type="procedure")
    found = retriever.search(query, filters=both, k=20, mode=mode).documents
    assert ids(found) in ([], ["proc-storing-melden"])
    if mode != "dense":  # the words "storing" and "klant" are in it: BM25 finds it
        assert ids(found) == ["proc-storing-melden"]


def test_retired_and_draft_documents_are_never_returned(retriever: Retriever) -> None:
    for mode in MODES:
        query = "storingsmelding formulier bakje planner PlanPro"
        found = ids(retriever.search(query, k=20, mode=mode).documents)
        assert "proc-storing-melden-oud" not in found and "les-concept-planning" not in found


def test_documents_carry_their_best_chunks_and_items(retriever: Retriever) -> None:
    situation = "Klanten bellen steeds opnieuw omdat niemand ze terugbelt over hun storing"
    top = retriever.search(situation, k=3).documents[0]
    assert top.chunks and len(top.chunks) <= retriever.chunks_per_document
    assert all(c.doc_id == top.doc_id and c.metadata.get("record") != "item" for c in top.chunks)
    if retriever.memory_chunks == 0:  # through the store's query: items are not read
        assert top.items == []
        return
    texts = [hit.text for hit, _ in top.items]
    cosines = [cosine for _, cosine in top.items]
    assert cosines == sorted(cosines, reverse=True) and top.item_similarity == cosines[0]
    assert "Leg elk terugbelverzoek vast in Topdesk, nooit op papier of in de mail." in texts


def test_document_chunks_are_all_of_a_documents_chunks_in_order(retriever: Retriever) -> None:
    found = retriever.document_chunks(["les-terugbellen-klanten", "les-terugbellen-klanten"])
    chunks = found["les-terugbellen-klanten"]
    assert [int(c.metadata["chunk_index"]) for c in chunks] == list(range(len(chunks)))
    assert all(c.metadata.get("record") != "item" for c in chunks)
    assert "Wat gebeurde er" in {str(c.metadata["heading_path"]) for c in chunks}
    assert retriever.document_chunks([]) == {}


def test_a_stale_store_is_reopened_and_bm25_rebuilt(documents: list[Document]) -> None:
    expenses = [d for d in documents if d.id == "proc-expense-claims"]
    stores = [InMemoryStore.from_documents(expenses, EMBEDDER)]
    opened: list[InMemoryStore] = []

    def open_store() -> SearchableStore:
        opened.append(stores[-1])
        return stores[-1]

    retriever = Retriever(EMBEDDER, MEMORY_LOCATION, open_store=open_store)
    assert retriever.search("WerkbonApp foto's", mode="lexical").documents == []
    stores.append(InMemoryStore.from_documents(documents, EMBEDDER))
    assert retriever.search("WerkbonApp foto's", mode="lexical").documents == []  # not stale yet
    stores[0].stale = True
    found = retriever.search("WerkbonApp foto's", mode="lexical").documents
    assert ids(found)[:1] == ["proc-werkbon-afronden"]
    assert opened == stores and stores[0].closed == 1


# -- a document in the other language ---------------------------------------------------------

WIZARD_EN = (
    "## Lesson\n- When the WarmteWizard shows E42, the heating curve is set too low: raise the "
    "heating curve one step."
)
FAULT_CODE_NL = (
    "## Stappen\n1. Noteer de foutcode van de warmtepomp in Topdesk.\n2. Bel de klant terug."
)
PLANNING_NL = "## Stappen\n1. Plan het onderhoud van de ketel in het voorjaar."


@pytest.fixture(params=sorted(PATHS))
def bilingual(request: pytest.FixtureRequest) -> Retriever:
    store = InMemoryStore.from_documents(
        [
            document("les-wizard", WIZARD_EN, title="WarmteWizard E42", language="en"),
            document("proc-foutcode", FAULT_CODE_NL, title="Foutcode noteren"),
            document("proc-planning", PLANNING_NL, title="Onderhoud plannen"),
        ],
        EMBEDDER,
    )
    return retriever_on(store, request.param)


def by_id(found: list[DocumentHit]) -> dict[str, DocumentHit]:
    return {d.doc_id: d for d in found}


def test_a_document_in_the_other_language_is_not_pushed_down_for_its_language(
    bilingual: Retriever,
) -> None:
    # A Dutch situation. The English lesson shares the most words with it (the product and the
    # code), the Dutch procedure fewer but in its own stemming ("foutcode"), so only the Dutch
    # one can earn a lexical share. The English one ranks, by meaning, above every Dutch
    # document, so it gets the best Dutch share: 1.0.
    found = by_id(
        bilingual.search("De WarmteWizard geeft foutcode E42: wat moet ik doen?").documents
    )
    english, dutch = found["les-wizard"], found["proc-foutcode"]
    lexical = bilingual.fusion.lexical
    # The case this rule is for: better in meaning, but not by the lexical weight.
    assert meaning(bilingual, dutch) < meaning(bilingual, english)
    assert meaning(bilingual, english) < meaning(bilingual, dutch) + lexical * dutch.lexical_share
    assert dutch.lexical_share == 1.0 and english.lexical_share == 1.0
    assert english.score == pytest.approx(meaning(bilingual, english) + lexical)
    assert english.score > dutch.score


def test_nor_is_it_pushed_above_a_same_language_document_that_fits_better(
    bilingual: Retriever,
) -> None:
    # Here the Dutch procedure fits better in meaning too: the English lesson's standing is
    # second, and the second Dutch share (the planning procedure's, no shared word) is 0.
    result = bilingual.search("Onze WarmteWizard warmtepomp geeft foutcode E42")
    found = by_id(result.documents)
    english, dutch = found["les-wizard"], found["proc-foutcode"]
    assert meaning(bilingual, english) < meaning(bilingual, dutch)
    assert english.lexical_share == 0.0 < dutch.lexical_share
    assert ids(result.documents)[:2] == ["proc-foutcode", "les-wizard"]


def test_an_unknown_mode_is_refused(retriever: Retriever) -> None:
    with pytest.raises(ValueError, match="unknown retrieval mode"):
        retriever.search("werkbon", mode="fuzzy")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Heat pump customer cold house", "en"),  # no function word: the documents decide
        ("klanten storing terugbelverzoek topdesk", "nl"),
        ("Customer: the house is cold after the heat pump", "en"),  # marked: as before
        ("qwxz vbnm", "nl"),  # neither language's documents hold it: the default
    ],
)
def test_a_one_liner_without_function_words_gets_its_language_from_the_documents(
    text: str, language: str, tmp_path: Path
) -> None:
    coach = memory_coach(coaching_documents(tmp_path))
    assert coach.retriever.language_of(text) == language
    assert detect_language("Heat pump customer cold house") == "nl"  # what it was before
