"""Hub documents: the documents an evaluation's answers suggest from most often, against how
many cases actually reference them. A document that turns up in many answers that do not need it
sits near everything (long or generic); the report names it so it can be fixed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# A document may appear in at most this share of the answers, or in as many as reference it.
HUB_SHARE = 0.20


@dataclass(frozen=True)
class HubRow:
    doc_id: str
    answers: int  # answers that suggest from it
    share: float  # of all answers that suggest anything
    referenced_by: int  # cases whose references name it
    allowed: float  # the share it may have: max(HUB_SHARE, its share of the references)

    @property
    def over(self) -> bool:
        return self.share > self.allowed + 1e-9


def hub_report(
    answers: Sequence[Sequence[str]], references: Sequence[Sequence[str]], top: int = 10
) -> list[HubRow]:
    """Per document, in how many `answers` (the document ids each answer suggests from) it
    appears, against how many `references` (each in-scope case's reference ids) name it; the
    `top` most frequent first, and every document over its cap whatever its place."""
    answered = [set(ids) for ids in answers if ids]
    counts = Counter(doc_id for ids in answered for doc_id in ids)
    referenced = Counter(doc_id for ids in references for doc_id in set(ids))
    total, cases = len(answered), max(len(references), 1)
    rows = [
        HubRow(
            doc_id=doc_id,
            answers=count,
            share=round(count / total, 4),
            referenced_by=referenced[doc_id],
            allowed=round(max(HUB_SHARE, referenced[doc_id] / cases), 4),
        )
        for doc_id, count in counts.items()
    ]
    rows.sort(key=lambda row: (-row.answers, row.doc_id))
    return [row for i, row in enumerate(rows) if i < top or row.over]
