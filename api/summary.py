"""A session as Markdown, for the talent development conversation."""

from __future__ import annotations

from api.db.sessions import StoredSession

_LABELS = {
    "nl": {
        "title": "Coachingsessie",
        "situation": "Situatie",
        "suggestions": "Suggesties",
        "questions": "Reflectievragen",
        "colleagues": "Collega's om te raadplegen",
        "sources": "Bronnen",
        "feedback": "Feedback",
        "helpful": "nuttig",
        "not_helpful": "niet nuttig",
        "none": "De documenten van de organisatie gingen niet over deze situatie.",
    },
    "en": {
        "title": "Coaching session",
        "situation": "Situation",
        "suggestions": "Suggestions",
        "questions": "Reflective questions",
        "colleagues": "Colleagues to consult",
        "sources": "Sources",
        "feedback": "Feedback",
        "helpful": "helpful",
        "not_helpful": "not helpful",
        "none": "The organisation's documents did not cover this situation.",
    },
}


def session_markdown(stored: StoredSession) -> str:
    result = stored.result
    labels = _LABELS[result.language]
    lines = [
        f"# {labels['title']} {stored.created_at:%Y-%m-%d %H:%M} UTC",
        "",
        f"## {labels['situation']}",
        "",
        result.situation,
        "",
        f"## {labels['suggestions']}",
        "",
    ]
    if not result.suggestions:
        lines.append(labels["none"])
    for number, suggestion in enumerate(result.suggestions, start=1):
        lines.append(
            f"{number}. **{suggestion.title}** ({suggestion.kind}): {suggestion.action} "
            f"[{', '.join(suggestion.citations)}]"
        )
    lines += ["", f"## {labels['questions']}", ""]
    lines += [f"- {question.text}" for question in result.didactic_questions]
    if result.colleagues:
        lines += ["", f"## {labels['colleagues']}", ""]
        lines += [f"- {c.owner} ({', '.join(c.documents)})" for c in result.colleagues]
    if result.sources:
        lines += ["", f"## {labels['sources']}", ""]
        lines += [f"- {s.id}: {s.title} ({s.path})" for s in result.sources]
    if stored.helpful is not None:
        verdict = labels["helpful"] if stored.helpful else labels["not_helpful"]
        lines += [
            "",
            f"## {labels['feedback']}",
            "",
            verdict + (f": {stored.comment}" if stored.comment else ""),
        ]
    return "\n".join(lines) + "\n"
