"""The `coach` command line: the edge where settings are read and the library is wired up."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from coach.errors import CoachError, CorpusError
from coach.offline import offline_environment
from coach.settings import Settings

if TYPE_CHECKING:
    from coach.engine import Coach
    from coach.evals.judge import JudgeConfig
    from coach.evals.suites import Suite
    from coach.factory import Services
    from coach.index.embedders import Embedder
    from coach.index.indexer import ProgressCallback

app = typer.Typer(
    help="A coach for learning while working, grounded in your organisation's own documents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
CorpusOption = Annotated[Path | None, typer.Option("--corpus", help="Corpus folder.")]
IndexDirOption = Annotated[
    Path | None, typer.Option("--index-dir", help="Folder of the embedded index.")
]
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _settings(**overrides: object) -> Settings:
    from pydantic import ValidationError

    values = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.errors():
            name = "COACH_" + "_".join(str(part) for part in error["loc"]).upper()
            err.print(
                f"[bold red]error:[/] invalid setting {name}: {error['msg']}", highlight=False
            )
        raise typer.Exit(2) from None


def _fail(exc: CoachError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    if isinstance(exc, CorpusError):
        for problem in exc.problems:
            err.print(f"  {problem}", highlight=False, markup=False)
    return typer.Exit(2)


@app.command()
def lint(
    corpus: Annotated[
        Path | None, typer.Argument(help="Corpus folder (default: COACH_CORPUS_DIR or ./corpus).")
    ] = None,
) -> None:
    """Check every document and didactics.yaml; list each problem with file and line.

    Exit code 0 when the corpus is clean, 1 when there is any problem.
    """
    from coach.ingest.lint import lint_corpus

    corpus_dir = corpus or _settings().corpus_dir
    try:
        problems = lint_corpus(corpus_dir)
    except CoachError as exc:
        raise _fail(exc) from exc
    for problem in problems:
        out.print(
            f"{corpus_dir / problem.path}:{problem.line}: [{problem.rule}] {problem.message}",
            highlight=False,
            markup=False,
        )
    if problems:
        files = len({problem.path for problem in problems})
        err.print(f"{len(problems)} problem(s) in {files} file(s)")
        raise typer.Exit(1)
    err.print(f"{corpus_dir}: no problems")


@app.command()
def index(
    corpus: CorpusOption = None,
    index_dir: IndexDirOption = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse the whole run when any file is invalid.")
    ] = False,
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="Drop the index and build it anew (after a model change)."),
    ] = False,
) -> None:
    """Bring the index in step with the corpus: embed new and changed documents, drop the rest.

    Only active documents are indexed. Invalid files are skipped with their problem and the
    exit code is 1; a second run in a row embeds nothing.
    """
    settings = _settings(corpus_dir=corpus, index_dir=index_dir)
    started = time.perf_counter()
    try:
        indexer = _services(settings).indexer
        with ProgressReporter() as report_progress:
            report = indexer.run(
                settings.corpus_dir, strict=strict, rebuild=rebuild, progress=report_progress
            )
    except CoachError as exc:
        raise _fail(exc) from exc
    for problem in report.skipped:
        err.print(
            f"skipped {settings.corpus_dir / problem.path}:{problem.line}: "
            f"[{problem.rule}] {problem.message}",
            highlight=False,
            markup=False,
        )
    counts = report.counts()
    summary = ", ".join(f"{value} {key}" for key, value in counts.items())
    out.print(
        f"{indexer.location.describe()}: {summary}; {report.chunks_embedded} chunks embedded "
        f"in {time.perf_counter() - started:.1f} s"
        + (
            f"; repaired {report.repaired_chunks} leftover chunks" if report.repaired_chunks else ""
        ),
        highlight=False,
    )
    if counts["skipped"]:
        raise typer.Exit(1)


def _services(settings: Settings) -> Services:
    """Everything a command needs, from the composition root (the model loads under a spinner)."""
    from coach.factory import build_services

    return build_services(settings, _embedder(settings))


def _embedder(settings: Settings) -> Embedder:
    from coach.factory import build_embedder

    with err.status(f"loading embedding model {settings.embedding_model}"):
        return build_embedder(settings)


@app.command()
def ask(
    situation: Annotated[
        str | None, typer.Argument(help="Your work situation, in Dutch or English.")
    ] = None,
    index_dir: IndexDirOption = None,
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="Corpus folder (for didactics.yaml).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result schema as JSON, nothing else.")
    ] = False,
    k: Annotated[int, typer.Option("--k", help="How many sources to retrieve (1-20).")] = 5,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's documents.")] = None,
    doc_type: Annotated[
        str | None, typer.Option("--type", help="Only procedures or only lessons.")
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help='JSONL file of {"id", "situation", "team"?, "type"?}.'),
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Where --batch writes its JSONL (default stdout).")
    ] = None,
) -> None:
    """Coach a work situation: grounded suggestions, didactic questions, colleagues, sources.

    With --batch, answer every line of a JSONL file in one process and write one JSON line per
    input ({"id", "result"} or {"id", "error"}); the exit code is 1 when any line failed.
    """
    from coach.engine import validate_request
    from coach.retrieve.retriever import Filters

    if (situation is None) == (batch is None):
        err.print("[bold red]error:[/] give either a SITUATION or --batch FILE", highlight=False)
        raise typer.Exit(2)
    filters = Filters(team=team, type=doc_type)
    try:
        if situation is not None:
            validate_request(situation, filters, k)  # before the model loads: fail fast
        settings = _settings(index_dir=index_dir, corpus_dir=corpus)
        services = _services(settings)
        try:
            if batch is not None:
                _ask_batch(services.coach, batch, out_file, k)
                return
            assert situation is not None
            result = services.coach.ask(situation, filters=filters, k=k)
        finally:
            services.close()
    except CoachError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(result.model_dump_json(indent=2))
    else:
        from coach.cli.render import render_result

        render_result(out, result)


def _ask_batch(coach: Coach, batch: Path, out_file: Path | None, k: int) -> None:
    import json

    from coach.retrieve.retriever import Filters

    try:
        lines = batch.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CoachError(f"cannot read the batch file {batch}: {exc}") from exc
    target = out_file.open("w", encoding="utf-8") if out_file else sys.stdout
    answered = failed = 0
    try:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            item_id: object = f"line-{number}"
            try:
                item = json.loads(line)
                if not isinstance(item, dict) or not isinstance(item.get("situation"), str):
                    raise CoachError('each line needs a JSON object with a "situation" string')
                item_id = item.get("id", item_id)
                filters = Filters(team=item.get("team"), type=item.get("type"))
                result = coach.ask(item["situation"], filters=filters, k=int(item.get("k", k)))
                record = {"id": item_id, "result": result.model_dump(mode="json")}
                answered += 1
            except (CoachError, json.JSONDecodeError, ValueError) as exc:
                record = {"id": item_id, "error": f"line {number}: {exc}"}
                failed += 1
            target.write(json.dumps(record, ensure_ascii=False) + "\n")
            target.flush()
    finally:
        if out_file:
            target.close()
    err.print(f"{answered} answered, {failed} failed", highlight=False)
    if failed:
        raise typer.Exit(1)


keys_app = typer.Typer(help="Manage API keys (stored hashed in COACH_API_KEYS_FILE).")
app.add_typer(keys_app, name="keys")


@keys_app.command("add")
def keys_add(
    user: Annotated[str, typer.Argument(help="The user id the key belongs to.")],
    role: Annotated[str, typer.Option("--role", help="professional, curator or admin.")],
) -> None:
    """Create a key; the new key is printed alone on the last line (it is not stored)."""
    from coach.keys import KeyStore

    store = KeyStore(_settings().keys_path())
    try:
        key = store.add(user, role)
    except CoachError as exc:
        raise _fail(exc) from exc
    err.print(f"created a {role} key for {user} in {store.path}; keep it, it is shown once:")
    print(key)


@keys_app.command("list")
def keys_list() -> None:
    """List users, roles and when their keys were created (never the keys)."""
    from coach.keys import KeyStore

    try:
        records = KeyStore(_settings().keys_path()).records()
    except CoachError as exc:
        raise _fail(exc) from exc
    for record in records:
        print(f"{record.user}\t{record.role}\t{record.created}")
    if not records:
        err.print("no keys yet: create one with `coach keys add USER --role ROLE`")


@keys_app.command("revoke")
def keys_revoke(
    user: Annotated[str, typer.Argument(help="Revoke every key of this user.")],
) -> None:
    """Revoke every key of a user (takes effect in a running service at once)."""
    from coach.keys import KeyStore

    try:
        removed = KeyStore(_settings().keys_path()).revoke(user)
    except CoachError as exc:
        raise _fail(exc) from exc
    if not removed:
        err.print(f"[bold red]error:[/] {user} has no keys", highlight=False)
        raise typer.Exit(1)
    err.print(f"revoked {removed} key(s) of {user}")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    corpus: CorpusOption = None,
    index_dir: IndexDirOption = None,
    local: Annotated[
        bool,
        typer.Option("--local", help="Single-user mode without API keys (this machine only)."),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes (each loads the model, about 0.5 GB); one per core for load.",
        ),
    ] = 1,
) -> None:
    """Start the HTTP API and the web page. Brings the index up to date first."""
    import uvicorn

    from api.app import create_app

    settings = _settings(corpus_dir=corpus, index_dir=index_dir, local_mode=True if local else None)
    try:
        services = _services(settings)
        with ProgressReporter() as report_progress:
            report = services.indexer.run(settings.corpus_dir, progress=report_progress)
        counts = ", ".join(f"{value} {key}" for key, value in report.counts().items())
        err.print(f"{services.indexer.location.describe()}: {counts}", highlight=False)
        coach = services.coach
    except CoachError as exc:
        raise _fail(exc) from exc
    if settings.local_mode:
        err.print(
            "[bold yellow]local mode:[/] no API keys needed; everyone who can reach "
            f"{host}:{port} acts as the single local user (admin).",
            highlight=False,
        )
    if workers == 1:
        uvicorn.run(create_app(settings, coach), host=host, port=port, log_level="info")
        return
    # Each worker process builds its own service from the environment; the index is already
    # up to date, and writes are serialised across processes by lock files.
    services.close()
    del coach, services  # the supervisor process needs no model
    os.environ.update(
        COACH_CORPUS_DIR=str(settings.corpus_dir.resolve()),
        COACH_INDEX_DIR=str(settings.index_dir.resolve()),
        COACH_LOCAL_MODE="true" if settings.local_mode else "false",
    )
    err.print(f"starting {workers} worker processes", highlight=False)
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
    )


@app.command("eval")
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

    settings = _settings(corpus_dir=corpus, index_dir=index_dir)
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
        embedder = _embedder(settings)
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
        raise _fail(exc) from exc
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
    import json

    from coach.evals import evaluation
    from coach.evals.dataset import check_references, load_cases
    from coach.factory import build_services
    from coach.ingest.corpus import scan_corpus

    err.print(f"suite {suite.name}: {suite.dataset} against {suite.corpus}", highlight=False)
    cases = load_cases(suite.dataset)
    documents = scan_corpus(settings.corpus_dir).documents
    problems = check_references(
        cases, {d.id for d in documents if d.is_active}, {d.id for d in documents}
    )
    if problems:
        raise CorpusError(
            f"{len(problems)} reference(s) in {suite.dataset} do not name an active document:\n  "
            + "\n  ".join(problems)
        )
    services = build_services(settings, embedder)
    services.indexer.run(settings.corpus_dir)
    coach = services.coach
    with ProgressReporter(label="coached", unit="cases") as report_progress:
        outcomes = evaluation.run_cases(coach, cases, report_progress)
    err.print(
        "scoring with Ragas (offline metrics"
        + (f"; LLM metrics judged by {judge_config.model})" if judge_config else ")")
    )
    aggregates = evaluation.score(coach, outcomes, judge_config)
    report = {
        "config": {
            "suite": suite.name,
            "tuned_on_this_suite": suite.tuned,
            **coach.describe(),  # embedder, fusion, calibration, generator
            "k": 5,
            "corpus_hash": evaluation.corpus_hash(settings.corpus_dir),
            "dataset_hash": evaluation.file_hash(suite.dataset),
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
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out_dir / "eval.md").write_text(evaluation.markdown_report(report, outcomes), "utf-8")
    (out_dir / "eval.html").write_text(evaluation.html_report(report), "utf-8")
    tuned = "tuned on" if suite.tuned else "held out"
    table = Table(
        title=f"suite {suite.name} ({tuned}): {len(cases)} cases; reports in {out_dir}",
        title_justify="left",
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in aggregates["overall"].items():
        table.add_row(name, f"{value:.4f}" if isinstance(value, float) else str(value))
    out.print(table)
    if compare:
        err.print("comparing retrievers, with and without lessons learned")
        rows = evaluation.compare(coach, cases)
        (out_dir / "compare.json").write_text(json.dumps(rows, indent=2) + "\n", "utf-8")
        (out_dir / "compare.md").write_text(evaluation.compare_markdown(rows), "utf-8")
        comparison = Table(title="retriever comparison", title_justify="left")
        for name in rows[0]:
            comparison.add_column(name)
        for row in rows:
            comparison.add_row(*(str(value) for value in row.values()))
        out.print(comparison)
    services.close()
    if limits is None:
        return []
    path, name = limits
    return [
        f"{suite.name}: {failure}"
        for failure in evaluation.check(
            aggregates["overall"], evaluation.load_thresholds(path, name)
        )
    ]


class ProgressReporter:
    """A progress bar on a terminal; a line per group of chunks otherwise (logs, CI, tests)."""

    def __init__(self, label: str = "embedded", unit: str = "chunks") -> None:
        self.label = label
        self.unit = unit

    def __enter__(self) -> ProgressCallback:
        self._bar: Progress | None = None
        self._task: object = None
        if err.is_terminal:
            self._bar = Progress(
                TextColumn(self.label),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self._bar.start()
        return self._update

    def _update(self, done: int, total: int) -> None:
        if total == 0:
            return
        if self._bar is None:
            print(f"{self.label} {done}/{total} {self.unit}", file=sys.stderr, flush=True)
            return
        if self._task is None:
            self._task = self._bar.add_task("embedding", total=total)
        self._bar.update(self._task, completed=done)  # type: ignore[arg-type]

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def main() -> None:
    offline_environment()
    app()


if __name__ == "__main__":
    main()
