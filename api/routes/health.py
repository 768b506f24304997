"""Liveness and readiness for the operator, and who a key belongs to."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from api.deps import Admin, Anyone, Svc
from api.openapi import OPTIONAL_KEY
from api.problems import problem_response
from api.schemas import Me
from coach.errors import CoachError

router = APIRouter()
log = logging.getLogger("coach.api")


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], openapi_extra=OPTIONAL_KEY)
def readyz(svc: Svc, admin: Admin) -> Response:
    """The index and the database answer; 503 otherwise. Why not (a path, a host, an error)
    is for the server log and for callers with an admin key; others hear only what fails."""
    checks: dict[str, str] = {}
    reasons: dict[str, str] = {}
    try:
        svc.coach.ready()
        checks["index"] = "ok"
    except CoachError as exc:
        checks["index"], reasons["index"] = "unavailable", str(exc)
    # Informational: a save works before the indexer is warm, it only takes longer.
    checks["writer"] = "ok" if svc.writer_warm.is_set() else "warming"
    try:
        svc.sessions.ping()
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means: not ready
        checks["database"], reasons["database"] = "unreachable", f"{type(exc).__name__}: {exc}"
    if not reasons:
        return JSONResponse({"status": "ready", "checks": checks})
    for name, reason in reasons.items():
        log.warning("not ready: %s: %s", name, reason)
    shown = reasons if admin else {name: checks[name] for name in reasons}
    failing = "; ".join(f"{name} {value}" for name, value in shown.items())
    return problem_response(503, f"not ready: {failing}", checks=checks)


@router.get("/v1/me", tags=["access"], response_model=Me)
def me(who: Anyone, svc: Svc) -> Me:
    """Who your key says you are, and whether the service runs in local mode."""
    return Me(user=who.user, role=who.role, local_mode=svc.local_mode)
