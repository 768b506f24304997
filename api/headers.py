"""Headers on every response, errors included: the browser's security policy, `no-store` on the
API (its answers are personal: sessions, drafts, answers, searches), and which worker process
served it (an opaque id, so an operator or a test can tell workers apart; the server log maps it
to the process).

`ResponseHeaders` wraps the whole application, outside Starlette's error middleware, so a 500 for
an unexpected error carries these headers as well (`api.main` installs it that way)."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("coach.api")

# The page loads nothing from elsewhere and may be framed by no one.
PAGE_POLICY = "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'"
# FastAPI's /docs and /redoc pages load Swagger UI and ReDoc from their CDN.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.jsdelivr.net; worker-src blob:; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
SET_HERE = {b"content-security-policy", b"cache-control", b"x-worker"} | {n for n, _ in ALWAYS}
# One secret per process start: the worker id tells workers apart and reveals neither host nor
# PID (a hash of the PID alone could be reversed by trying them all).
_SALT = secrets.token_bytes(16)


def worker_id() -> str:
    """This process's opaque, stable id (12 hex digits)."""
    return hashlib.sha256(_SALT + str(os.getpid()).encode()).hexdigest()[:12]


class ResponseHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.worker = worker_id()
        log.info("worker %s is process %d on %s", self.worker, os.getpid(), socket.gethostname())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        added = [
            *ALWAYS,
            (
                b"content-security-policy",
                (DOCS_POLICY if path in DOCS_PATHS else PAGE_POLICY).encode(),
            ),
            (b"x-worker", self.worker.encode()),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                cache = [value for name, value in headers if name.lower() == b"cache-control"]
                if path.startswith("/v1"):
                    cache = [b"no-store"]
                kept = [(n, v) for n, v in headers if n.lower() not in SET_HERE]
                message["headers"] = [*kept, *added, *((b"cache-control", c) for c in cache)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
