"""Browser journeys: headless Debian Chromium against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page

# The live server and Playwright's sync API share the test process; without this Django
# refuses database access from what it takes for an async context.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


@dataclass
class Shots:
    """Numbered full-page screenshots of one journey: <prefix>01-login.png, <prefix>02-….png, …"""

    directory: Path
    prefix: str = ""
    taken: list[Path] = field(default_factory=list)

    def take(self, page: Page, name: str) -> Path:
        path = self.directory / f"{self.prefix}{len(self.taken) + 1:02d}-{name}.png"
        page.wait_for_load_state()  # images in: a full-page shot measures the page first
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def journey_shots(directory: Path, prefix: str) -> Shots:
    """A journey's screenshots, removing only its own earlier files (the pattern a prefix makes)."""
    pattern = f"{prefix}[0-9][0-9]-*.png"
    for old in directory.glob(pattern):
        old.unlink()
    return Shots(directory, prefix)


def watch_errors(page: Page, errors: list[str]) -> None:
    """Collect the console errors and uncaught exceptions of `page` (and what it navigates to)."""

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_page_error(error: Error) -> None:
        errors.append(f"pageerror: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)


@pytest.fixture
def browser_errors(page: Page) -> Iterator[list[str]]:
    """Console errors and uncaught exceptions of every page the test visits."""
    errors: list[str] = []
    watch_errors(page, errors)
    yield errors


def no_horizontal_scroll(page: Page) -> bool:
    """Nothing on the page is wider than the viewport (a phone must not scroll sideways)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
