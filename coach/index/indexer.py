"""Incremental indexing: bring the store in step with the corpus, embedding only what changed."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from coach.errors import CorpusError, IndexNotFoundError, Problem
from coach.index.chroma import import_chroma
from coach.index.embedders import Embedder
from coach.index.layers import LayeredStore, open_index
from coach.index.protocol import ChunkWriter
from coach.index.records import (
    ChunkRecord,
    ManifestEntry,
    StoreLocation,
    chunk_id,
    document_metadata,
)
from coach.index.segment_process import writes_in_process
from coach.index.store import ChunkStore
from coach.index.units import ChunkerRecipe, each_with_units
from coach.index.writing import open_writer
from coach.ingest.chunking import Chunker
from coach.ingest.corpus import CorpusScan, Document
from coach.ingest.reader import CorpusReader

# Documents are embedded in groups of about this many chunks: large enough for the model to
# sort a group by length and batch it with little padding, small enough that an interrupted
# run loses under a minute of work.
GROUP_CHUNKS = 1024

T = TypeVar("T")
U = TypeVar("U")

# Besides its chunks, every document's advice items are embedded (records with `record: item`,
# numbered from ITEM_INDEX), so that a request ranks items by their own fit and embeds nothing
# but the situation. INDEX_FORMAT is part of each version's hash: an index written before items
# existed is brought up to date by the next run, document by document.
INDEX_FORMAT = "chunks+advice-items/2"


def indexed_hash(document: Document) -> str:
    """The version of a document as this code indexes it: its content and the index format."""
    digest = hashlib.sha256(f"{document.content_hash}:{INDEX_FORMAT}".encode()).hexdigest()
    return digest[: max(len(document.content_hash), 16)]


ProgressCallback = Callable[[int, int], None]
"""Called with (documents embedded so far, documents to embed in this run)."""


@dataclass
class IndexReport:
    """What one indexing run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    inactive: list[str] = field(default_factory=list)  # draft or retired: kept out of the index
    skipped: list[Problem] = field(default_factory=list)  # problems of invalid files
    chunks_embedded: int = 0
    repaired_chunks: int = 0
    seconds_embedding: float = 0.0

    @property
    def skipped_files(self) -> list[str]:
        return sorted({problem.path for problem in self.skipped})

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "removed": len(self.removed),
            "unchanged": len(self.unchanged),
            "skipped": len(self.skipped_files),
            "inactive": len(self.inactive),
        }


class Indexer:
    """Syncs one store with one corpus folder. The embedder is loaded once and reused."""

    def __init__(
        self,
        embedder: Embedder,
        location: StoreLocation,
        chunk_tokens: int = 0,
        group_chunks: int = GROUP_CHUNKS,
    ) -> None:
        self.embedder = embedder
        self.location = location
        self.group_chunks = group_chunks
        max_tokens = min(chunk_tokens, embedder.max_tokens) if chunk_tokens else embedder.max_tokens
        self.chunker = Chunker(embedder.tokenize, max_tokens)
        self._recipe = ChunkerRecipe.of(embedder.name, max_tokens)
        self._readers: dict[Path, CorpusReader] = {}
        # Merge due segments behind the run (`coach.index.writing.merge_behind`), not in it:
        # what a server does, so that a curator's save never waits for a merge.
        self.merge_behind = False

    def reader(self, corpus_dir: Path) -> CorpusReader:
        """The reader of `corpus_dir`, kept across runs: a run parses only changed files."""
        key = corpus_dir.resolve()
        if key not in self._readers:
            self._readers[key] = CorpusReader(corpus_dir)
        return self._readers[key]

    def warm(self) -> None:
        """Load what a first write needs (the chunker's parsers, the tokenizer, Chroma), so a
        server's first save waits for none of it (measured at 10,000 documents: the first two
        saves took 3.8 and 3.6 s, the others about 1 s)."""
        self.chunker.warm()
        import_chroma()

    def open_store(self) -> ChunkStore | LayeredStore:
        """The published index, for reading."""
        return open_index(self.location, self.embedder.name, self.embedder.dimension)

    def run(
        self,
        corpus_dir: Path,
        *,
        strict: bool = False,
        rebuild: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IndexReport:
        """Index `corpus_dir`. With `strict`, any invalid file refuses the whole run."""
        scan = self.reader(corpus_dir).scan()
        if strict and scan.problems:
            raise CorpusError(
                f"{len(scan.invalid)} invalid file(s) in {corpus_dir}; nothing was indexed "
                "(--strict). Fix them (see `coach lint`) or run without --strict.",
                scan.problems,
            )
        plan: _Plan | None = None
        if not rebuild:
            # Decide on the published index first: a run with nothing to write (a draft saved,
            # nothing changed) opens no writer, so it copies and publishes nothing.
            try:
                with closing(self.open_store()) as published:
                    plan = _plan(published, scan)
            except IndexNotFoundError:
                plan = None
            if plan is not None and plan.is_empty:
                return plan.report(scan)
        # What the run will write, as far as can be told before the writers' lock: a large
        # run's segment is written by a process of its own (`coach.index.segment_process`).
        writing = len(plan.changed) if plan else sum(d.is_active for d in scan.documents)
        with open_writer(
            self.location,
            self.embedder.name,
            self.embedder.dimension,
            rebuild=rebuild,
            behind=self.merge_behind,
            in_process=writes_in_process(writing),
        ) as store:
            plan = _plan(store, scan)  # again, under the writers' lock: the index may have moved
            report = plan.report(scan)
            if plan.repair:
                report.repaired_chunks = store.sweep(plan.manifest)
            store.remove_documents(plan.gone)
            self.embed_and_commit(store, plan.changed, plan.manifest, report, progress)
        return report

    def embed_and_commit(
        self,
        store: ChunkWriter,
        documents: Sequence[Document],
        manifest: dict[str, ManifestEntry] | None = None,
        report: IndexReport | None = None,
        progress: ProgressCallback | None = None,
    ) -> IndexReport:
        """Embed these documents' chunks and advice items and write them to `store`, a group at
        a time: records, then the manifest entries that publish them, then older versions'
        records dropped. The one place where a document becomes index records."""
        manifest = manifest if manifest is not None else {}
        report = report if report is not None else IndexReport()
        versions = {document.id: indexed_hash(document) for document in documents}
        done = 0
        if progress:
            progress(0, len(documents))
        # A large run makes its units ahead in a process of its own (`coach.index.units`), and
        # its store, then, is a process of its own too (`coach.index.segment_process`): this
        # process only embeds. (Writing in a thread gained nothing: the interpreter lock.)
        with closing(each_with_units(documents, self.chunker, self._recipe)) as made:
            for group in _groups(made, self.group_chunks):
                texts = [unit.embed for _document, units in group for unit in units]
                started = time.perf_counter()
                vectors = iter(self.embedder.embed_passages(texts))
                report.seconds_embedding += time.perf_counter() - started
                records: list[ChunkRecord] = []
                for document, units in group:
                    version = versions[document.id]
                    base = document_metadata(document)
                    records += [
                        ChunkRecord(
                            id=chunk_id(document.id, version, unit.index),
                            text=unit.text,
                            embedding=next(vectors),
                            metadata={**base, "content_hash": version, **unit.metadata},
                        )
                        for unit in units
                    ]
                entries = [
                    ManifestEntry(document.id, versions[document.id], len(units), document.path)
                    for document, units in group
                ]
                _write(store, records, entries, manifest)
                for document, _units in group:
                    (report.updated if document.id in manifest else report.added).append(
                        document.id
                    )
                report.chunks_embedded += len(texts)
                done += len(group)
                if progress:
                    progress(done, len(documents))
        return report


def _write(
    store: ChunkWriter,
    records: list[ChunkRecord],
    entries: list[ManifestEntry],
    manifest: dict[str, ManifestEntry],
) -> None:
    """A group into the store: its records, then the manifest entries that publish them, then
    the records of the versions they replace."""
    store.write_chunks(records)
    store.commit(entries)
    for entry in entries:
        if entry.doc_id in manifest:
            store.drop_stale_chunks(entry.doc_id, keep_hash=entry.content_hash)


def _groups(items: Iterable[tuple[T, list[U]]], size: int) -> Iterator[list[tuple[T, list[U]]]]:
    """Consecutive items grouped so that each group holds at least `size` records (bar the last)."""
    current: list[tuple[T, list[U]]] = []
    count = 0
    for item in items:
        current.append(item)
        count += len(item[1])
        if count >= size:
            yield current
            current, count = [], 0
    if current:
        yield current


@dataclass
class _Plan:
    """What a run must do to bring an index in step with a corpus scan."""

    manifest: dict[str, ManifestEntry]
    changed: list[Document]
    gone: list[str]
    unchanged: list[str]
    inactive: list[str]
    repair: bool  # chunks that no manifest entry accounts for (a crashed writer's leftovers)

    @property
    def is_empty(self) -> bool:
        return not (self.changed or self.gone or self.repair)

    def report(self, scan: CorpusScan) -> IndexReport:
        return IndexReport(
            removed=list(self.gone),
            unchanged=list(self.unchanged),
            inactive=list(self.inactive),
            skipped=list(scan.problems),
        )


def _plan(store: ChunkStore | LayeredStore, scan: CorpusScan) -> _Plan:
    manifest = store.manifest()
    repair = store.chunk_count() != sum(entry.n_chunks for entry in manifest.values())
    # An invalid file keeps its last good version in the index: a typo must not make a
    # document vanish. It is reported as skipped, and the exit code says so.
    protected = {parsed.doc_id for parsed in scan.invalid if parsed.doc_id}
    wanted = {document.id: document for document in scan.documents if document.is_active}
    inactive = [document.id for document in scan.documents if not document.is_active]
    changed: list[Document] = []
    unchanged: list[str] = []
    for doc_id, document in sorted(wanted.items()):
        entry = manifest.get(doc_id)
        if entry is not None and entry.content_hash == indexed_hash(document):
            unchanged.append(doc_id)
        else:
            changed.append(document)
    gone = sorted(set(manifest) - set(wanted) - protected)
    return _Plan(manifest, changed, gone, unchanged, inactive, repair)
