"""What the indexer embeds of a document: its chunks and its advice items ("units").

A large run makes them in a process of its own while the model embeds the ones made before:
the default model (USE) keeps one core busy, chunking and counting tokens (pure Python, as is
USE's tokenizer) would otherwise wait for it, and in a thread of the same process they only
fight over the interpreter lock (measured: no gain). A small run (a curator's save) makes them
here: starting a process costs about two seconds.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Generator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from coach.index.embedders import backend_named, make_embedder
from coach.index.records import RecordMetadata
from coach.ingest.advice import ITEM_INDEX, ITEM_RECORD, advice_items, markdown_sections
from coach.ingest.chunking import Chunker, embedding_text
from coach.ingest.corpus import Document

POOL_FROM = 200  # documents in a run from which their units are made in a process of their own
_BATCH = 16  # documents sent to that process at a time


@dataclass(frozen=True)
class Unit:
    """One record to embed: a chunk or an advice item."""

    index: int
    embed: str  # what the embedder sees
    text: str  # what the store keeps
    metadata: RecordMetadata


def units_of(document: Document, chunker: Chunker) -> list[Unit]:
    chunks = chunker.chunk(document)
    units = [
        Unit(
            chunk.index,
            embedding_text(document.title, chunk),
            chunk.text,
            {"chunk_index": chunk.index, "heading_path": chunk.heading_path},
        )
        for chunk in chunks
    ]
    for number, item in enumerate(advice_items(document.type, markdown_sections(document.body))):
        units.append(
            Unit(
                ITEM_INDEX + number,
                f"{document.title}\n{item.text}",
                item.text,
                {
                    "record": ITEM_RECORD,
                    "chunk_index": ITEM_INDEX + number,
                    "heading_path": item.section,
                    "item_priority": item.priority,
                    "item_step": item.step or 0,
                },
            )
        )
    return units


@dataclass(frozen=True)
class ChunkerRecipe:
    """How another process makes the same chunker: a registered embedder's tokenizer, and the
    chunk size in its tokens."""

    embedder: str
    max_tokens: int

    @classmethod
    def of(cls, embedder: str, max_tokens: int) -> ChunkerRecipe | None:
        """None for an embedder another process cannot build by name (a test's, or any
        sentence-transformers model that is not registered)."""
        return cls(embedder, max_tokens) if backend_named(embedder) is not None else None


def each_with_units(
    documents: Sequence[Document], chunker: Chunker, recipe: ChunkerRecipe | None
) -> Generator[tuple[Document, list[Unit]], None, None]:
    """Each document with its units, in order; made in a process of their own (ahead of the
    caller) when there are at least `POOL_FROM` documents, the recipe says how, and this
    process may start one (a daemon process may not)."""
    if recipe is None or len(documents) < POOL_FROM or multiprocessing.current_process().daemon:
        for document in documents:
            yield document, units_of(document, chunker)
        return
    pool = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),  # no fork of Chroma's threads
        initializer=_start,
        initargs=(recipe, os.getpid()),
    )
    try:
        made = pool.map(_units_here, documents, chunksize=_BATCH)
        yield from zip(documents, made, strict=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_chunker: Chunker | None = None  # the chunker of a process that makes units


def _start(recipe: ChunkerRecipe, parent: int) -> None:
    global _chunker
    embedder = make_embedder(recipe.embedder)
    _chunker = Chunker(embedder.tokenize, recipe.max_tokens)
    threading.Thread(target=end_with, args=(parent,), daemon=True).start()


def end_with(parent: int) -> None:
    """End this process once the process that started it is gone (killed, say): nothing else
    would end it (a units process waits for work that will never come)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _units_here(document: Document) -> list[Unit]:
    assert _chunker is not None, "started without a chunker"
    return units_of(document, _chunker)
