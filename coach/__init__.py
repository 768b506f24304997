"""A retrieval-augmented coach for learning while working.

Importing the package has no side effects and stays cheap: the public names below are loaded
on first use, so `coach lint` does not pay for importing the embedding and vector-store stacks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Chunk": "coach.ingest.chunking",
    "Chunker": "coach.ingest.chunking",
    "ChunkStore": "coach.index.store",
    "CoachError": "coach.errors",
    "ConfigurationError": "coach.errors",
    "CorpusError": "coach.errors",
    "CorpusScan": "coach.ingest.corpus",
    "DidacticQuestion": "coach.ingest.didactics",
    "Didactics": "coach.ingest.didactics",
    "Document": "coach.ingest.corpus",
    "Embedder": "coach.index.embedders",
    "EmbedderError": "coach.errors",
    "IndexMismatchError": "coach.errors",
    "IndexNotFoundError": "coach.errors",
    "IndexReport": "coach.index.indexer",
    "Indexer": "coach.index.indexer",
    "Problem": "coach.errors",
    "SearchIndexError": "coach.errors",
    "SentenceTransformerEmbedder": "coach.index.embedders",
    "Settings": "coach.settings",
    "StoreLocation": "coach.index.records",
    "StoreUnavailableError": "coach.errors",
    "lint_corpus": "coach.ingest.lint",
    "load_didactics": "coach.ingest.didactics",
    "make_embedder": "coach.index.embedders",
    "scan_corpus": "coach.ingest.corpus",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'coach' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


if TYPE_CHECKING:
    from coach.errors import (
        CoachError,
        ConfigurationError,
        CorpusError,
        EmbedderError,
        IndexMismatchError,
        IndexNotFoundError,
        SearchIndexError,
        StoreUnavailableError,
    )
    from coach.index.embedders import Embedder, SentenceTransformerEmbedder, make_embedder
    from coach.index.indexer import Indexer, IndexReport
    from coach.index.records import StoreLocation
    from coach.index.store import ChunkStore
    from coach.ingest.chunking import Chunk, Chunker
    from coach.ingest.corpus import CorpusScan, Document, scan_corpus
    from coach.ingest.didactics import DidacticQuestion, Didactics, load_didactics
    from coach.ingest.lint import lint_corpus
    from coach.settings import Settings
