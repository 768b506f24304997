"""The offline composer on hand-made documents with scored items (no model, no index)."""

from __future__ import annotations

from coach.generate.extractive import ITEM_MARGIN, MAX_SUGGESTIONS, ExtractiveComposer
from coach.generate.protocol import GenerationRequest, SourceDocument
from coach.ingest.advice import AdviceItem
from coach.vocabulary import DocType, Language


def document(
    doc_id: str,
    items: list[AdviceItem],
    title: str | None = None,
    type: DocType = "lesson",
    language: Language = "nl",
    owner: str | None = None,
) -> SourceDocument:
    return SourceDocument(
        id=doc_id,
        title=title or doc_id,
        type=type,
        language=language,
        team=None,
        owner=owner,
        sections=(),
        items=tuple(items),
    )


def item(text: str, similarity: float | None, priority: int = 0) -> AdviceItem:
    return AdviceItem(text=text, section="Les", step=None, priority=priority, similarity=similarity)


def test_only_items_that_fit_are_offered_and_each_cites_its_document() -> None:
    best = document(
        "les-terugbellen",
        [
            item("Leg elk terugbelverzoek vast in Topdesk.", 0.52),
            item("Bel de klant binnen 2 uur terug.", 0.50),
            item("Ruim de bus op vrijdag op.", 0.52 - ITEM_MARGIN - 0.01),
        ],
        owner="Ahmed Benali",
    )
    result = ExtractiveComposer().generate(GenerationRequest("situatie", "nl", (best,)))
    actions = [s.action for s in result.suggestions if s.kind != "consult"]
    assert actions == [
        "Leg elk terugbelverzoek vast in Topdesk.",
        "Bel de klant binnen 2 uur terug.",
    ]
    assert all(s.citations == ["les-terugbellen"] for s in result.suggestions)
    consult = [s for s in result.suggestions if s.kind == "consult"]
    assert len(consult) == 1 and "Ahmed Benali" in consult[0].title


def test_advice_comes_before_narrative_prose() -> None:
    doc = document(
        "les-x",
        [
            item("De adviseur leverde zijn advies binnen twee dagen.", 0.60, priority=2),
            item("Vraag het advies schriftelijk aan.", 0.40),
        ],
    )
    result = ExtractiveComposer().generate(GenerationRequest("situatie", "nl", (doc,)))
    assert [s.action for s in result.suggestions] == ["Vraag het advies schriftelijk aan."]


def test_the_lesson_itself_is_shown_before_what_worked() -> None:
    doc = document(
        "les-y",
        [
            item("Youssef belde de klant binnen een uur terug.", 0.50, priority=1),
            item("Leg elk terugbelverzoek vast.", 0.49, priority=0),
        ],
    )
    result = ExtractiveComposer().generate(GenerationRequest("situatie", "nl", (doc,)))
    assert [s.action for s in result.suggestions][:2] == [
        "Leg elk terugbelverzoek vast.",
        "Youssef belde de klant binnen een uur terug.",
    ]


def test_without_item_vectors_shared_terms_rank_the_items() -> None:
    doc = document(
        "proc-z",
        [item("Ruim de bus op.", None), item("Registreer elk terugbelverzoek in Topdesk.", None)],
        type="procedure",
    )
    request = GenerationRequest("Niemand registreert de terugbelverzoeken", "nl", (doc,))
    result = ExtractiveComposer().generate(request)
    assert result.suggestions[0].action == "Registreer elk terugbelverzoek in Topdesk."


def test_an_answer_is_bounded_and_near_duplicate_advice_is_given_once() -> None:
    same = "Leg elk terugbelverzoek vast in Topdesk met een deadline."
    first = document("les-a", [item(same, 0.5), item(f"{same} Altijd.", 0.5)])
    second = document(
        "les-b", [item(same, 0.5)] + [item(f"Stap {n} van het plan.", 0.5) for n in range(9)]
    )
    result = ExtractiveComposer().generate(GenerationRequest("x", "nl", (first, second)))
    content = [s for s in result.suggestions if s.kind != "consult"]
    assert len(content) <= MAX_SUGGESTIONS
    assert sum(1 for s in content if s.action.startswith(same)) == 1
