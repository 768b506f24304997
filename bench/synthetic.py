"""A synthetic corpus of any size, recombined from the sample corpus, for the benchmarks.

Each document starts from a sample document and keeps its language, type, team, owner and tags;
each of its sections is the base's own or the same section of another document of that language
and type, sometimes lengthened with that section of one or two more. Lengths spread as in a real
corpus: a quarter are short notes (the opening, the first section and the core: the steps or
the lesson), a fifth are long handbook pages that append sections of related documents under
their titles, the rest are like the sample. That gives about 7 chunks a document on average with
USE's chunking, from 2 to over 20: real vocabulary, the corpus's own structure, one language per
document. Document i depends only on the seed and i, so a larger corpus holds every document of
a smaller one. Written the way the API writes a document (`coach.ingest.curation.render`), with
the sample's didactics.yaml, so `coach lint` accepts it and `coach serve` serves it.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from coach.ingest.corpus import DIDACTICS_FILE, Document, Fields, scan_corpus
from coach.ingest.curation import render

PLACES = (
    "Utrecht",
    "Amersfoort",
    "Zwolle",
    "Arnhem",
    "Nijmegen",
    "Den Bosch",
    "Breda",
    "Tilburg",
    "Eindhoven",
    "Leiden",
    "Haarlem",
    "Almere",
    "Apeldoorn",
    "Deventer",
    "Gouda",
    "Hilversum",
)
# The sentence that ties a variant to its branch, in the document's own language.
BRANCH = {
    "nl": "Dit geldt voor vestiging {place}; afwijkingen bespreek je met je teamleider.",
    "en": "This applies to the {place} branch; discuss any exception with your team lead.",
}
# What a short note keeps besides its opening and first section.
CORE_SECTIONS = frozenset({"Stappen", "Steps", "Les", "Lesson"})
# Sections a variant of the usual length may leave out.
OPTIONAL_SECTIONS = frozenset(
    {"Zie ook", "See also", "Aandachtspunten", "Watch out", "Wat werkte niet", "What did not work"}
)
DROP_OPTIONAL = 0.25
# Short notes, documents like the sample's, long handbook pages: how often each.
SIZES = (("short", "usual", "long"), (30, 55, 15))
LONG_EXTRA_SECTIONS = (2, 8)  # sections of related documents a long page appends (inclusive)
# How many documents' text one section draws on (more: a longer section), and how often.
SOURCES_PER_SECTION = ((1, 2, 3), (60, 30, 10))
FIRST_DAY = date(2022, 1, 3)


@dataclass(frozen=True)
class Synthesis:
    """What a generated corpus holds, for a benchmark's report."""

    documents: int
    languages: dict[str, int]
    types: dict[str, int]
    sizes: dict[str, int]
    teams: int
    seed: int


Sections = list[tuple[str, str]]


@dataclass(frozen=True)
class Base:
    """A sample document split into its opening and level-2 sections."""

    document: Document
    intro: str
    sections: Sections


def synthesize(source: Path, target: Path, n_docs: int, seed: int = 7) -> Synthesis:
    """Write `n_docs` documents recombined from the active documents of `source` into `target`
    (in their base's team folder), and the sample's didactics.yaml beside them."""
    active = sorted((d for d in scan_corpus(source).documents if d.is_active), key=lambda d: d.id)
    bases = [Base(doc, *split_sections(doc.body)) for doc in active]
    kin: dict[tuple[str, str], list[Base]] = {}
    for base in bases:
        kin.setdefault((base.document.type, base.document.language), []).append(base)
    width = max(5, len(str(n_docs - 1)))
    written: list[tuple[Fields, str]] = []
    for number in range(n_docs):
        rng = random.Random(f"{seed}:{number}")
        base = rng.choice(bases)
        doc = base.document
        place = rng.choice(PLACES)
        size = rng.choices(*SIZES)[0]
        fields = Fields(
            id=f"{doc.id[:60]}-{number:0{width}d}",
            title=f"{doc.title} ({place})",
            type=doc.type,
            language=doc.language,
            body=recombine(base, kin[(doc.type, doc.language)], place, size, rng),
            team=doc.team,
            owner=doc.owner,
            tags=doc.tags,
            updated=FIRST_DAY + timedelta(days=rng.randrange(1400)),
        )
        folder = target / Path(doc.path).parent
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{fields.id}.md").write_text(render(fields), encoding="utf-8")
        written.append((fields, size))
    shutil.copyfile(source / DIDACTICS_FILE, target / DIDACTICS_FILE)
    return Synthesis(
        documents=len(written),
        languages=dict(Counter(fields.language for fields, _ in written)),
        types=dict(Counter(fields.type for fields, _ in written)),
        sizes=dict(Counter(size for _, size in written)),
        teams=len({fields.team for fields, _ in written}),
        seed=seed,
    )


def split_sections(body: str) -> tuple[str, Sections]:
    """A body's text before its first `## ` heading, and its level-2 sections (deeper headings
    stay inside their section)."""
    intro, *rest = ("\n" + body.strip()).split("\n## ")
    sections = []
    for part in rest:
        heading, _, text = part.partition("\n")
        sections.append((heading.strip(), text.strip()))
    return intro.strip(), sections


def recombine(base: Base, kin: list[Base], place: str, size: str, rng: random.Random) -> str:
    """The body of one variant of `base`, of the given size: its sections drawn from `kin`
    (documents of its language and type, never one text twice in a section), and one sentence
    naming the branch it is for."""
    language = base.document.language
    parts = [f"{base.intro}\n\n{BRANCH[language].format(place=place)}".strip()]
    for position, (heading, own) in enumerate(base.sections):
        if size == "short" and position > 0 and heading not in CORE_SECTIONS:
            continue
        if size != "short" and heading in OPTIONAL_SECTIONS and rng.random() < DROP_OPTIONAL:
            continue
        pool = [text for other in kin for name, text in other.sections if name == heading]
        first = own if rng.random() < 0.5 else rng.choice(pool)
        rest = [text for text in pool if text != first]
        count = rng.choices(*SOURCES_PER_SECTION)[0]
        texts = [first, *rng.sample(rest, min(count - 1, len(rest)))]
        parts.append(f"## {heading}\n" + "\n\n".join(texts))
    if size == "long":
        related = [
            (other, section) for other in kin if other is not base for section in other.sections
        ]
        extra = rng.randint(*LONG_EXTRA_SECTIONS)
        for other, (heading, text) in rng.sample(related, min(extra, len(related))):
            parts.append(f"## {heading}: {other.document.title}\n{text}")
    return "\n\n".join(parts) + "\n"
