"""The web page: static files, nothing from elsewhere (the CSP of `api.headers` says so to the
browser too)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

WEB = Path(__file__).parent.parent / "web"
PAGE_HEADERS = {"Cache-Control": "no-cache"}

router = APIRouter()


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    """The web page for professionals and L&D staff (it uses only this API)."""
    return FileResponse(WEB / "index.html", headers=PAGE_HEADERS)
