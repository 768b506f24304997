"""Every error as RFC 9457 problem+json, with a message a user can act on; never a traceback."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from coach.errors import (
    CoachError,
    ConfigurationError,
    ConflictError,
    CorpusError,
    IndexMismatchError,
    IndexNotFoundError,
    InvalidRequestError,
    NotFoundError,
    SearchIndexError,
    StaleVersionError,
)

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("coach.api")

# What a caller hears when the search index fails: its message names the index's folder or the
# Chroma server's host, which go to the server log only.
INDEX_UNAVAILABLE = (
    "the search index is not available right now (the server log says why); try again in a "
    "minute, or tell the admin"
)


def public_detail(exc: CoachError) -> str:
    """What a caller may read of `exc`: all of it, but for an index error's location."""
    if isinstance(exc, SearchIndexError):
        log.warning("search index: %s", exc)
        return INDEX_UNAVAILABLE
    return str(exc)


TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request too large",
    415: "Unsupported media type",
    421: "Misdirected request",
    422: "Invalid request",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class Problem(Exception):
    """Raise to answer with a problem document."""

    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extra = extra


def problem_response(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def allowed_methods(openapi: dict[str, Any], path: str) -> list[str]:
    """Every method the API documents for `path` (each route has its own methods, so the
    router alone would name only the first route's in a 405's Allow header)."""
    methods: set[str] = set()
    for template, operations in openapi.get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


def status_for(exc: CoachError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, StaleVersionError):
        return 412
    if isinstance(exc, InvalidRequestError | CorpusError):
        return 422
    if isinstance(exc, IndexNotFoundError | IndexMismatchError | SearchIndexError):
        return 503
    if isinstance(exc, ConfigurationError):
        return 503
    return 500


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            allowed = allowed_methods(request.app.openapi(), request.url.path)
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed here; use {' or '.join(allowed)}"
        return problem_response(exc.status_code, detail, headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A field is named without where it came from (body, query, path, header), so a form
        # finds `body` (a document's text) and `offset` as they are called.
        errors = [
            {
                "field": ".".join(str(part) for part in error["loc"][1:]),
                "message": error["msg"],
            }
            for error in exc.errors()
        ]
        summary = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
        return problem_response(422, f"the request is not valid: {summary}", errors=errors)

    @app.exception_handler(CoachError)
    async def _coach(request: Request, exc: CoachError) -> JSONResponse:
        extra: dict[str, Any] = {}
        if isinstance(exc, CorpusError) and exc.problems:
            extra["errors"] = [
                {"field": p.field, "rule": p.rule, "line": p.line, "message": p.message}
                for p in exc.problems
            ]
        return problem_response(status_for(exc), public_detail(exc), **extra)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            500, "the coach hit an unexpected error; it is logged. Try again, or tell the admin."
        )
