"""Liveness and readiness for the operator, and who a key belongs to."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from api.deps import Anyone, Svc
from api.problems import problem_response
from api.schemas import Me
from coach.errors import CoachError

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"])
def readyz(svc: Svc) -> Response:
    """The index and the database answer; 503 otherwise."""
    checks: dict[str, str] = {}
    try:
        svc.coach.ready()
        checks["index"] = "ok"
    except CoachError as exc:
        checks["index"] = str(exc)
    try:
        svc.sessions.ping()
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means: not ready
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if all(value == "ok" for value in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    failing = "; ".join(f"{name}: {value}" for name, value in checks.items() if value != "ok")
    return problem_response(503, f"not ready: {failing}", checks=checks)


@router.get("/v1/me", tags=["access"], response_model=Me)
def me(who: Anyone, svc: Svc) -> Me:
    """Who your key says you are, and whether the service runs in local mode."""
    return Me(user=who.user, role=who.role, local_mode=svc.local_mode)
