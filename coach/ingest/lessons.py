"""Turning what a professional tried and learned into a draft lesson in the corpus format."""

from __future__ import annotations

import re
import secrets
from datetime import date

from coach.ingest.curation import Fields
from coach.vocabulary import is_language

_HEADINGS = {
    "nl": ("Situatie", "Wat heb ik geprobeerd", "Wat werkte", "Wat werkte niet", "Les"),
    "en": ("Situation", "What I tried", "What worked", "What did not work", "Lesson"),
}
_TITLE_WORDS = 10


def draft_lesson(
    *,
    situation: str,
    language: str,
    owner: str,
    what_tried: str,
    what_worked: str,
    what_not: str,
    lesson: str,
    today: date | None = None,
) -> Fields:
    """A draft lesson document (status draft) whose owner is the professional who learned it.
    The link to the session is kept by the service (its drafts table), not in the text."""
    words = lesson.split()
    title = " ".join(words[:_TITLE_WORDS]).rstrip(".,;:") + ("..." if len(words) > 10 else "")
    slug = re.sub(r"[^a-z0-9]+", "-", " ".join(words[:6]).lower()).strip("-")[:50].strip("-")
    doc_id = f"les-{slug or 'les'}-{secrets.token_hex(3)}"
    headings = _HEADINGS.get(language, _HEADINGS["nl"])
    parts = (situation, what_tried, what_worked, what_not, lesson)
    body = "\n\n".join(
        f"## {heading}\n{text.strip()}"
        for heading, text in zip(headings, parts, strict=True)
        if text.strip()
    )
    return Fields(
        id=doc_id,
        title=title or doc_id,
        type="lesson",
        language=language if is_language(language) else "nl",
        body=body,
        owner=owner,
        tags=("geleerde-les",) if language == "nl" else ("lesson-learned",),
        updated=today or date.today(),
        status="draft",
    )
