"""Browser journeys: headless Debian Chromium against pytest-django's live server."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

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
