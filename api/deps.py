"""The routes' dependencies: the services the lifespan built, and who is calling.

Each is a module-level function, so a test (or another app) can replace it through
`app.dependency_overrides`: `get_services` for every service at once, `current_user` for
authentication, or one of `anyone`, `professional`, `curator` for one role check.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request

from api.db import CycleStore, DraftStore, GroupStore, SessionStore
from api.problems import Problem
from api.ratelimit import RateLimits
from api.xapi.statements import RecordsConfig
from coach.engine import Coach
from coach.ingest.curation import Curator
from coach.keys import KeyStore, Principal
from coach.vocabulary import Role


@dataclass
class ApiServices:
    """What the routes use, built once per process in the lifespan (`app.state.services`)."""

    coach: Coach
    sessions: SessionStore
    drafts: DraftStore
    groups: GroupStore  # learning groups
    cycles: CycleStore  # their vital week cycles
    keys: KeyStore
    curator: Curator
    local_mode: bool
    streams: Executor  # runs the coaching of streamed requests, a bounded number at a time
    limits: RateLimits  # coaching and search requests per user per minute, in this process
    max_pending_drafts: int = 20  # lesson drafts a user may have waiting; 0 = no limit
    records: RecordsConfig | None = None  # None: no LRS set, no learning records kept
    # set once the indexer has loaded what a first save needs (`api.main.warm_behind`)
    writer_warm: threading.Event = field(default_factory=threading.Event)


def get_services(request: Request) -> ApiServices:
    found: ApiServices = request.app.state.services
    return found


Svc = Annotated[ApiServices, Depends(get_services)]


def public_url(request: Request) -> str:
    """The service's own address, for the absolute links of chat answers and the portfolio
    page, without a trailing slash: `COACH_PUBLIC_URL` when set, else the address the request
    reached the server at (its socket's, where `coach serve` listens). Never the `Host` header:
    the client writes it, and a forged one would put its own domain in the links."""
    configured: str | None = getattr(request.app.state, "public_url", None)
    if configured:
        return configured.rstrip("/")
    root: str = request.scope.get("root_path", "").rstrip("/")
    server: tuple[str, int | None] | None = request.scope.get("server")
    if server is None:  # a Unix socket: links relative to wherever the client reached it
        return root
    host, port = server
    scheme: str = request.scope.get("scheme", "http")
    name = f"[{host}]" if ":" in host else host
    default = (scheme, port) in (("http", 80), ("https", 443)) or port is None
    return f"{scheme}://{name}{'' if default else f':{port}'}{root}"


PublicUrl = Annotated[str, Depends(public_url)]


Authorization = Annotated[str | None, Header()]


def current_user(svc: Svc, authorization: Authorization = None) -> Principal:
    """The caller, by the API key in `Authorization: Bearer KEY` (anyone is admin locally)."""
    if svc.local_mode:
        return Principal("local", "admin")
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Problem(
            401,
            "send your API key as `Authorization: Bearer KEY` (an admin creates one with "
            "`coach keys add USER --role ROLE`)",
        )
    who = svc.keys.lookup(authorization.split(" ", 1)[1].strip())
    if who is None:
        raise Problem(401, "this API key is unknown or revoked; ask an admin for a new one")
    return who


CurrentUser = Annotated[Principal, Depends(current_user)]


def is_admin(svc: Svc, authorization: Authorization = None) -> bool:
    """Whether the caller, who need not say who they are, is an admin (for the details an
    operator needs and nobody else should see)."""
    try:
        return current_user(svc, authorization).role == "admin"
    except Problem:
        return False


Admin = Annotated[bool, Depends(is_admin)]


def require_role(*allowed: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets the caller through when their role is one of `allowed` (an
    admin always passes), and answers 403 otherwise."""

    def check(who: CurrentUser) -> Principal:
        if who.role != "admin" and who.role not in allowed:
            raise Problem(
                403,
                f"this needs the role {' or '.join(allowed)}; your key has the role {who.role}",
            )
        return who

    return check


anyone = require_role("professional", "curator")
professional = require_role("professional")
curator = require_role("curator")
admin = require_role("admin")

Anyone = Annotated[Principal, Depends(anyone)]
Professional = Annotated[Principal, Depends(professional)]
CuratorRole = Annotated[Principal, Depends(curator)]
AdminRole = Annotated[Principal, Depends(admin)]


def coach_allowance(who: Professional, svc: Svc) -> Principal:
    """A professional whose coaching request fits their allowance a minute (429 otherwise)."""
    svc.limits.coach.admit(who.user, "coaching request")
    return who


def search_allowance(who: Anyone, svc: Svc) -> Principal:
    """A caller whose search fits their allowance a minute (429 otherwise)."""
    svc.limits.search.admit(who.user, "search")
    return who


CoachCaller = Annotated[Principal, Depends(coach_allowance)]
SearchCaller = Annotated[Principal, Depends(search_allowance)]
