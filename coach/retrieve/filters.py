"""What a search may be restricted to: a team, a document type, a document language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to a team, a document type and/or a document language."""

    team: str | None = None
    type: str | None = None
    language: str | None = None

    def _conditions(self) -> dict[str, str]:
        pairs = {"team": self.team, "type": self.type, "language": self.language}
        return {key: value for key, value in pairs.items() if value}

    def where(self) -> dict[str, Any] | None:
        """The Chroma `where` clause."""
        conditions = [{key: value} for key, value in self._conditions().items()]
        if not conditions:
            return None
        return conditions[0] if len(conditions) == 1 else {"$and": conditions}

    def allows(self, metadata: Mapping[str, object]) -> bool:
        return all(metadata.get(key) == value for key, value in self._conditions().items())
