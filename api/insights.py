"""What L&D staff learn from the sessions: themes, corpus gaps, and feedback per document.

Counts come from every session. Words are a user's own: a theme is made only of the words of
users who share their situations (off by default), and only of a word at least
THEME_PEOPLE of them used, so one person's name or case never becomes a theme however often
they type it. The text of a situation the corpus had nothing on is shown only when its user
shares their situations, and never with who."""

from __future__ import annotations

from collections import Counter
from typing import Any

from api.db import InsightRow
from api.db.stored_cycles import CANCELLED, StoredCycle
from coach.retrieve.language import terms, words

TOP = 15
THEME_PEOPLE = 3  # how many different people must have used a word for it to be a theme


def compute_insights(rows: list[InsightRow]) -> dict[str, Any]:
    stems: Counter[str] = Counter()  # sessions a stem is in
    people: dict[str, set[str]] = {}  # who used it
    shown: dict[str, Counter[str]] = {}
    cited: Counter[str] = Counter()
    feedback: dict[str, dict[str, int]] = {}
    ungrounded: list[dict[str, str]] = []
    ungrounded_count = 0
    for row in rows:
        result, helpful = row.result, row.helpful
        seen: set[str] = set()
        for word in words(result.situation) if row.shared else ():
            for stem in terms(word, result.language):
                if stem not in seen:  # a theme counts once per session
                    seen.add(stem)
                    stems[stem] += 1
                    people.setdefault(stem, set()).add(row.user)
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
    common = [stem for stem in stems if len(people[stem]) >= THEME_PEOPLE]
    common.sort(key=lambda stem: (-len(people[stem]), -stems[stem], stem))
    themes = [
        {
            "theme": shown[stem].most_common(1)[0][0],
            "people": len(people[stem]),
            "sessions": stems[stem],
        }
        for stem in common[:TOP]
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


def cycle_insights(cycles: list[StoredCycle]) -> dict[str, Any]:
    """Vital week cycles in counts: how many ran and completed, the documents their agendas
    cited most, and how many situations the corpus had nothing on (a gap). No group, team,
    member, situation or note appears: a group's team is free text its members typed ("Team
    of Piet Jansen"), so it is not counted by."""
    total: Counter[str] = Counter()
    cited: Counter[str] = Counter()
    situations = ungrounded = 0
    for cycle in cycles:
        total[_outcome(cycle)] += 1
        options = cycle.agenda.days[1].items  # day 2 holds each situation's grounded answer
        cited.update({s.id for item in options for s in item.sources})  # once per cycle
        situations += len(options)
        ungrounded += sum(not item.grounded for item in options)
    return {
        "cycles": len(cycles),
        **{outcome: total[outcome] for outcome in OUTCOMES},
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
