"""The coaching result as a terminal reader sees it."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from coach.result import CoachingResult

_LABELS: dict[str, dict[str, Any]] = {
    "nl": {
        "suggestions": "Suggesties",
        "questions": "Vragen om over na te denken",
        "colleagues": "Collega's om te raadplegen",
        "sources": "Bronnen",
        "related": "Verder lezen (raakt er minder direct aan)",
        "none": "Geen suggesties: de documenten gaan niet over deze situatie.",
        "kind": {
            "improve": "verbeteren",
            "innovate": "vernieuwen",
            "skill": "vaardigheid",
            "consult": "raadplegen",
        },
    },
    "en": {
        "suggestions": "Suggestions",
        "questions": "Questions to reflect on",
        "colleagues": "Colleagues to consult",
        "sources": "Sources",
        "related": "Related reading (bears on it less directly)",
        "none": "No suggestions: the documents do not cover this situation.",
        "kind": {
            "improve": "improve",
            "innovate": "innovate",
            "skill": "skill",
            "consult": "consult",
        },
    },
}


def render_result(console: Console, result: CoachingResult) -> None:
    labels = _LABELS[result.language]
    for note in result.notes:
        console.print(f"[yellow]![/] {note}", highlight=False)
    console.print(f"\n[bold]{labels['suggestions']}[/]")
    if not result.suggestions:
        console.print(f"  {labels['none']}", markup=False)
    for number, suggestion in enumerate(result.suggestions, start=1):
        kind = labels["kind"][suggestion.kind]
        console.print(f"  {number}. [bold]{suggestion.title}[/] [dim]({kind})[/]", highlight=False)
        console.print(f"     {suggestion.action}", markup=False, highlight=False)
        console.print(f"     [dim]\u2192 {', '.join(suggestion.citations)}[/]", highlight=False)
    console.print(f"\n[bold]{labels['questions']}[/]")
    for question in result.didactic_questions:
        console.print(f"  \u2022 {question.text}", markup=False, highlight=False)
        console.print(f"    [dim]{question.why}[/]", highlight=False)
    if result.colleagues:
        console.print(f"\n[bold]{labels['colleagues']}[/]")
        for colleague in result.colleagues:
            console.print(
                f"  \u2022 {colleague.owner} ({', '.join(colleague.documents)})",
                markup=False,
                highlight=False,
            )
    if result.sources:
        table = Table(title=labels["sources"], title_justify="left", show_lines=False)
        for column in ("id", "type", "lang", "team", "score"):
            table.add_column(column)
        for source in result.sources:
            table.add_row(
                source.id, source.type, source.language, source.team or "", f"{source.score:.3f}"
            )
        console.print(table)
    if result.related:
        console.print(f"\n[bold]{labels['related']}[/]")
        for source in result.related:
            console.print(f"  \u2022 {source.title} ({source.id})", markup=False, highlight=False)
    timings = result.timings_ms
    console.print(
        f"[dim]{result.generator}; retrieval {timings.retrieval:.0f} ms, "
        f"total {timings.total:.0f} ms[/]",
        highlight=False,
    )
