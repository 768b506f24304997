"""The exceptions the library raises; every message says what to do about it.

CoachError
├── ConfigurationError      a setting is wrong or a configured resource is missing
│   └── EmbedderError       the embedding model cannot be loaded or used
├── CorpusError             the corpus cannot be read or fails lint (carries the problems)
├── InvalidRequestError     a coaching request is malformed (empty or too long, a bad filter)
├── NotFoundError           a document (or another named thing) does not exist
├── ConflictError           the id is taken
├── StaleVersionError       the document changed since the caller read it (ETag)
└── SearchIndexError        the index is missing, unreachable or was built differently
    ├── IndexNotFoundError
    ├── IndexMismatchError
    └── StoreUnavailableError
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a corpus file, at a 1-based line (0 when it concerns the whole file)."""

    path: str
    line: int
    rule: str
    message: str
    field: str | None = None  # the front-matter field (or "body") it concerns, when one does

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


class CoachError(Exception):
    """Base of every error the library raises on purpose."""


class ConfigurationError(CoachError):
    """A setting has a value the library cannot work with."""


class EmbedderError(ConfigurationError):
    """The embedding model cannot be loaded or used."""


class CorpusError(CoachError):
    """The corpus cannot be used as it is; `problems` lists what to fix."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class InvalidRequestError(CoachError):
    """A request the coach cannot answer as asked; the message says what to change."""


class NotFoundError(CoachError):
    """The thing asked for does not exist."""


class ConflictError(CoachError):
    """The write would clash with what exists (an id that is taken)."""


class StaleVersionError(CoachError):
    """The document changed since the caller read it: their ETag no longer matches."""


class SearchIndexError(CoachError):
    """Base of the errors about the search index."""


class IndexNotFoundError(SearchIndexError):
    """No index exists where one was expected."""


class IndexMismatchError(SearchIndexError):
    """The index was built with another embedder than the configured one."""


class StoreUnavailableError(SearchIndexError):
    """The vector store (embedded directory or Chroma server) cannot be reached."""
