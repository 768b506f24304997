"""`coach eval`: run and score the evaluation suites, write their reports, gate on limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from coach.cli.common import ProgressReporter, err, fail, load_embedder, out, read_settings
from coach.cli.options import CorpusOption, IndexDirOption
from coach.errors import CoachError, CorpusError
from coach.settings import Settings

if TYPE_CHECKING:
    from coach.engine import Coach
    from coach.evals.dataset import Case
    from coach.evals.evaluation import CaseOutcome
    from coach.evals.judge import JudgeConfig
    from coach.evals.suites import Suite
    from coach.index.embedders import Embedder


def eval_command(
    dataset: Annotated[
        Path | None,
        typer.Option(
            "--dataset",
            help="JSONL evaluation cases (one ad-hoc suite on --corpus) instead of "
            "the suites in --thresholds.",
        ),
    ] = None,
    corpus: CorpusOption = None,
    index_dir: IndexDirOption = None,
    suite_names: Annotated[
        list[str] | None,
        typer.Option("--suite", help="Run only this suite of --thresholds (repeatable)."),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where the JSON and Markdown reports go.")
    ] = Path("evals/results"),
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when an aggregate is past its limit.")
    ] = False,
    thresholds: Annotated[
        Path, typer.Option("--thresholds", help="The suites and their limits per metric (TOML).")
    ] = Path("evals/thresholds.toml"),
    compare: Annotated[
        bool,
        typer.Option(
            "--compare", help="Also run dense-only, BM25-only and hybrid, with and without lessons."
        ),
    ] = False,
    judge: Annotated[
        bool,
        typer.Option(
            "--judge",
            help="Also score with Ragas' LLM metrics, asked of the judge in COACH_JUDGE_*.",
        ),
    ] = False,
) -> None:
    """Run the real pipeline on every case of every evaluation suite (or of --dataset) and score
    it offline (Ragas non-LLM metrics, hit@k, MRR, nDCG@5, suggestion and answer precision, hub
    documents, out-of-scope accuracy, citation validity); with --judge, also faithfulness,
    response relevancy, context precision and context recall by an LLM judge."""
    from coach.evals.judge import JudgeConfig, missing_judge_message, preflight
    from coach.evals.suites import Suite, load_suites

    settings = read_settings(corpus_dir=corpus, index_dir=index_dir)
    judge_config = None
    if judge:
        if not settings.judge_base_url:
            err.print(f"[bold red]error:[/] {missing_judge_message()}", highlight=False)
            raise typer.Exit(2)
        judge_config = JudgeConfig(
            base_url=settings.judge_base_url,
            model=settings.judge_model,
            api_key=settings.judge_api_key.get_secret_value(),
            timeout=settings.judge_timeout,
        )
    failures: list[str] = []
    try:
        if dataset is not None:
            single = Suite(dataset.stem, settings.corpus_dir, dataset, settings.index_dir, False)
            suites, outs = [single], [out_dir]
        else:
            suites = load_suites(thresholds, suite_names)
            outs = [out_dir / suite.name for suite in suites]
        if judge_config is not None:
            preflight(judge_config)
        embedder = load_embedder(settings)
        for suite, suite_out in zip(suites, outs, strict=True):
            suite_settings = settings.model_copy(
                update={"corpus_dir": suite.corpus, "index_dir": suite.index_dir}
            )
            failures += _eval_suite(
                suite,
                suite_settings,
                embedder,
                suite_out,
                limits=(thresholds, None if dataset is not None else suite.name) if check else None,
                compare=compare,
                judge_config=judge_config,
            )
    except CoachError as exc:
        raise fail(exc) from exc
    except (OSError, ValueError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    if check:
        for failure in failures:
            err.print(f"[bold red]past its limit:[/] {failure}", highlight=False)
        if failures:
            raise typer.Exit(1)
        err.print(f"every metric is within its limits in {thresholds}")


def _eval_suite(
    suite: Suite,
    settings: Settings,
    embedder: Embedder,
    out_dir: Path,
    limits: tuple[Path, str | None] | None,
    compare: bool,
    judge_config: JudgeConfig | None,
) -> list[str]:
    """Index the suite's corpus, run and score its cases, write its reports; its failures."""
    from coach.evals import evaluation, gate
    from coach.evals.dataset import forms_of
    from coach.factory import build_services

    err.print(f"suite {suite.name}: {suite.dataset} against {suite.corpus}", highlight=False)
    cases = _cases(suite, settings.corpus_dir)
    forms = forms_of(cases)  # long, and short when every case has its one-line form
    services = build_services(settings, embedder)
    overall: dict[str, dict[str, Any]] = {}
    try:
        services.indexer.run(settings.corpus_dir)
        coach = services.coach
        for form in forms:
            form_cases = [case.in_form(form) for case in cases]
            with ProgressReporter(label=f"coached ({form})", unit="cases") as report_progress:
                outcomes = evaluation.run_cases(coach, form_cases, report_progress)
            judged = judge_config if form == "long" else None
            err.print(
                f"scoring the {form} form with Ragas (offline metrics"
                + (f"; LLM metrics judged by {judged.model})" if judged else ")")
            )
            aggregates = evaluation.score(coach, outcomes, judged)
            report = _report(suite, settings, coach, outcomes, aggregates, judged)
            report["config"]["form"] = form
            _write_reports(out_dir if form == "long" else out_dir / form, report, outcomes)
            overall[form] = aggregates["overall"]
        out.print(_table(suite, len(cases), out_dir, overall))
        if compare:
            _compare(coach, cases, out_dir)
    finally:
        services.close()
    if limits is None:
        return []
    path, name = limits
    return [
        f"{suite.name}{'' if form == 'long' else f' ({form} form)'}: {failure}"
        for form in forms
        for failure in gate.check(overall[form], gate.load_thresholds(path, name, form))
    ]


def _table(suite: Suite, count: int, out_dir: Path, overall: dict[str, dict[str, Any]]) -> Table:
    """The suite's aggregates, a column per form (long as written, short as people type)."""
    tuned = "tuned on" if suite.tuned else "held out"
    table = Table(
        title=f"suite {suite.name} ({tuned}): {count} cases; reports in {out_dir}",
        title_justify="left",
    )
    table.add_column("metric")
    for form in overall:
        table.add_column(form, justify="right")
    for name in overall["long"]:
        cells = [overall[form].get(name, "") for form in overall]
        table.add_row(name, *(f"{v:.4f}" if isinstance(v, float) else str(v) for v in cells))
    return table


def _cases(suite: Suite, corpus_dir: Path) -> list[Case]:
    """The suite's cases, once every document they refer to is an active one in the corpus."""
    from coach.evals.dataset import check_references, load_cases
    from coach.ingest.corpus import scan_corpus

    cases = load_cases(suite.dataset)
    documents = scan_corpus(corpus_dir).documents
    problems = check_references(
        cases, {d.id for d in documents if d.is_active}, {d.id for d in documents}
    )
    if problems:
        raise CorpusError(
            f"{len(problems)} reference(s) in {suite.dataset} do not name an active document:\n  "
            + "\n  ".join(problems)
        )
    return cases


def _report(
    suite: Suite,
    settings: Settings,
    coach: Coach,
    outcomes: list[CaseOutcome],
    aggregates: dict[str, Any],
    judge_config: JudgeConfig | None,
) -> dict[str, Any]:
    """The suite's report: the configuration behind the answers, the aggregates, every case."""
    from coach.evals import gate

    return {
        "config": {
            "suite": suite.name,
            "tuned_on_this_suite": suite.tuned,
            **coach.describe(),  # embedder, fusion, calibration, generator
            "k": 5,
            "corpus_hash": gate.corpus_hash(settings.corpus_dir),
            "dataset_hash": gate.file_hash(suite.dataset),
            **(judge_config.describe() if judge_config else {}),
        },
        "aggregates": aggregates,
        "cases": [
            {
                "id": o.case.id,
                "group": o.case.group,
                "grounded": o.result.grounded,
                "retrieved_ids": o.retrieved_ids,
                "suggested_from": o.suggested_from,
                "reference_context_ids": list(o.case.reference_context_ids),
                "scores": o.scores,
            }
            for o in outcomes
        ],
    }


def _write_reports(out_dir: Path, report: dict[str, Any], outcomes: list[CaseOutcome]) -> None:
    from coach.evals.report import html_report, markdown_report

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out_dir / "eval.md").write_text(markdown_report(report, outcomes), "utf-8")
    (out_dir / "eval.html").write_text(html_report(report), "utf-8")


def _compare(coach: Coach, cases: list[Case], out_dir: Path) -> None:
    """Every retriever, with and without lessons learned: written beside the reports, shown."""
    from coach.evals import evaluation
    from coach.evals.report import compare_markdown

    err.print("comparing retrievers, with and without lessons learned")
    rows = evaluation.compare(coach, cases)
    (out_dir / "compare.json").write_text(json.dumps(rows, indent=2) + "\n", "utf-8")
    (out_dir / "compare.md").write_text(compare_markdown(rows), "utf-8")
    comparison = Table(title="retriever comparison", title_justify="left")
    for name in rows[0]:
        comparison.add_column(name)
    for row in rows:
        comparison.add_row(*(str(value) for value in row.values()))
    out.print(comparison)
