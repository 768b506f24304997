"""Advice items and clean text: what the indexer embeds and the composer may offer (no model)."""

from __future__ import annotations

from coach.ingest.advice import PROSE, advice_items, markdown_sections, plain_text, sections_of


def test_plain_text_removes_markdown_markers_but_keeps_words() -> None:
    assert plain_text("**Introductiedag**: zie [de gids](https://x.example) en `WerkbonApp`") == (
        "Introductiedag: zie de gids en WerkbonApp"
    )
    assert plain_text("*Let op*: ___niet___ ~~oud~~ <b>vet</b>") == "Let op: niet oud vet"
    # Underscores and asterisks inside words or sums are not emphasis.
    assert plain_text("veld snake_case_name, 2*3*4") == "veld snake_case_name, 2*3*4"


def test_lessons_advise_in_their_lesson_and_what_worked_never_in_their_story() -> None:
    sections = [
        ("Situatie", "- De klant belde drie keer."),
        ("Wat gebeurde er", "- Niemand belde terug."),
        ("Wat werkte", "- Eén **eigenaar** per terugbelverzoek."),
        ("Wat werkte niet", "- Briefjes op het bureau."),
        ("Les", "- Leg elk terugbelverzoek vast in Topdesk.\n- Bel binnen 2 uur terug."),
    ]
    items = advice_items("lesson", sections)
    assert [(item.section, item.text, item.priority) for item in items] == [
        ("Wat werkte", "Eén eigenaar per terugbelverzoek.", 1),
        ("Les", "Leg elk terugbelverzoek vast in Topdesk.", 0),
        ("Les", "Bel binnen 2 uur terug.", 0),
    ]


def test_procedure_steps_are_numbered_and_keep_their_sub_items() -> None:
    text = (
        "1. Leg het verzoek vast.\n2. Termijnen:\n   - voor 15:00 dezelfde dag\n   - later: morgen"
    )
    items = advice_items("procedure", [("Doel", "Niets."), ("Stappen", text)])
    assert [(item.step, item.text) for item in items] == [
        (1, "Leg het verzoek vast."),
        (2, "Termijnen: voor 15:00 dezelfde dag; later: morgen"),
    ]


def test_prose_sections_give_sentences_ranked_last() -> None:
    text = "De adviseur leverde zijn advies binnen twee dagen. Daarna liep alles beter af."
    items = advice_items("lesson", [("Wat werkte", text)])
    assert [item.priority for item in items] == [PROSE, PROSE]
    assert items[0].text == "De adviseur leverde zijn advies binnen twee dagen."


def test_sections_of_merges_a_long_section_split_over_chunks() -> None:
    merged = sections_of([("Stappen", "1. a"), ("Stappen", "2. b"), ("Les", "- c")])
    assert merged == [("Stappen", "1. a\n2. b"), ("Les", "- c")]


def test_markdown_sections_follow_the_headings_not_code_fences() -> None:
    body = "Intro.\n\n## Stappen\n1. a\n\n```\n# no heading\n```\n## Les ##\n- b"
    assert markdown_sections(body) == [
        ("", "Intro."),
        ("Stappen", "1. a\n\n```\n# no heading\n```"),
        ("Les", "- b"),
    ]
