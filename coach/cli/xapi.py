"""`coach xapi status|flush`: the learning records waiting for the Learning Record Store."""

from __future__ import annotations

import typer

from coach.cli.common import err, out, read_settings

xapi_app = typer.Typer(help="Learning records (xAPI) for the organisation's LRS.")


@xapi_app.command("status")
def xapi_status() -> None:
    """How many records wait, fail and were delivered, and the latest failure."""
    from api.db import Outbox, SessionStore

    settings = read_settings()
    store = SessionStore(settings.sessions_url())
    try:
        found = Outbox(store).status()
    finally:
        store.close()
    where = settings.lrs_url or "none (set COACH_LRS_URL to keep learning records)"
    out.print(f"LRS: {where}", highlight=False)
    out.print(
        f"waiting: {found.pending} (failing: {found.failing})  delivered: {found.delivered}",
        highlight=False,
    )
    if found.oldest_pending:
        out.print(f"oldest waiting since: {found.oldest_pending.isoformat()}", highlight=False)
    if found.next_attempt and found.failing:
        out.print(f"next try: {found.next_attempt.isoformat()}", highlight=False)
    if found.last_error:
        out.print(f"last error: {found.last_error}", highlight=False, markup=False)


@xapi_app.command("flush")
def xapi_flush() -> None:
    """Deliver every waiting record now, whatever its wait; exit 1 when the LRS fails."""
    from api.db import Outbox, SessionStore
    from api.xapi.delivery import LrsClient, deliver_due
    from api.xapi.statements import RecordsConfig

    settings = read_settings()
    config = RecordsConfig.from_settings(settings)
    if config is None:
        err.print(
            "[bold red]error:[/] no LRS is set: set COACH_LRS_URL, COACH_LRS_USERNAME and "
            "COACH_LRS_PASSWORD"
        )
        raise typer.Exit(2)
    store = SessionStore(settings.sessions_url())
    client = LrsClient(config)
    try:
        outbox = Outbox(store)
        outbox.retry_now()
        done = deliver_due(outbox, client)
        left = outbox.status().pending
    finally:
        client.close()
        store.close()
    out.print(f"delivered {done.sent}; waiting {left}", highlight=False)
    if done.error:
        err.print(f"[bold red]error:[/] {done.error}", highlight=False, markup=False)
        raise typer.Exit(1)
