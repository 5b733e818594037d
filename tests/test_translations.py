"""Swedish is the default language: every string the portal shows must have a Swedish translation."""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"


def test_swedish_catalogue_is_complete_and_not_fuzzy() -> None:
    po = polib.pofile(str(LOCALE / "sv" / "LC_MESSAGES" / "django.po"))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert len(po) > 100
    assert untranslated == []
    assert fuzzy == []


def test_compiled_catalogue_matches_the_source() -> None:
    po = polib.pofile(str(LOCALE / "sv" / "LC_MESSAGES" / "django.po"))
    mo = polib.mofile(str(LOCALE / "sv" / "LC_MESSAGES" / "django.mo"))
    compiled = {e.msgid: e.msgstr for e in mo}
    stale = [
        e.msgid for e in po.translated_entries() if not e.msgid_plural and compiled.get(e.msgid) != e.msgstr
    ]
    assert stale == [], "run `make messages` to recompile locale/sv/LC_MESSAGES/django.mo"


def test_placeholders_survive_translation() -> None:
    import re

    po = polib.pofile(str(LOCALE / "sv" / "LC_MESSAGES" / "django.po"))
    pattern = re.compile(r"%\(\w+\)[sd]")
    for entry in po.translated_entries():
        source = sorted(pattern.findall(entry.msgid))
        target = entry.msgstr_plural[1] if entry.msgid_plural else entry.msgstr
        assert sorted(pattern.findall(target)) == source, entry.msgid
