"""Headless Debian chromium driven by Playwright, for tests that must see pages as a browser does.

The browser is the system one (``HYTNAS_CHROMIUM`` or /usr/bin/chromium, installed by
tests/ensure_chromium.sh), never a downloaded build: ``playwright install`` needs internet access and
the app must work with none. Without a usable browser the tests skip, except with CI=true, where a
skipped browser test would hide that the dashboard was never checked, so they fail instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

DEFAULT_CHROMIUM = "/usr/bin/chromium"
# Root in containers needs --no-sandbox; the rest keeps chromium off the network and quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    """The chromium executable to drive, or skip (fail with CI=true) saying why there is none."""
    path = os.environ.get("HYTNAS_CHROMIUM", DEFAULT_CHROMIUM)
    if not os.access(path, os.X_OK):
        unavailable(f"no chromium at {path} (tests/ensure_chromium.sh installs Debian's chromium as root)")
    return path


def unavailable(reason: str) -> NoReturn:
    """Skip the browser test for ``reason``; fail instead in CI, where it must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser test required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless chromium ``Browser``, closed with its Playwright driver on exit.

    Use it only while no Django ORM call runs in this thread: the sync Playwright API keeps an
    asyncio loop on it, and Django refuses database access from what looks like async code.
    """
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (see requirements-dev.txt)")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
        except Exception as exc:  # a broken install shows up here, not as a missing file
            unavailable(f"chromium at {executable} did not start: {exc}")
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageProblems:
    """What a page reported as wrong: console errors, uncaught exceptions, failed or 4xx/5xx requests."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    bad_requests: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> PageProblems:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)
        return self

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            location = message.location or {}
            self.console_errors.append(
                f"{message.text} ({location.get('url', '?')}:{location.get('lineNumber', '?')})"
            )

    def _on_request_failed(self, request: Any) -> None:
        # A navigation away aborts requests still in flight; that is not the page's fault.
        if request.failure != "net::ERR_ABORTED":
            self.bad_requests.append(f"{request.method} {request.url}: {request.failure}")

    def _on_response(self, response: Any) -> None:
        if response.status >= 400:
            self.bad_requests.append(f"{response.request.method} {response.url}: HTTP {response.status}")

    def all(self) -> list[str]:
        return [
            *(f"console: {text}" for text in self.console_errors),
            *(f"page error: {text}" for text in self.page_errors),
            *(f"request: {text}" for text in self.bad_requests),
        ]


@dataclass
class RequestTracker:
    """Counts requests whose URL matches a pattern and the most that were ever in flight at once."""

    pattern: re.Pattern[str]
    started: int = 0
    finished: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    statuses: list[int] = field(default_factory=list)

    def watch(self, page: Any) -> RequestTracker:
        page.on("request", self._on_request)
        page.on("requestfinished", self._on_done)
        page.on("requestfailed", self._on_done)
        page.on("response", self._on_response)
        return self

    def _matches(self, request: Any) -> bool:
        return bool(self.pattern.search(request.url))

    def _on_request(self, request: Any) -> None:
        if self._matches(request):
            self.started += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _on_done(self, request: Any) -> None:
        if self._matches(request):
            self.finished += 1
            self.in_flight -= 1

    def _on_response(self, response: Any) -> None:
        if self._matches(response.request):
            self.statuses.append(response.status)


def log_in(page: Any, base_url: str, username: str, password: str) -> None:
    """Sign in through the login form, as a person would, and wait for the page it leads to."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form[action$='/accounts/login/'] button[type=submit]")
    if "/accounts/login/" in page.url:
        raise AssertionError(f"signing in as {username} failed: still on {page.url}")


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/ (not committed) for people to look at."""
    folder = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
