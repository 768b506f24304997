"""What a writer saves beside a segment's Chroma database before publishing it: the table of
its records (`coach.index.tables`), and its facts (the embedder that built it, its manifest and
its count of records), written last, so a segment whose facts are there has all its files.
A reader gets a segment's manifest and count from them without opening its database."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from coach.atomic import write_atomic
from coach.index.records import ManifestEntry
from coach.index.store import ChunkStore
from coach.index.tables import RecordTable

FACTS_FILE = "segment.json"
_KEPT = 32  # segments whose facts a process keeps
_read: OrderedDict[Path, dict[str, Any]] = OrderedDict()


def save_segment(
    folder: Path,
    store: ChunkStore,
    embedder: str,
    dimension: int,
    parts: list[tuple[RecordTable, NDArray[np.bool_]]] | None = None,
) -> None:
    """Save a segment's files beside its database before it is published: its table (joined
    from `parts` for a merge, else read back from the segment), then its facts (the embedder,
    manifest and count), which say that the files are complete."""
    table = RecordTable.join(parts) if parts is not None else RecordTable.build(*store.snapshot())
    table.save(folder)
    manifest = store.manifest()
    facts = {
        "embedder": embedder,
        "dimension": dimension,
        "count": store.chunk_count(),
        "manifest": {d: [e.content_hash, e.n_chunks, e.path] for d, e in manifest.items()},
    }
    write_atomic(folder / FACTS_FILE, json.dumps(facts, ensure_ascii=False).encode())


def read_facts(folder: Path) -> dict[str, Any] | None:
    """A segment's facts, None when it has none; read once per process (a segment's files
    never change once written, and a folder's name is never used again)."""
    facts = _read.get(folder)
    if facts is None:
        try:
            facts = json.loads((folder / FACTS_FILE).read_bytes())
        except FileNotFoundError:
            return None
        _read[folder] = facts
        while len(_read) > _KEPT:
            _read.popitem(last=False)
    _read.move_to_end(folder)
    return facts


def manifest_entries(saved: dict[str, list[Any]]) -> dict[str, ManifestEntry]:
    return {d: ManifestEntry(d, str(h), int(n), str(p)) for d, (h, n, p) in saved.items()}
