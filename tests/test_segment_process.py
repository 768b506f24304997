"""A large run's segment is written by a process of its own (`coach.index.segment_process`):
the index it publishes is the one a run writing in place publishes, its table made from the
records written equals one read back, and its errors reach the run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from coach.errors import StoreUnavailableError
from coach.index import segment_process
from coach.index.generations import Generations
from coach.index.indexer import Indexer
from coach.index.layers import open_index
from coach.index.records import ChunkRecord, ManifestEntry, StoreLocation
from coach.index.segment_files import read_facts
from coach.index.segment_process import SegmentProcess
from coach.index.tables import RecordTable
from coach.testing import HashingEmbedder

REPO = Path(__file__).resolve().parents[1]


def _view(location: StoreLocation, embedder: HashingEmbedder) -> dict[str, object]:
    """What the published index holds, row order aside: each counted record's text, metadata
    and BM25 terms, its vector (in `vectors`), and each segment's facts."""
    store = open_index(location, embedder.name, embedder.dimension)
    try:
        records: dict[str, object] = {}
        vectors: dict[str, np.ndarray] = {}
        for table, counted in store.tables():
            terms = table.counts.tocsr()
            for row in np.flatnonzero(counted):
                found = terms[[row], :].tocoo()
                counts = zip(found.col, found.data, strict=True)
                records[table.ids[row]] = (
                    table.texts[row],
                    table.metadatas[row],
                    sorted((table.vocabulary[column], float(n)) for column, n in counts),
                )
                vectors[table.ids[row]] = np.asarray(table.vectors[row])
        assert location.path is not None
        facts = [read_facts(folder) for folder in Generations(location.path).segments()]
        return {
            "records": records,
            "facts": [(f.manifest, f.count) for f in facts if f],
            "vectors": vectors,
        }
    finally:
        store.close()


def _same(one: dict[str, object], other: dict[str, object]) -> bool:
    """The same index: equal records and facts, and vectors equal to float32 rounding."""
    mine, theirs = one["vectors"], other["vectors"]
    assert isinstance(mine, dict) and isinstance(theirs, dict)
    return (
        (one["records"], one["facts"]) == (other["records"], other["facts"])
        and mine.keys() == theirs.keys()
        and all(np.allclose(mine[key], theirs[key], atol=1e-6) for key in mine)
    )


def test_a_segment_written_by_a_process_is_the_one_written_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    embedder = HashingEmbedder()
    here = StoreLocation(collection="coach", path=tmp_path / "here")
    apart = StoreLocation(collection="coach", path=tmp_path / "apart")
    Indexer(embedder, here).run(corpus)
    monkeypatch.setattr(segment_process, "PROCESS_FROM", 1)
    Indexer(embedder, apart).run(corpus)
    first = _view(here, embedder)
    assert first["records"] and _same(_view(apart, embedder), first)

    # A second run: one document changed, one removed, one added; both ways again.
    lessons = sorted(corpus.rglob("les-*.md"))
    changed, removed = lessons[0], lessons[1]
    changed.write_text(changed.read_text() + "\nEen extra regel met kwartelkoning.\n")
    removed.unlink()
    shutil.copyfile(lessons[2], lessons[2].with_name("les-copy-of-a-lesson.md"))
    copy = lessons[2].with_name("les-copy-of-a-lesson.md")
    copy.write_text(copy.read_text().replace(f"id: {lessons[2].stem}", "id: les-copy-of-a-lesson"))
    monkeypatch.setattr(segment_process, "PROCESS_FROM", 10**6)
    in_place = Indexer(embedder, here).run(corpus)
    monkeypatch.setattr(segment_process, "PROCESS_FROM", 1)
    by_process = Indexer(embedder, apart).run(corpus)
    assert by_process.counts() == in_place.counts()
    assert in_place.counts()["added"] == 1 and in_place.counts()["updated"] == 1
    assert in_place.counts()["removed"] == 1
    second = _view(here, embedder)
    assert not _same(second, first) and _same(_view(apart, embedder), second)


def test_the_table_made_from_the_records_written_is_the_one_read_back(tmp_path: Path) -> None:
    """The process's side, here: after writes, a commit and dropped older versions, its table
    comes from the records it kept, and equals the one read back from Chroma."""
    location = StoreLocation(collection="coach", path=tmp_path / "index")
    writer = segment_process._Writer(location, tmp_path / "segment", "test-embedder", 3)
    records = [
        ChunkRecord(
            f"doc-{d}:v{v}:{i}",
            f"tekst {d} {v} {i}",
            [1.0, float(i), float(v)],
            {"doc_id": f"doc-{d}", "content_hash": f"v{v}", "language": "nl"},  # type: ignore[typeddict-item]
        )
        for d in range(3)
        for v in (1, 2)
        for i in range(2)
    ]
    try:
        writer.write_chunks(records)
        writer.commit([ManifestEntry(f"doc-{d}", "v2", 2, "") for d in range(3)])
        for d in range(3):
            writer.drop_stale_chunks(f"doc-{d}", keep_hash="v2")
        writer.drop_stale_chunks("doc-2", keep_hash=None)  # and one document gone
        writer.commit([ManifestEntry("doc-2", "v3", 0, "")])
        made = writer._table()
        read_back = RecordTable.build(*writer.store.snapshot())
    finally:
        writer.close()
    assert made is not None, "the records kept no longer matched the segment"
    kept = sorted(r.id for r in records if ":v2:" in r.id and not r.id.startswith("doc-2"))
    assert sorted(made.ids) == sorted(read_back.ids) == kept
    order, again = np.argsort(made.ids), np.argsort(read_back.ids)
    assert np.allclose(made.vectors[order], read_back.vectors[again])
    assert [made.metadatas[i] for i in order] == [read_back.metadatas[i] for i in again]


def test_a_failed_write_reaches_the_run_and_only_a_new_segment_is_taken(tmp_path: Path) -> None:
    location = StoreLocation(collection="coach", path=tmp_path / "index")
    folder = tmp_path / "segment"
    segment = SegmentProcess(location, folder, "test-embedder", 3)
    try:
        assert segment.chunk_count() == 0 and not segment.modified  # new: empty
        bad: Any = {"doc_id": "doc", "nested": {"not": "flat"}}  # Chroma takes flat metadata
        segment.write_chunks([ChunkRecord("doc:v:0", "tekst", [1.0, 0.0, 0.0], bad)])
        with pytest.raises(Exception, match=r"(?i)metadata|nested|value"):
            segment.chunk_count()
    finally:
        segment.close()
    assert folder.exists()
    with pytest.raises(ValueError, match="not a new segment"):
        SegmentProcess(location, folder, "test-embedder", 3)


def test_a_segment_that_does_not_close_cleanly_is_not_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A segment process that has not closed its database when the wait ends is killed: its
    database may be half-written, so the run fails, publishes nothing and leaves no folder, and
    the index answers as before. (No wait at all: the process cannot have closed by then.)"""
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    embedder = HashingEmbedder()
    location = StoreLocation(collection="coach", path=tmp_path / "index")
    Indexer(embedder, location).run(corpus)
    assert location.path is not None
    published, before = Generations(location.path).segments(), _view(location, embedder)
    lesson = sorted(corpus.rglob("les-*.md"))[0]
    lesson.write_text(lesson.read_text() + "\nEen extra regel met kwartelkoning.\n")

    monkeypatch.setattr(segment_process, "PROCESS_FROM", 1)
    monkeypatch.setattr(segment_process, "CLOSE_TIMEOUT", 0.0)
    with pytest.raises(StoreUnavailableError, match=r"did not close .* nothing of this run was"):
        Indexer(embedder, location).run(corpus)
    assert Generations(location.path).segments() == published
    assert sorted(location.path.glob("gen-*")) == sorted(published)  # the segment discarded
    assert _same(_view(location, embedder), before)
    store = open_index(location, embedder.name, embedder.dimension)
    try:
        assert not any("kwartelkoning" in hit.text for hit in store.get_chunks())
    finally:
        store.close()

    # Given the time to close, the same run publishes the change.
    monkeypatch.setattr(segment_process, "CLOSE_TIMEOUT", 60.0)
    assert Indexer(embedder, location).run(corpus).counts()["updated"] == 1
    store = open_index(location, embedder.name, embedder.dimension)
    try:
        assert any("kwartelkoning" in hit.text for hit in store.get_chunks())
    finally:
        store.close()
