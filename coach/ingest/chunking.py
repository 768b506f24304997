"""Markdown-aware chunking with llama-index: sections by heading, sized to the embedding model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from coach.ingest.corpus import Document

HEADING_SEPARATOR = " > "
# Room left for the tokenizer's special tokens ([CLS], [SEP]) when sizing a chunk.
_SPECIAL_TOKENS = 4
_MIN_CHUNK_TOKENS = 48


@dataclass(frozen=True)
class Chunk:
    """A piece of one document, with the heading path it sits under."""

    doc_id: str
    index: int
    text: str
    headings: tuple[str, ...]

    @property
    def heading_path(self) -> str:
        return HEADING_SEPARATOR.join(self.headings)


def embedding_text(title: str, chunk: Chunk) -> str:
    """What the embedder sees: the title and heading path give a short section its context."""
    context = HEADING_SEPARATOR.join((title, *chunk.headings))
    return f"{context}\n{chunk.text}"


class Chunker:
    """Splits documents into sections by Markdown heading, then splits long sections by sentence.

    A chunk never exceeds `max_tokens` of the model's own tokens, title and heading path
    included: the model truncates longer input silently, and the tail would be invisible.
    """

    def __init__(
        self,
        tokenize: Callable[[str], list[str]],
        max_tokens: int,
        overlap_tokens: int = 24,
    ) -> None:
        self._tokenize = tokenize
        self._max_tokens = max_tokens
        self._overlap = overlap_tokens

    @cached_property
    def _sections(self) -> Any:
        """llama-index's Markdown parser, imported on first use (about a second): a run with
        nothing to chunk, such as a no-op `coach index`, does without."""
        from llama_index.core.node_parser import MarkdownNodeParser

        return MarkdownNodeParser(include_prev_next_rel=False)

    def warm(self) -> None:
        """Chunk a long warm-up document now: llama-index's parsers and its sentence splitter
        load on first use (imports and NLTK's sentence data, seconds), and a server's first
        save should wait for none of it."""
        body = "## Stappen\n" + "Bel de klant terug. " * self._max_tokens
        self.chunk(
            Document(
                id="warm-up",
                title="Warm-up",
                type="procedure",
                language="nl",
                body=body,
                path="warm-up.md",
                content_hash="",
            )
        )

    def chunk(self, document: Document) -> list[Chunk]:
        from llama_index.core import Document as LlamaDocument

        source = LlamaDocument(text=document.body, id_=document.id)
        pieces: list[tuple[tuple[str, ...], str]] = []
        for node in self._sections.get_nodes_from_documents([source]):
            headings, text = _split_heading(
                node.get_content(), node.metadata.get("header_path", "/")
            )
            if not text:
                continue  # a heading directly followed by a sub-heading
            pieces.extend((headings, part) for part in self._fit(document.title, headings, text))
        return [
            Chunk(doc_id=document.id, index=index, text=text, headings=headings)
            for index, (headings, text) in enumerate(pieces)
        ]

    def _fit(self, title: str, headings: tuple[str, ...], text: str) -> list[str]:
        context = HEADING_SEPARATOR.join((title, *headings))
        budget = self._max_tokens - len(self._tokenize(context)) - _SPECIAL_TOKENS
        budget = max(budget, _MIN_CHUNK_TOKENS)
        if len(self._tokenize(text)) <= budget:
            return [text]
        from llama_index.core.node_parser import SentenceSplitter

        splitter = SentenceSplitter(
            chunk_size=budget,
            chunk_overlap=min(self._overlap, budget // 4),
            tokenizer=self._tokenize,
            paragraph_separator="\n\n",
            include_prev_next_rel=False,
        )
        return [part.strip() for part in splitter.split_text(text) if part.strip()]


def _split_heading(content: str, header_path: str) -> tuple[tuple[str, ...], str]:
    """The full heading path of a section (its parents and its own heading) and its text."""
    parents = tuple(part for part in header_path.strip("/").split("/") if part)
    lines = content.strip().splitlines()
    if lines and lines[0].lstrip().startswith("#"):
        own = lines[0].lstrip("#").strip()
        return (*parents, own), "\n".join(lines[1:]).strip()
    return parents, content.strip()
