"""Incremental indexing into Chroma, on the embedded index and on a real Chroma server."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.errors import CorpusError, IndexMismatchError, IndexNotFoundError
from coach.index.embedders import Embedder
from coach.index.indexer import Indexer
from coach.index.layers import LayeredStore, open_index
from coach.index.records import StoreLocation
from coach.index.store import ChunkStore
from coach.ingest.advice import ITEM_RECORD
from tests.conftest import CorpusBuilder

INCIDENT = """Een incident meld je altijd in TOPdesk, ook als je het zelf oplost.

## Stappen
1. Open TOPdesk en kies Nieuwe melding.
2. Vul het serienummer van de laptop in.
3. Bel bij uitval van WerkbonApp direct de ICT-beheerder op toestel 4400.

## Aandachtspunten
- Meld een storing binnen 15 minuten.
"""

HEATPUMP = """## Situation
A heat pump was commissioned with the factory default heating curve.

## What worked
- Setting the heating curve from the heat-loss calculation.
- A settings photo in WerkbonApp reviewed by the lead technician.

## Lesson
Never leave the default heating curve on a new heat pump.
"""

PLANNING = """## Stappen
1. Plan spoedwerk binnen 4 uur bij particulieren.
2. Schuif een reguliere werkbon door naar een latere dag in PlanPro.
"""


def build(corpus: CorpusBuilder) -> None:
    corpus.write("proc-incident", INCIDENT, folder="ict")
    corpus.write("les-heat-pump", HEATPUMP, folder="field", type_="lesson", language="en")
    corpus.write("proc-spoed", PLANNING, folder="planning")


def indexed_corpus(corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation) -> Indexer:
    """The three-document corpus, indexed once."""
    build(corpus)
    indexer = Indexer(embedder, location)
    indexer.run(corpus.root)
    return indexer


def indexed(store: ChunkStore | LayeredStore) -> dict[str, str]:
    return {doc_id: entry.content_hash for doc_id, entry in store.manifest().items()}


def consistent(store: ChunkStore | LayeredStore) -> None:
    """Every committed document has exactly its own chunks, and nothing else is stored."""
    manifest = store.manifest()
    chunks = store.get_chunks()
    for doc_id, entry in manifest.items():
        own = [chunk for chunk in chunks if chunk.doc_id == doc_id]
        assert len(own) == entry.n_chunks
        assert {chunk.metadata["content_hash"] for chunk in own} <= {entry.content_hash}
    assert store.chunk_count() == sum(entry.n_chunks for entry in manifest.values())


def test_first_run_adds_and_second_run_embeds_nothing(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    build(corpus)
    indexer = Indexer(embedder, location)
    first = indexer.run(corpus.root)
    assert sorted(first.added) == ["les-heat-pump", "proc-incident", "proc-spoed"]
    assert first.chunks_embedded > 3
    second = indexer.run(corpus.root)
    assert second.counts() == {
        "added": 0,
        "updated": 0,
        "removed": 0,
        "unchanged": 3,
        "skipped": 0,
        "inactive": 0,
    }
    assert second.chunks_embedded == 0
    consistent(indexer.open_store())


def test_a_run_with_nothing_indexable_changed_copies_and_writes_nothing(
    corpus: CorpusBuilder, embedder: Embedder, tmp_path: Path
) -> None:
    # The embedded index: a writing run stages a copy of the whole published generation. A
    # draft (a lesson waiting for review) or an unchanged corpus must not cost that copy.
    location = StoreLocation(collection="coach", path=tmp_path / "index")
    build(corpus)
    indexer = Indexer(embedder, location)
    indexer.run(corpus.root)
    root = tmp_path / "index"
    published = (root / "CURRENT").read_text()
    before = root.stat().st_mtime_ns  # changes when a generation folder is made or removed
    corpus.write("les-concept", "## Les\nNog niet gereviewd.\n", title="Concept", status="draft")
    report = indexer.run(corpus.root)
    assert report.inactive == ["les-concept"] and report.chunks_embedded == 0
    assert root.stat().st_mtime_ns == before
    assert (root / "CURRENT").read_text() == published
    # Something indexable did change: then it writes a new generation, as before.
    corpus.write("proc-nieuw", "## Stappen\n1. Bel terug.\n", title="Nieuw")
    assert indexer.run(corpus.root).added == ["proc-nieuw"]
    assert (root / "CURRENT").read_text() != published


def test_chunks_carry_metadata_and_heading_paths(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    indexer = indexed_corpus(corpus, embedder, location)
    records = indexer.open_store().get_chunks(where={"doc_id": "proc-incident"})
    chunks = [record for record in records if record.metadata.get("record") != ITEM_RECORD]
    by_heading = {chunk.metadata["heading_path"]: chunk for chunk in chunks}
    assert set(by_heading) == {"", "Stappen", "Aandachtspunten"}
    step = by_heading["Stappen"]
    assert "toestel 4400" in step.text
    assert {key: step.metadata[key] for key in ("doc_id", "title", "type", "language", "team")} == {
        "doc_id": "proc-incident",
        "title": "Proc incident",
        "type": "procedure",
        "language": "nl",
        "team": "Servicedesk",
    }
    assert step.metadata["owner"] == "Sanne de Vries, teamleider"
    assert step.metadata["tags"] == "test"
    assert step.metadata["updated"] == "2025-06-12"
    assert step.metadata["path"] == "ict/proc-incident.md"


def test_query_finds_the_right_document(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    indexer = indexed_corpus(corpus, embedder, location)
    store = indexer.open_store()
    hits = store.query(embedder.embed_query("heat pump heating curve default setting"), k=3)
    assert hits[0].doc_id == "les-heat-pump"


def test_change_replaces_old_chunks(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    indexer = indexed_corpus(corpus, embedder, location)
    before = indexed(indexer.open_store())
    corpus.write("proc-spoed", PLANNING.replace("4 uur", "2 uur"), folder="planning")
    report = indexer.run(corpus.root)
    assert report.updated == ["proc-spoed"]
    assert sorted(report.unchanged) == ["les-heat-pump", "proc-incident"]
    store = indexer.open_store()
    after = indexed(store)
    assert after["proc-spoed"] != before["proc-spoed"]
    texts = " ".join(chunk.text for chunk in store.get_chunks(where={"doc_id": "proc-spoed"}))
    assert "2 uur" in texts and "4 uur" not in texts
    consistent(store)


def test_delete_retire_and_draft_remove_documents(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    build(corpus)
    corpus.write("proc-concept", PLANNING, folder="planning", status="draft")
    indexer = Indexer(embedder, location)
    first = indexer.run(corpus.root)
    assert first.inactive == ["proc-concept"]
    assert "proc-concept" not in indexed(indexer.open_store())

    (corpus.root / "ict" / "proc-incident.md").unlink()
    corpus.write("proc-spoed", PLANNING, folder="planning", status="retired")
    report = indexer.run(corpus.root)
    assert report.removed == ["proc-incident", "proc-spoed"]
    store = indexer.open_store()
    assert set(indexed(store)) == {"les-heat-pump"}
    query = embedder.embed_query("spoedwerk plannen binnen 4 uur")
    assert {hit.doc_id for hit in store.query(query, k=10)} == {"les-heat-pump"}
    consistent(store)


def test_invalid_file_is_skipped_and_keeps_its_last_good_version(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    indexer = indexed_corpus(corpus, embedder, location)
    broken = corpus.root / "planning" / "proc-spoed.md"
    broken.write_text(broken.read_text().replace("type: procedure", "type: memo"))
    corpus.write("proc-new", INCIDENT.replace("TOPdesk", "Klantportaal"), folder="ict")
    report = indexer.run(corpus.root)
    assert report.skipped_files == ["planning/proc-spoed.md"]
    assert report.skipped[0].rule == "unknown-type"
    assert report.added == ["proc-new"]
    assert "proc-spoed" in indexed(indexer.open_store())


def test_strict_refuses_the_whole_run(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    build(corpus)
    corpus.raw("ict/proc-bad.md", "no front matter")
    indexer = Indexer(embedder, location)
    with pytest.raises(CorpusError) as caught:
        indexer.run(corpus.root, strict=True)
    assert [problem.rule for problem in caught.value.problems] == ["front-matter"]
    with pytest.raises(IndexNotFoundError):
        open_index(location, embedder.name, embedder.dimension)


def test_index_refuses_another_embedder(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    build(corpus)
    Indexer(embedder, location).run(corpus.root)
    with pytest.raises(IndexMismatchError, match="coach index --rebuild"):
        open_index(location, "sentence-transformers:other-model", embedder.dimension)
    with pytest.raises(IndexMismatchError):
        open_index(location, embedder.name, 768)


def test_rebuild_starts_from_scratch(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    indexer = indexed_corpus(corpus, embedder, location)
    report = indexer.run(corpus.root, rebuild=True)
    assert len(report.added) == 3 and report.unchanged == []
    consistent(indexer.open_store())


def test_missing_index_names_the_command(embedder: Embedder, location: StoreLocation) -> None:
    with pytest.raises(IndexNotFoundError, match="coach index"):
        open_index(location, embedder.name, embedder.dimension)


def test_chunks_fit_the_model(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    long_section = "## Stappen\n" + "\n".join(
        f"{n}. Controleer de druk van de cv-ketel en noteer de waarde in WerkbonApp bij stap {n}."
        for n in range(1, 80)
    )
    corpus.write("proc-long", long_section)
    indexer = Indexer(embedder, location)
    indexer.run(corpus.root)
    chunks = indexer.open_store().get_chunks()
    assert len(chunks) > 3
    from coach.ingest.chunking import Chunk, embedding_text

    for chunk in chunks:
        text = embedding_text("Proc long", Chunk("proc-long", 0, chunk.text, ("Stappen",)))
        assert len(embedder.tokenize(text)) + 2 <= embedder.max_tokens
    joined = " ".join(chunk.text for chunk in chunks)
    assert "stap 1." in joined and "stap 79." in joined


def test_advice_items_are_stored_once_each_even_where_chunks_overlap(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    # Thirty long steps: the section is split into overlapping chunks, but every step is one
    # item, numbered as in the document, in clean text.
    steps = "\n".join(
        f"{n}. Stap {n}: controleer **onderdeel {n}** en noteer het serienummer in Topdesk, "
        "zodat de planner het later terugvindt bij een volgende melding van dezelfde klant."
        for n in range(1, 31)
    )
    corpus.write("proc-lang", f"Een lange procedure.\n\n## Stappen\n{steps}\n", type_="procedure")
    Indexer(embedder, location).run(corpus.root)
    store = open_index(location, embedder.name, embedder.dimension)
    records = store.get_chunks(where={"doc_id": "proc-lang"})
    chunks = [r for r in records if r.metadata.get("record") != ITEM_RECORD]
    items = [r for r in records if r.metadata.get("record") == ITEM_RECORD]
    assert len(chunks) > 1  # the section really was split
    assert sorted(int(i.metadata["item_step"]) for i in items) == list(range(1, 31))
    assert len({i.text for i in items}) == 30
    assert all("**" not in i.text for i in items)
    consistent(store)
