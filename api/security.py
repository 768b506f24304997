"""What a request must be before any route sees it.

Always: a request body is JSON and says so (`Content-Type: application/json`). A web page may
send `text/plain`, a form or a Blob without a Content-Type to any address without the browser
asking the server first (no CORS preflight); refusing them means no page can make this service
act on such a body. FastAPI (>= 0.132) refuses them as well; this answers what to fix (415).

In local mode (no API keys, everyone is the local admin) also:
- the caller is this machine (a loopback address), or 403;
- the request is addressed to this service by a loopback name and the port it listens on
  (`Host: 127.0.0.1:8000`, `localhost:8000`, `[::1]:8000`), or 421: a page on another site that
  rebinds its own name to 127.0.0.1 (DNS rebinding) still sends its own name as Host;
- a request that changes anything (not GET, HEAD or OPTIONS) does not come from another site:
  its `Origin`, when a browser sends one, is this service's own, and `Sec-Fetch-Site` is
  `same-origin` or `none`, or 403. A POST without a body needs no preflight either, so this
  check is what keeps another site's form from approving a draft.
"""

from __future__ import annotations

import ipaddress

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem_response

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    return "transfer-encoding" in headers or (length is not None and length.strip() != "0")


class RequestGuard:
    def __init__(self, app: ASGIApp, local: bool) -> None:
        self.app = app
        self.local = local

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, detail = refusal
        await problem_response(status, detail)(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = Headers(scope=scope)
        method: str = scope["method"]
        if self.local:
            found = self._foreign(scope, headers, method)
            if found:
                return found
        json_body = is_json(headers.get("content-type", ""))
        if method not in SAFE_METHODS and _has_body(headers) and not json_body:
            return 415, "send the body as JSON, with the header Content-Type: application/json"
        return None

    def _foreign(self, scope: Scope, headers: Headers, method: str) -> tuple[int, str] | None:
        client = scope.get("client")
        if not client or not is_loopback(client[0]):
            return 403, "local mode answers this machine only; other machines need an API key"
        server = scope.get("server")
        port = server[1] if server else None
        addresses = [f"{name}:{port}" for name in LOOPBACK_NAMES] if port else []
        if port == 80:
            addresses += LOOPBACK_NAMES
        host = headers.get("host", "")
        if host.lower() not in addresses:
            return 421, (
                f"this service in local mode answers requests for {addresses[0]} (or localhost, "
                f"[::1]) only, not for {host or 'no Host'}; open http://{addresses[0]}/"
                if addresses
                else "local mode needs a service on a TCP port of this machine"
            )
        if method in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        site = headers.get("sec-fetch-site", "none")
        if (origin is not None and origin.lower() != f"http://{host.lower()}") or site not in (
            "same-origin",
            "none",
        ):
            return 403, (
                "a page of another site may not change anything here; use the coach's own page "
                f"at http://{host}/"
            )
        return None
