"""The `coach` command line: the edge where settings are read and the library is wired up.

Each command lives in a module of its own; this one makes the typer app of them. Commands import
what they need when they run, so `coach --help` stays fast.
"""

from __future__ import annotations

import typer

from coach.cli import ask, index, keys, lint, serve, xapi
from coach.cli import eval as evaluation
from coach.offline import offline_environment

app = typer.Typer(
    help="A coach for learning while working, grounded in your organisation's own documents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(lint.lint)
app.command()(index.index)
app.command()(ask.ask)
app.add_typer(keys.keys_app, name="keys")
app.command()(serve.serve)
app.command("eval")(evaluation.eval_command)
app.add_typer(xapi.xapi_app, name="xapi")


def main() -> None:
    offline_environment()
    app()


if __name__ == "__main__":
    main()
