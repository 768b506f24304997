"""What a writer saves beside a segment's Chroma database before publishing it: the table of
its records (`coach.index.tables`), and its facts (the embedder that built it, its manifest and
its count of records), written last, so a segment whose facts are there has all its files.
A reader gets a segment's manifest and count from them without opening its database (and
keeps them: `coach.index.layers`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from coach.atomic import write_atomic
from coach.index.records import ManifestEntry
from coach.index.store import ChunkStore
from coach.index.tables import RecordTable

FACTS_FILE = "segment.json"


@dataclass(frozen=True)
class SegmentFacts:
    """What a segment is without its records: the embedder that built it, its manifest
    (tombstones included) and how many records it stores."""

    embedder: str
    dimension: int
    manifest: dict[str, ManifestEntry]
    count: int


def save_segment(
    folder: Path,
    store: ChunkStore,
    embedder: str,
    dimension: int,
    parts: list[tuple[RecordTable, NDArray[np.bool_]]] | None = None,
    *,
    table: RecordTable | None = None,
) -> None:
    """Save a segment's files beside its database before it is published: its table (`table`,
    made from the records as written; joined from `parts` for a merge; else read back from the
    segment), then its facts (the embedder, manifest and count), which say that the files are
    complete."""
    if table is None:
        table = (
            RecordTable.join(parts) if parts is not None else RecordTable.build(*store.snapshot())
        )
    table.save(folder)
    manifest = store.manifest()
    facts = {
        "embedder": embedder,
        "dimension": dimension,
        "count": store.chunk_count(),
        "manifest": {d: [e.content_hash, e.n_chunks, e.path] for d, e in manifest.items()},
    }
    write_atomic(folder / FACTS_FILE, json.dumps(facts, ensure_ascii=False).encode())


def read_facts(folder: Path) -> SegmentFacts | None:
    """The facts saved in `folder`; None when it has none (a segment written before them)."""
    try:
        saved = json.loads((folder / FACTS_FILE).read_bytes())
    except FileNotFoundError:
        return None
    manifest = {
        doc_id: ManifestEntry(doc_id, str(content_hash), int(chunks), str(path))
        for doc_id, (content_hash, chunks, path) in saved["manifest"].items()
    }
    return SegmentFacts(
        str(saved["embedder"]), int(saved["dimension"]), manifest, int(saved["count"])
    )
