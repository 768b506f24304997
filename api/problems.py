"""Every error as RFC 9457 problem+json, with a message a user can act on; never a traceback.

On the OpenAI-compatible paths (`/v1/models`, `/v1/chat/completions`) the same errors answer in
OpenAI's error format instead, since that is what chat clients parse: `OpenAIErrors` rewrites a
problem document there, whoever made it (a route, a handler below, the body limit, the request
guard, a 500), so each error is still decided in one place and only its wording differs.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


# -- the OpenAI-compatible paths -----------------------------------------------------------------


def speaks_openai(path: str) -> bool:
    """Whether `path` is one of the OpenAI-compatible ones, whose errors chat clients parse."""
    return path.startswith("/v1/chat/") or path == "/v1/models" or path.startswith("/v1/models/")


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(BaseModel):
    """An error as OpenAI's API words it: `type` and `code` say what kind, `message` what to do."""

    error: OpenAIErrorDetail


# The `type` and `code` of each status, as OpenAI (or, where it has none, its clients) name them.
OPENAI_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
    421: ("invalid_request_error", "misdirected_request"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    503: ("server_error", "service_unavailable"),
}


def openai_error(problem: dict[str, Any]) -> tuple[int, OpenAIError]:
    """A problem document in OpenAI's format. An invalid request (422 here) is OpenAI's 400;
    a problem's own `code` and `param`, when it has them, say more than its status."""
    status = int(problem.get("status", 500))
    if status == 422:
        status = 400
    kind, code = OPENAI_KINDS.get(
        status, ("server_error", None) if status >= 500 else ("invalid_request_error", None)
    )
    fields = [e.get("field") for e in problem.get("errors") or [] if isinstance(e, dict)]
    detail = OpenAIErrorDetail(
        message=str(problem.get("detail") or problem.get("title") or "error"),
        type=kind,
        param=problem.get("param") or next((f for f in fields if f), None),
        code=problem.get("code", code),
    )
    return status, OpenAIError(error=detail)


class OpenAIErrors:
    """Rewrites a problem+json answer on the OpenAI-compatible paths into OpenAI's format,
    keeping its headers (`Retry-After`, `Allow`). It wraps the whole application, so the body
    limit's and the request guard's answers and a 500 are rewritten too (`api.main`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not speaks_openai(scope["path"]):
            await self.app(scope, receive, send)
            return
        held: Message | None = None  # the start of a problem answer, until its body is whole
        body = bytearray()

        async def rewrite(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and _is_problem(message):
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            status, error = openai_error(json.loads(body))
            data = error.model_dump_json().encode()
            headers = [
                (name, value)
                for name, value in held.get("headers", [])
                if name.lower() not in (b"content-type", b"content-length")
            ]
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ]
            await send({**held, "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": data})

        await self.app(scope, receive, rewrite)


def _is_problem(start: Message) -> bool:
    return any(
        name.lower() == b"content-type" and value.startswith(PROBLEM_JSON.encode())
        for name, value in start.get("headers", [])
    )
