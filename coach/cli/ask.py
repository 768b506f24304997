"""`coach ask`: coach one work situation, or every line of a JSONL batch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from coach.cli.common import err, fail, load_services, out, read_settings
from coach.cli.options import IndexDirOption
from coach.errors import CoachError

if TYPE_CHECKING:
    from coach.engine import Coach


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
    from coach.retrieve.filters import Filters

    if (situation is None) == (batch is None):
        err.print("[bold red]error:[/] give either a SITUATION or --batch FILE", highlight=False)
        raise typer.Exit(2)
    filters = Filters(team=team, type=doc_type)
    try:
        if situation is not None:
            validate_request(situation, filters, k)  # before the model loads: fail fast
        settings = read_settings(index_dir=index_dir, corpus_dir=corpus)
        services = load_services(settings)
        try:
            if batch is not None:
                _ask_batch(services.coach, batch, out_file, k)
                return
            assert situation is not None
            result = services.coach.ask(situation, filters=filters, k=k)
        finally:
            services.close()
    except CoachError as exc:
        raise fail(exc) from exc
    if as_json:
        print(result.model_dump_json(indent=2))
    else:
        from coach.cli.render import render_result

        render_result(out, result)


def _ask_batch(coach: Coach, batch: Path, out_file: Path | None, k: int) -> None:
    import json

    from coach.retrieve.filters import Filters

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
