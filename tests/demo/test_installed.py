"""The demo app (seed_demo, bench_seed) is installed for development and when asked for, never
otherwise: production ships no command that makes users with a published password."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings


def _installed_apps(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    out = subprocess.run(
        [sys.executable, "-c", "import portal.settings as s; print(' '.join(s.INSTALLED_APPS))"],
        env={**clean, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


@pytest.mark.parametrize(
    ("env", "installed"),
    [
        ({}, False),
        ({"PORTAL_DEBUG": "false", "PORTAL_DEMO": "false"}, False),
        ({"PORTAL_DEBUG": "true"}, True),
        ({"PORTAL_DEBUG": "false", "PORTAL_DEMO": "true"}, True),
    ],
)
def test_demo_is_installed_only_with_debug_or_demo(env: dict[str, str], installed: bool) -> None:
    assert ("demo" in _installed_apps(**env)) is installed


def test_the_tests_have_it() -> None:
    assert "demo" in settings.INSTALLED_APPS
