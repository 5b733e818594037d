"""Template hygiene that rendering alone would not catch."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _templates() -> list[Path]:
    return [p for p in ROOT.rglob("*.html") if ".venv" not in p.parts and "var" not in p.parts]


def test_no_multiline_comment_tags() -> None:
    """Django's {# #} comments end at the line; one spanning lines is printed on the page."""
    offenders = []
    for path in _templates():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\{#(?!.*#\})", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []
