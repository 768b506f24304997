"""Turning what a professional tried and learned into a draft lesson in the corpus format, and
withdrawing one that was never published.

Private by default: the situation goes into the lesson only when the professional says so, and
the lesson names an owner only when they give one (without, no colleague is suggested to ask).
The professional sees the very document this makes before it is submitted."""

from __future__ import annotations

import secrets
from datetime import date

from coach.errors import NotFoundError
from coach.ingest.curation import Curator, Fields
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
    what_tried: str,
    what_worked: str,
    what_not: str,
    lesson: str,
    owner: str | None = None,
    include_situation: bool = False,
    today: date | None = None,
) -> Fields:
    """A draft lesson document (status draft). Its owner is the name the professional chose to
    publish it under (none: an anonymous colleague); the situation is part of it only with
    `include_situation`. The link to the session and its author is kept by the service (its
    drafts table), not in the text."""
    words = lesson.split()
    title = " ".join(words[:_TITLE_WORDS]).rstrip(".,;:") + ("..." if len(words) > 10 else "")
    # Random, none of the lesson's words: the id goes to the LRS and into links, where a name
    # the professional typed ("Piet Jansen belt nooit terug") must not.
    doc_id = f"les-{secrets.token_hex(8)}"
    headings = _HEADINGS.get(language, _HEADINGS["nl"])
    parts = (situation if include_situation else "", what_tried, what_worked, what_not, lesson)
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
        owner=" ".join((owner or "").split()) or None,
        tags=("geleerde-les",) if language == "nl" else ("lesson-learned",),
        updated=today or date.today(),
        status="draft",
    )


def withdraw_draft(curator: Curator, doc_id: str) -> bool:
    """Remove a lesson's file from the corpus when it was never published (a draft, or a
    rejected one, retired); an active lesson belongs to the organisation now and stays.
    Neither kind is indexed, so the index needs nothing. True when the file was removed."""
    with curator.writing():  # no decision on it can run meanwhile
        try:
            document, _ = curator.get(doc_id)
        except NotFoundError:
            return False
        if document.status == "active":
            return False
        (curator.corpus_dir / document.path).unlink(missing_ok=True)
        return True
