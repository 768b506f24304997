"""Shared by the web page's tests: Debian's headless Chromium (Playwright never downloads one),
pages that fail the test on any request leaving 127.0.0.1 or any script error, and screenshots.

Registered as a pytest plugin in conftest.py, so `browser` and `page` reach every test module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `apt-get install -y chromium` (make test does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


@contextmanager
def guarded_page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context; a request that leaves 127.0.0.1 is blocked, and it or a script
    error fails the test."""
    context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    strays: list[str] = []

    def guard(route: Any) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            strays.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    opened = context.new_page()
    script_errors: list[str] = []
    opened.on("pageerror", lambda exc: script_errors.append(str(exc)))
    yield opened
    context.close()
    assert not strays, f"the page reached outside: {strays}"
    assert not script_errors, f"script errors on the page: {script_errors}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with guarded_page(browser) as opened:
        yield opened


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)
