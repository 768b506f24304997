"""`coach keys add|list|revoke`: the API keys, stored hashed."""

from __future__ import annotations

from typing import Annotated

import typer

from coach.cli.common import err, fail, read_settings
from coach.errors import CoachError

keys_app = typer.Typer(help="Manage API keys (stored hashed in COACH_API_KEYS_FILE).")


@keys_app.command("add")
def keys_add(
    user: Annotated[str, typer.Argument(help="The user id the key belongs to.")],
    role: Annotated[str, typer.Option("--role", help="professional, curator or admin.")],
) -> None:
    """Create a key; the new key is printed alone on the last line (it is not stored)."""
    from coach.keys import KeyStore

    store = KeyStore(read_settings().keys_path())
    try:
        key = store.add(user, role)
    except CoachError as exc:
        raise fail(exc) from exc
    err.print(f"created a {role} key for {user} in {store.path}; keep it, it is shown once:")
    print(key)


@keys_app.command("list")
def keys_list() -> None:
    """List users, roles and when their keys were created (never the keys)."""
    from coach.keys import KeyStore

    try:
        records = KeyStore(read_settings().keys_path()).records()
    except CoachError as exc:
        raise fail(exc) from exc
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
        removed = KeyStore(read_settings().keys_path()).revoke(user)
    except CoachError as exc:
        raise fail(exc) from exc
    if not removed:
        err.print(f"[bold red]error:[/] {user} has no keys", highlight=False)
        raise typer.Exit(1)
    err.print(f"revoked {removed} key(s) of {user}")
