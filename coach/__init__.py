"""A retrieval-augmented coach for learning while working.

Importing the package has no side effects and stays cheap: the public names below are loaded
on first use, so `coach lint` does not pay for importing the embedding and vector-store stacks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Chunk": "coach.chunking",
    "Chunker": "coach.chunking",
    "ChunkStore": "coach.store",
    "CoachError": "coach.errors",
    "ConfigurationError": "coach.errors",
    "CorpusError": "coach.errors",
    "CorpusScan": "coach.corpus",
    "DidacticQuestion": "coach.didactics",
    "Didactics": "coach.didactics",
    "Document": "coach.corpus",
    "Embedder": "coach.embedding",
    "EmbedderError": "coach.errors",
    "IndexMismatchError": "coach.errors",
    "IndexNotFoundError": "coach.errors",
    "IndexReport": "coach.indexing",
    "Indexer": "coach.indexing",
    "Problem": "coach.corpus",
    "SearchIndexError": "coach.errors",
    "SentenceTransformerEmbedder": "coach.embedding",
    "Settings": "coach.settings",
    "StoreLocation": "coach.store",
    "StoreUnavailableError": "coach.errors",
    "lint_corpus": "coach.lint",
    "load_didactics": "coach.didactics",
    "make_embedder": "coach.embedding",
    "scan_corpus": "coach.corpus",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'coach' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


if TYPE_CHECKING:
    from coach.chunking import Chunk, Chunker
    from coach.corpus import CorpusScan, Document, Problem, scan_corpus
    from coach.didactics import DidacticQuestion, Didactics, load_didactics
    from coach.embedding import Embedder, SentenceTransformerEmbedder, make_embedder
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
    from coach.indexing import Indexer, IndexReport
    from coach.lint import lint_corpus
    from coach.settings import Settings
    from coach.store import ChunkStore, StoreLocation
