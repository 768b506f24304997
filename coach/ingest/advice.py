"""Advice items: the parts of a document that can be offered as a suggestion, as clean text.

A lesson learned advises in its "Les" / "Lesson" and "Wat werkte" / "What worked" items, a
procedure in its steps and points of attention; everything else (the situation, what happened)
is narrative and never offered as advice. The indexer embeds every item (so a request embeds
nothing but the situation) and the composer ranks them by how well the item itself fits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Advice items are stored beside the chunks, as records marked `record: item` and numbered from
# ITEM_INDEX (coach/indexing.py writes them, coach/retrieval.py reads them).
ITEM_RECORD = "item"
ITEM_INDEX = 100_000

# Section headings (lower case) whose items are advice, per document type, with their priority:
# 0 for the lesson itself and a procedure's steps, 1 for what worked and points of attention.
_SECTIONS = {
    "lesson": {
        "les": 0,
        "lessen": 0,
        "lesson": 0,
        "lessons": 0,
        "lessons learned": 0,
        "aanbeveling": 0,
        "aanbevelingen": 0,
        "recommendation": 0,
        "recommendations": 0,
        "wat werkte": 1,
        "what worked": 1,
    },
    "procedure": {
        "stappen": 0,
        "steps": 0,
        "werkwijze": 0,
        "procedure": 0,
        "aandachtspunten": 1,
        "points of attention": 1,
    },
}
# Sentences of a section written as prose rather than a list: often narrative ("the advisor
# delivered within two days"), so they rank after every listed item.
PROSE = 2
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_CONTINUATION = re.compile(r"^\s{2,}\S")


@dataclass(frozen=True)
class AdviceItem:
    section: str  # its heading, as written
    text: str  # clean text: no Markdown markers
    step: int | None  # its number, for a procedure's steps
    priority: int  # 0 first choice, 1 second, PROSE last
    similarity: float | None = None  # its cosine to a situation, once a retrieval scored it


def advice_items(doc_type: str, sections: Sequence[tuple[str, str]]) -> list[AdviceItem]:
    """Every advice item of a document given as (heading, text) sections, in document order,
    without repeats."""
    wanted = _SECTIONS.get(doc_type, {})
    items: list[AdviceItem] = []
    seen: set[str] = set()
    for heading, text in sections:
        priority = wanted.get(heading.lower().strip())
        if priority is None:
            continue
        listed = _list_items(text)
        is_steps = doc_type == "procedure" and priority == 0
        if listed:
            parts = [(line, priority) for line in listed]
        else:
            sentences = re.split(r"(?<=[.!?])\s+", text)
            parts = [(part, PROSE) for part in sentences if len(part.strip()) > 20]
        for number, (raw, rank) in enumerate(parts, start=1):
            clean = plain_text(raw)
            if clean and clean not in seen:
                seen.add(clean)
                items.append(AdviceItem(heading, clean, number if is_steps else None, rank))
    return items


def _list_items(text: str) -> list[str]:
    """The items of a Markdown list, indented sub-items joined to their item
    ("Termijnen: voor 15:00 dezelfde dag; na 15:00 de volgende dag")."""
    items: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        match = _ITEM.match(line)
        if items and line.strip() and _CONTINUATION.match(line):
            items[-1][1].append((match.group(1) if match else line).strip())
        elif match:
            items.append((match.group(1).strip(), []))
    return [f"{head.rstrip(':')}: {'; '.join(subs)}" if subs else head for head, subs in items]


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(?<!\w)(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1(?!\w)")
_CODE = re.compile(r"`([^`]*)`")
_HTML = re.compile(r"<[^>]+>")


def plain_text(markdown: str) -> str:
    """Markdown inline markup removed (links keep their text), whitespace collapsed."""
    text = _LINK.sub(r"\1", markdown)
    text = _CODE.sub(r"\1", text)
    for _ in range(2):  # nested emphasis: **bold _and italic_**
        text = _EMPHASIS.sub(r"\2", text)
    text = _HTML.sub("", text)
    text = re.sub(r"^\s*(?:#+|>)\s*", "", text)
    return " ".join(text.replace("**", "").split())


def sections_of(chunks: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Merge consecutive chunks of one section (a long section is split in several chunks)."""
    merged: list[tuple[str, str]] = []
    for heading, text in chunks:
        if merged and merged[-1][0] == heading:
            merged[-1] = (heading, merged[-1][1] + "\n" + text)
        else:
            merged.append((heading, text))
    return merged


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def markdown_sections(body: str) -> list[tuple[str, str]]:
    """A Markdown body as (heading, text) sections in document order, the text before the first
    heading under "". Built from the body itself (not from chunks, which overlap at their seams
    and would repeat an item)."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in body.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match:
            sections.append((match.group(2).strip(), []))
        else:
            sections[-1][1].append(line)
    return [
        (heading, "\n".join(lines).strip())
        for heading, lines in sections
        if heading or "".join(lines).strip()
    ]
