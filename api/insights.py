"""What L&D staff learn from the sessions: themes, corpus gaps, and feedback per document.

Counts and themes come from every session; the text of a situation the corpus had nothing on
is shown only when its user shares their situations (off by default), and never with who."""

from __future__ import annotations

from collections import Counter
from typing import Any

from api.db import InsightRow
from api.db.cycles import CANCELLED, StoredCycle
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


def cycle_insights(cycles: list[tuple[StoredCycle, str | None]]) -> dict[str, Any]:
    """Vital week cycles in counts, with their groups' teams: how many ran and completed, the
    documents their agendas cited most, and how many situations the corpus had nothing on (a
    gap). No group, member, situation or note appears."""
    teams: dict[str | None, Counter[str]] = {}
    cited: Counter[str] = Counter()
    situations = ungrounded = 0
    for cycle, team in cycles:
        outcome = _outcome(cycle)
        teams.setdefault(team, Counter())[outcome] += 1
        options = cycle.agenda.days[1].items  # day 2 holds each situation's grounded answer
        cited.update({s.id for item in options for s in item.sources})  # once per cycle
        situations += len(options)
        ungrounded += sum(not item.grounded for item in options)
    total: Counter[str] = sum(teams.values(), Counter())
    return {
        "cycles": len(cycles),
        **{outcome: total[outcome] for outcome in OUTCOMES},
        "by_team": [
            {"team": team, "cycles": sum(counts.values()), **{o: counts[o] for o in OUTCOMES}}
            for team, counts in sorted(teams.items(), key=lambda item: (item[0] is None, item[0]))
        ],
        "situations": situations,
        "ungrounded_situations": ungrounded,
        "most_cited_documents": [
            {"id": doc_id, "cycles": count} for doc_id, count in cited.most_common(TOP)
        ],
    }


OUTCOMES = ("completed", "cancelled", "planned")  # planned: still to come, or under way


def _outcome(cycle: StoredCycle) -> str:
    if cycle.state == CANCELLED:
        return "cancelled"
    return "completed" if cycle.completed else "planned"
