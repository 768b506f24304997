"""What L&D staff learn from the sessions: themes, corpus gaps, and feedback per document.

Counts and themes come from every session; the text of a situation the corpus had nothing on
is shown only when its user shares their situations (off by default), and never with who."""

from __future__ import annotations

from collections import Counter
from typing import Any

from api.db import InsightRow
from coach.retrieve.language import terms, words

TOP = 15


def compute_insights(rows: list[InsightRow]) -> dict[str, Any]:
    stems: Counter[str] = Counter()
    shown: dict[str, Counter[str]] = {}
    cited: Counter[str] = Counter()
    feedback: dict[str, dict[str, int]] = {}
    ungrounded: list[dict[str, str]] = []
    ungrounded_count = 0
    for row in rows:
        result, helpful = row.result, row.helpful
        seen: set[str] = set()
        for word in words(result.situation):
            for stem in terms(word, result.language):
                if stem not in seen:  # a theme counts once per session
                    seen.add(stem)
                    stems[stem] += 1
                    shown.setdefault(stem, Counter())[word] += 1
        if not result.grounded:
            ungrounded_count += 1
            if row.shared:
                ungrounded.append({"situation": result.situation, "language": result.language})
        for source in result.sources:
            cited[source.id] += 1
            if helpful is not None:
                entry = feedback.setdefault(source.id, {"helpful": 0, "not_helpful": 0})
                entry["helpful" if helpful else "not_helpful"] += 1
    themes = [
        {"theme": shown[stem].most_common(1)[0][0], "sessions": count}
        for stem, count in stems.most_common(TOP)
        if count > 1
    ]
    return {
        "sessions": len(rows),
        "themes": themes,
        "ungrounded_sessions": ungrounded_count,
        "ungrounded": ungrounded[:50],
        "most_retrieved_documents": [
            {"id": doc_id, "sessions": count} for doc_id, count in cited.most_common(TOP)
        ],
        "feedback_by_document": [
            {"id": doc_id, **counts}
            for doc_id, counts in sorted(feedback.items(), key=lambda item: item[0])
        ],
    }
