"""The OpenAPI document states what the server does: every status an operation can answer, each
error as problem+json, and the bearer-key security scheme.

The statuses follow from what an operation takes (a key, a body, path parameters, If-Match), so
a new route is described correctly without listing its errors by hand; a route adds what only
it can answer (409, 429, 503) with `responses=errors(...)`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from api.problems import PROBLEM_JSON, TITLES

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
SECURITY_SCHEME = "apiKey"
# For a route a key is optional for (readiness: an admin key only adds the reasons).
OPTIONAL_KEY: dict[str, Any] = {"security": [{}, {SECURITY_SCHEME: []}]}


class ProblemField(BaseModel):
    field: str | None = None
    message: str
    rule: str | None = None
    line: int | None = None


class Problem(BaseModel):
    """An error, as RFC 9457 problem details: `detail` says what to change."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemField] | None = None


WHY: dict[int, str] = {
    400: "The body is not JSON.",
    401: "No API key, or one that is unknown or revoked.",
    403: "The key's role may not do this (or, in local mode, a request from another site).",
    404: "No such resource (or not yours).",
    409: "It conflicts with the current state.",
    412: "If-Match names a version that is no longer current.",
    413: "The body is over 256 kB.",
    415: "The body is not sent as application/json.",
    421: "Local mode: the request was not addressed to this machine.",
    422: "A value is not valid; `errors` names each field.",
    428: "If-Match is required.",
    429: "Over the limit; Retry-After says when to try again.",
    503: "The search index or the keys file is not available right now.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """What a route adds to the statuses its parameters and dependencies imply."""
    return {status: problem(status) for status in statuses}


def problem(status: int) -> dict[str, Any]:
    description = WHY.get(status, TITLES.get(status, "Error"))
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def implied_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The errors an operation can answer because of what it takes: a key, a body, path
    parameters, If-Match."""
    parameters = operation.get("parameters", [])
    where = {(param["in"], param["name"].lower()) for param in parameters}
    statuses = {421} if path.startswith("/v1") else set()
    if ("header", "authorization") in where:
        statuses |= {401, 403, 503}
    if "requestBody" in operation:
        statuses |= {400, 413, 415, 422}
    if parameters:
        statuses.add(422)
    if any(place == "path" for place, _name in where):
        statuses.add(404)
    if ("header", "if-match") in where:
        statuses |= {412, 428}
    if method in {"post", "put", "patch", "delete"} and path.startswith("/v1"):
        statuses.add(403)  # local mode refuses a write from another site
    return statuses


def install(app: FastAPI) -> None:
    """Make `app.openapi()` produce the complete document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {})["Problem"] = _problem_schema(components)
        components["securitySchemes"] = {
            SECURITY_SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key from `coach keys add` (local mode needs none).",
            }
        }
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                _describe(path, method, operation)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_schema(components: dict[str, Any]) -> dict[str, Any]:
    model = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in model.pop("$defs", {}).items():
        components["schemas"][name] = definition
    return model


def _describe(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status in sorted(implied_statuses(path, method, operation)):
        responses.setdefault(str(status), problem(status))
    if "422" in responses:
        responses["422"] = problem(422)  # ours, not FastAPI's HTTPValidationError
    parameters = operation.get("parameters", [])
    keyed = [p for p in parameters if (p["in"], p["name"].lower()) == ("header", "authorization")]
    if keyed:  # the key is the security scheme's, not a parameter of each operation
        operation["parameters"] = [p for p in parameters if p not in keyed]
        operation.setdefault("security", [{SECURITY_SCHEME: []}])  # a route may make it optional
    for status, response in responses.items():
        if status.startswith(("4", "5")) and PROBLEM_JSON not in response.get("content", {}):
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
