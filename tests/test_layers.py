"""The embedded index in segments: a writing run adds a segment holding only what it changed
and never writes a published one; readers see each document once, in its newest version;
removed documents stay gone; segments are merged when they pile up or outweigh the base, with
the same index afterwards; a reader reads a published segment's table once, from the files
the writer saved beside it, not from Chroma."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest

from coach.index import layers, writing
from coach.index import store as store_module
from coach.index.embedders import Embedder
from coach.index.generations import Generations
from coach.index.indexer import Indexer
from coach.index.layers import LayeredStore, open_index
from coach.index.records import StoreLocation
from coach.index.segment_files import FACTS_FILE, read_facts
from coach.index.store import ChunkStore
from coach.index.tables import RECORDS_FILE, TERMS_FILE, VECTORS_FILE, RecordTable
from tests.conftest import CorpusBuilder
from tests.test_indexing import consistent

STEPS = "## Stappen\n1. Bel de klant terug binnen {n} uur.\n2. Noteer het in TOPdesk.\n"


def write_corpus(corpus: CorpusBuilder, documents: int) -> None:
    for number in range(documents):
        corpus.write(f"proc-{number:03d}", STEPS.format(n=number), title=f"Procedure {number}")


def indexed(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation, documents: int
) -> Indexer:
    """An indexer that has indexed a corpus of `documents` procedures."""
    write_corpus(corpus, documents)
    indexer = Indexer(embedder, location)
    indexer.run(corpus.root)
    return indexer


@pytest.fixture
def location(tmp_path: Path) -> StoreLocation:
    return StoreLocation(collection="coach", path=tmp_path / "index")


def segments(location: StoreLocation) -> list[Path]:
    assert location.path is not None
    return Generations(location.path).segments()


def opened(location: StoreLocation, embedder: Embedder) -> LayeredStore:
    store = open_index(location, embedder.name, embedder.dimension)
    assert isinstance(store, LayeredStore)
    return store


def held(location: StoreLocation, embedder: Embedder, folder: Path) -> dict[str, object]:
    """What one segment holds: its manifest and chunk ids. (Its files are no measure: Chroma
    rewrites some of them whenever a reader opens the database, as it always did.)"""
    store = ChunkStore.open(location, embedder.name, embedder.dimension, folder)
    try:
        return {"manifest": store.manifest(), "chunks": sorted(h.id for h in store.get_chunks())}
    finally:
        store.close()


def save_four(corpus: CorpusBuilder, indexer: Indexer) -> None:
    """Four curator's saves of one small document each, each its own run."""
    for number in range(4):
        corpus.write(f"proc-{number:03d}", STEPS.format(n=f"x{number}"), title="Snel")
        indexer.run(corpus.root)


def size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_a_change_adds_a_segment_with_only_that_document_and_leaves_the_base_alone(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    indexer = indexed(corpus, embedder, location, 30)
    [base] = segments(location)
    before = held(location, embedder, base)

    corpus.write("proc-007", STEPS.format(n="zeven") + "3. Bel ook de monteur.\n", title="Zeven")
    assert indexer.run(corpus.root).updated == ["proc-007"]
    now = segments(location)
    assert now[0] == base and len(now) == 2
    assert held(location, embedder, base) == before  # the published segment was not written
    assert size(now[1]) < size(base) / 2  # the run wrote one document, not a copy of all
    store = opened(location, embedder)
    try:
        newest = store.segments[-1]
        assert set(newest.manifest()) == {"proc-007"}
        assert newest.chunk_count() == store.manifest()["proc-007"].n_chunks
        consistent(store)  # every document once, with exactly its own chunks
        texts = [hit.text for hit in store.get_chunks({"doc_id": "proc-007"})]
        assert any("monteur" in text for text in texts)
        assert not any("binnen 7 uur" in text for text in texts)
        hits, matrix = store.snapshot()
        assert len(hits) == matrix.shape[0] == store.chunk_count()
        assert len({hit.id for hit in hits}) == len(hits)
    finally:
        store.close()


def test_a_version_that_comes_back_and_a_removed_document_are_seen_once_and_gone(
    corpus: CorpusBuilder,
    embedder: Embedder,
    location: StoreLocation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writing, "MERGE_RATIO", 0.0)  # four segments read as one, unmerged
    indexer = indexed(corpus, embedder, location, 10)
    original = (corpus.root / "docs" / "proc-003.md").read_text(encoding="utf-8")
    corpus.write("proc-003", "## Anders\nEen andere tekst.\n", title="Procedure 3")
    indexer.run(corpus.root)
    (corpus.root / "docs" / "proc-003.md").write_text(original, encoding="utf-8")
    indexer.run(corpus.root)  # back to the version the base holds: a third segment has it
    (corpus.root / "docs" / "proc-005.md").unlink()
    assert indexer.run(corpus.root).removed == ["proc-005"]
    assert len(segments(location)) == 4

    store = opened(location, embedder)
    try:
        consistent(store)
        assert "proc-005" not in store.manifest()
        assert store.get_chunks({"doc_id": "proc-005"}) == []
        query = embedder.embed_query("Bel de klant terug binnen 3 uur")
        hits = store.query(query, k=20)
        assert "proc-005" not in {hit.doc_id for hit in hits}
        assert len({hit.id for hit in hits}) == len(hits)  # no record twice
        version = store.manifest()["proc-003"].content_hash
        assert {h.metadata["content_hash"] for h in hits if h.doc_id == "proc-003"} == {version}
        assert [h.distance for h in hits] == sorted(h.distance for h in hits)
    finally:
        store.close()
    assert indexer.run(corpus.root).chunks_embedded == 0  # nothing left to do


def test_segments_are_merged_when_they_pile_up_or_outweigh_the_base(
    corpus: CorpusBuilder,
    embedder: Embedder,
    location: StoreLocation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writing, "MAX_SEGMENTS", 3)
    indexer = indexed(corpus, embedder, location, 40)
    base = segments(location)[0]
    for number in range(4):  # four small changes: past three segments the newer ones merge
        corpus.write(f"proc-{number:03d}", STEPS.format(n=f"v{number}"), title="Nieuw")
        indexer.run(corpus.root)
    (corpus.root / "docs" / "proc-039.md").unlink()
    indexer.run(corpus.root)
    now = segments(location)
    assert now[0] == base and len(now) <= 3
    store = opened(location, embedder)
    try:
        consistent(store)
        manifest = store.manifest()
        assert len(manifest) == 39 and "proc-039" not in manifest
        merged = {doc for segment in store.segments[1:] for doc in segment.manifest()}
        assert {"proc-000", "proc-001", "proc-002", "proc-003"} <= merged
    finally:
        store.close()

    for number in range(10, 30):  # half the base changes: all of it becomes one new base
        corpus.write(f"proc-{number:03d}", STEPS.format(n=f"w{number}"), title="Anders")
    indexer.run(corpus.root)
    [single] = segments(location)
    assert single != base
    store = opened(location, embedder)
    try:
        consistent(store)
        assert len(store.manifest()) == 39
        assert all(entry.content_hash for entry in store.manifest().values())  # no tombstones
    finally:
        store.close()
    assert location.path is not None
    assert len(list(location.path.glob("gen-*"))) <= 1 + len(now)  # merged-away ones pruned


def test_a_reader_reads_a_published_segments_table_once(
    corpus: CorpusBuilder,
    embedder: Embedder,
    location: StoreLocation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writing, "MAX_SEGMENTS", 2)
    indexer = indexed(corpus, embedder, location, 20)
    first = opened(location, embedder)
    first.snapshot()
    first.close()
    [base] = segments(location)
    cached = layers._tables[base]
    corpus.write("proc-001", STEPS.format(n="een"), title="Een")
    indexer.run(corpus.root)
    again = opened(location, embedder)
    try:
        hits, _matrix = again.snapshot()
        assert layers._tables[base] is cached  # the base was not read again
        assert len(hits) == again.chunk_count()
        assert any("binnen een uur" in hit.text for hit in hits)
    finally:
        again.close()
    for number in (2, 3):  # the newer segments merge: the base stays, and stays read
        corpus.write(f"proc-{number:03d}", STEPS.format(n=f"v{number}"), title="Nieuw")
        indexer.run(corpus.root)
    assert segments(location)[0] == base and len(segments(location)) == 2
    merged = opened(location, embedder)
    try:
        merged.snapshot()
        assert layers._tables[base] is cached
        consistent(merged)
    finally:
        merged.close()


def test_a_run_parses_only_the_files_that_changed_since_the_last(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    write_corpus(corpus, 20)
    for path in corpus.root.rglob("*.md"):  # settled: older than a timestamp tick can hide
        os.utime(path, ns=(time.time_ns() - 10**10, time.time_ns() - 10**10))
    indexer = Indexer(embedder, location)
    indexer.run(corpus.root)
    reader = indexer.reader(corpus.root)
    assert reader.parsed == 20
    assert indexer.run(corpus.root).chunks_embedded == 0
    assert reader.parsed == 20  # nothing changed: nothing parsed again
    corpus.write("proc-004", STEPS.format(n="vier"), title="Vier")
    assert indexer.run(corpus.root).updated == ["proc-004"]
    assert reader.parsed == 21


def test_whole_collections_are_read_page_by_page(
    corpus: CorpusBuilder,
    embedder: Embedder,
    location: StoreLocation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_corpus(corpus, 12)
    Indexer(embedder, location).run(corpus.root)
    whole = opened(location, embedder)
    try:
        expected = sorted(hit.id for hit in whole.get_chunks())
    finally:
        whole.close()
    layers._tables.clear()
    layers._facts.clear()
    monkeypatch.setattr(store_module, "GET_PAGE", 5)  # Chroma refuses one read of a big one
    paged = opened(location, embedder)
    try:
        assert sorted(hit.id for hit in paged.get_chunks()) == expected
        hits, matrix = paged.snapshot()
        assert sorted(hit.id for hit in hits) == expected and matrix.shape[0] == len(expected)
        assert len(paged.manifest()) == 12
        consistent(paged)
    finally:
        paged.close()


def test_each_segment_carries_its_files_and_a_reader_uses_them_instead_of_chroma(
    corpus: CorpusBuilder,
    embedder: Embedder,
    location: StoreLocation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    indexer = indexed(corpus, embedder, location, 12)
    corpus.write("proc-003", STEPS.format(n="drie"), title="Drie")
    indexer.run(corpus.root)
    folders = segments(location)
    assert len(folders) == 2
    store = opened(location, embedder)
    try:
        expected = sorted(hit.id for hit in store.get_chunks())
    finally:
        store.close()
    for folder in folders:
        table = RecordTable.load(folder)
        assert table is not None and table.vectors.shape[1] == embedder.dimension
        held_ids = held(location, embedder, folder)["chunks"]
        assert sorted(table.ids) == held_ids  # the table holds the segment's committed records
    layers._tables.clear()
    layers._facts.clear()

    def no_chroma(*args: object, **kwargs: object) -> None:
        raise AssertionError("a reader opened a segment's Chroma database")

    monkeypatch.setattr(ChunkStore, "open", no_chroma)
    reader = opened(location, embedder)
    try:
        assert len(reader.manifest()) == 12 and reader.chunk_count() == len(expected)
        hits, matrix = reader.snapshot()
        assert sorted(hit.id for hit in hits) == expected
        assert matrix.shape == (len(expected), embedder.dimension)
        assert any("binnen drie uur" in hit.text for hit in hits)
    finally:
        reader.close()


def test_an_index_from_before_the_tables_is_read_from_chroma_and_merged_into_one_with_a_table(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    indexer = indexed(corpus, embedder, location, 12)
    [old] = segments(location)
    for name in (TERMS_FILE, RECORDS_FILE, VECTORS_FILE, FACTS_FILE):  # as written before them
        (old / name).unlink()
    layers._tables.clear()
    reader = opened(location, embedder)
    try:
        assert len(reader.snapshot()[0]) == reader.chunk_count() > 0
    finally:
        reader.close()
    corpus.write("proc-005", STEPS.format(n="vijf"), title="Vijf")
    assert indexer.run(corpus.root).updated == ["proc-005"]
    [base] = segments(location)  # all merged into a new base, with its table
    assert base != old
    table = RecordTable.load(base)
    assert table is not None
    assert sorted(table.ids) == held(location, embedder, base)["chunks"]
    assert any("binnen vijf uur" in text for text in table.texts)


def test_a_merge_behind_keeps_what_was_saved_while_it_ran(
    corpus: CorpusBuilder,
    embedder: Embedder,
    location: StoreLocation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writing, "MERGE_RATIO", 0.0)  # the saves here merge nothing themselves
    indexer = indexed(corpus, embedder, location, 12)
    assert location.path is not None
    generations = Generations(location.path)
    for number in (1, 2):
        corpus.write(f"proc-{number:03d}", STEPS.format(n=f"v{number}"), title="Nieuw")
        indexer.run(corpus.root)
    base, *_ = before = segments(location)
    with generations.merging() as mine:  # as the merge behind a server's writers holds it
        assert mine
        prepared = writing.prepare_merge(
            generations, location, embedder.name, embedder.dimension, start=1
        )
        assert prepared is not None and (prepared.staged / ".merging").exists()
        corpus.write("proc-001", STEPS.format(n="drie"), title="Weer anders")  # saved meanwhile
        (corpus.root / "docs" / "proc-007.md").unlink()  # and one removed
        indexer.run(corpus.root)
        meanwhile = segments(location)[len(before) :]
        assert len(meanwhile) == 1 and prepared.staged.is_dir()  # the save's prune spared it
        assert writing.splice(generations, prepared)
    assert segments(location) == [base, prepared.staged, *meanwhile]
    assert not (prepared.staged / ".merging").exists()
    store = opened(location, embedder)
    try:
        consistent(store)
        manifest = store.manifest()
        assert len(manifest) == 11 and "proc-007" not in manifest
        hits = store.get_chunks({"doc_id": "proc-001"})
        assert {hit.metadata["content_hash"] for hit in hits} == {manifest["proc-001"].content_hash}
        assert any("drie uur" in hit.text for hit in hits)  # the newer save decides
        assert any("v2 uur" in hit.text for hit in store.get_chunks({"doc_id": "proc-002"}))
    finally:
        store.close()
    assert indexer.run(corpus.root).chunks_embedded == 0


def test_a_merge_behind_gives_way_to_a_rebuild(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    indexer = indexed(corpus, embedder, location, 6)
    assert location.path is not None
    generations = Generations(location.path)
    corpus.write("proc-001", STEPS.format(n="een"), title="Een")
    indexer.run(corpus.root)
    with generations.merging():
        prepared = writing.prepare_merge(
            generations, location, embedder.name, embedder.dimension, start=0
        )
        assert prepared is not None
        indexer.run(corpus.root, rebuild=True)
        rebuilt = segments(location)
        assert not writing.splice(generations, prepared)
    assert segments(location) == rebuilt and not prepared.staged.exists()
    store = opened(location, embedder)
    try:
        consistent(store)
        assert len(store.manifest()) == 6
    finally:
        store.close()


def test_a_server_indexer_merges_behind_its_runs(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    indexer = indexed(corpus, embedder, location, 40)  # 4 saves stay under a quarter of it
    indexer.merge_behind = True
    base = segments(location)[0]
    save_four(corpus, indexer)  # equal small saves: due merges, each returns before them
    writing.wait_for_merges(timeout=120)
    now = segments(location)
    sizes = [facts.count for facts in map(read_facts, now) if facts is not None]
    assert now[0] == base and len(sizes) == len(now)
    assert 2 <= len(now) < 5  # merged behind; how far depends on when each merge ran
    assert writing._merge_from(sizes, full=False) is None  # and nothing due is left
    store = opened(location, embedder)
    try:
        consistent(store)
        merged = {doc for segment in store.segments[1:] for doc in segment.manifest()}
        assert {f"proc-{n:03d}" for n in range(4)} <= merged
    finally:
        store.close()
    assert indexer.run(corpus.root).chunks_embedded == 0


def test_while_a_merge_behind_waits_a_save_starts_no_other(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    """Each save that makes a merge due would start one; while one waits for the merge lock,
    it will merge what later saves made due too, so no other process is started."""
    indexer = indexed(corpus, embedder, location, 40)
    indexer.merge_behind = True
    assert location.path is not None
    with Generations(location.path).merging() as mine:  # another merge runs
        assert mine
        save_four(corpus, indexer)  # from the second save on, a merge is due
        started = [
            child
            for child in psutil.Process().children()
            if "spawn_main" in " ".join(child.cmdline())
        ]
        assert len(started) == 1, [child.cmdline() for child in started]
        assert len(segments(location)) == 5  # nothing merged while the lock is held
    writing.wait_for_merges(timeout=120)
    sizes = [facts.count for facts in map(read_facts, segments(location)) if facts is not None]
    assert len(sizes) < 5 and writing._merge_from(sizes, full=False) is None
    store = opened(location, embedder)
    try:
        consistent(store)
    finally:
        store.close()
