"""The evaluation's reports: Markdown (aggregates, groups, worst cases, hubs), a self-contained
HTML page with one chart per metric, and the retriever comparison table."""

from __future__ import annotations

from typing import Any

from coach.evals.evaluation import ANSWER_METRICS, OWN_METRICS, RAGAS_METRICS, CaseOutcome
from coach.evals.hubs import HubRow
from coach.evals.judge import JUDGE_METRICS


def worst_cases(outcomes: list[CaseOutcome], n: int = 10) -> list[CaseOutcome]:
    def badness(o: CaseOutcome) -> tuple[float, float]:
        if o.case.out_of_scope:
            return (o.scores["grounding_correct"], 1.0)
        return (o.scores.get("mrr", 0.0), o.scores.get("rouge_score", 0.0))

    return sorted(outcomes, key=badness)[:n]


def markdown_report(report: dict[str, Any], outcomes: list[CaseOutcome]) -> str:
    overall = report["aggregates"]["overall"]
    lines = ["# Evaluation report", "", f"Configuration: `{report['config']}`", ""]
    lines += ["| metric | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in overall.items()]
    lines += ["", "## Per language", ""]
    judged = [name for name in JUDGE_METRICS if name in overall]
    names = [*OWN_METRICS, *ANSWER_METRICS, "id_based_context_recall", "rouge_score", *judged]
    lines += ["| group | cases | " + " | ".join(names) + " |"]
    lines += ["| --- " * (len(names) + 2) + "|"]
    for group, row in report["aggregates"]["groups"].items():
        lines.append(
            f"| {group} | {row['cases']} | " + " | ".join(str(row[n]) for n in names) + " |"
        )
    lines += ["", "## Hub documents", ""]
    lines += [
        "The documents the answers suggest from most often, against how many cases reference "
        "them; a document may be in at most 20% of the answers, or in as many as reference it.",
        "",
        "| document | answers | share | referenced by | allowed share | over |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for hub in report["aggregates"]["hubs"]:
        row = HubRow(**hub)
        lines.append(
            f"| {row.doc_id} | {row.answers} | {row.share} | {row.referenced_by} | "
            f"{row.allowed} | {'yes' if row.over else 'no'} |"
        )
    lines += ["", "## The ten worst cases", ""]
    lines += [
        "| case | grounded | expected | retrieved | suggested from | mrr |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for o in worst_cases(outcomes):
        expected = ", ".join(o.case.reference_context_ids) or "(out of scope)"
        lines.append(
            f"| {o.case.id} | {o.result.grounded} | {expected} | "
            f"{', '.join(o.retrieved_ids) or '-'} | {', '.join(o.suggested_from) or '-'} | "
            f"{o.scores.get('mrr', '-')} |"
        )
    return "\n".join(lines) + "\n"


def compare_markdown(rows: list[dict[str, Any]]) -> str:
    names = list(rows[0])
    lines = ["| " + " | ".join(names) + " |", "|" + " --- |" * len(names)]
    for row in rows:
        lines.append("| " + " | ".join(str(row[name]) for name in names) + " |")
    return "\n".join(lines) + "\n"


def html_report(report: dict[str, Any]) -> str:
    """A self-contained page (no scripts, no external files): one bar chart per metric, the
    bars being the overall value and each language group's."""
    groups = {"all": report["aggregates"]["overall"], **report["aggregates"]["groups"]}
    measured = report["aggregates"]["overall"]
    metrics = [
        m for m in (*OWN_METRICS, *ANSWER_METRICS, *RAGAS_METRICS, *JUDGE_METRICS) if m in measured
    ]
    charts = []
    for metric in metrics:
        bars = []
        for row, (group, values) in enumerate(groups.items()):
            value = float(values.get(metric, 0.0))
            width = round(300 * max(0.0, min(1.0, value)))
            y = 8 + row * 22
            bars.append(
                f'<text x="0" y="{y + 13}" font-size="12">{group}</text>'
                f'<rect x="110" y="{y}" width="{width}" height="16" fill="#2f6f9f"></rect>'
                f'<text x="{116 + width}" y="{y + 13}" font-size="12">{value:.3f}</text>'
            )
        height = 16 + 22 * len(groups)
        charts.append(
            f"<figure><figcaption>{metric}</figcaption>"
            f'<svg role="img" aria-label="{metric} per group" width="480" height="{height}">'
            + "".join(bars)
            + "</svg></figure>"
        )
    config = "".join(
        f"<tr><th>{key}</th><td>{value}</td></tr>" for key, value in report["config"].items()
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Coach evaluation</title><style>body{font-family:sans-serif;margin:2rem}"
        "figure{display:inline-block;margin:0 2rem 1rem 0}figcaption{font-weight:bold}"
        "</style></head><body><h1>Coach evaluation</h1>"
        f"<table>{config}</table>" + "".join(charts) + _html_hubs(report) + "</body></html>\n"
    )


def _html_hubs(report: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{row.doc_id}</td><td>{row.answers}</td><td>{row.share}</td>"
        f"<td>{row.referenced_by}</td><td>{row.allowed}</td>"
        f"<td>{'yes' if row.over else 'no'}</td></tr>"
        for row in (HubRow(**hub) for hub in report["aggregates"].get("hubs", []))
    )
    return (
        "<h2>Hub documents</h2><table><tr><th>document</th><th>answers</th><th>share</th>"
        "<th>referenced by</th><th>allowed share</th><th>over</th></tr>" + rows + "</table>"
    )
