"""Rules for folder and document names."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Collection

from django.utils.translation import gettext as _

from portal.errors import ServiceError

MAX_NAME = 200
_FORBIDDEN = set('/\\:*?"<>|')


def clean_name(raw: str, *, max_length: int = MAX_NAME) -> str:
    """Return the name trimmed and NFC-normalised, or raise ServiceError saying what is wrong.

    Names are shown to people and used in downloads, so path separators, "..", and control
    characters are refused rather than silently changed.
    """
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if not name:
        raise ServiceError(_("Enter a name."), field="name")
    if len(name) > max_length:
        raise ServiceError(
            _("The name is too long (at most %(max)d characters).") % {"max": max_length}, field="name"
        )
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in name):
        raise ServiceError(_("The name contains control characters."), field="name")
    if (
        name in {".", ".."}
        or ".." in name.replace("\\", "/").split("/")
        or any(ch in _FORBIDDEN for ch in name)
    ):
        raise ServiceError(_('A name cannot contain / \\ : * ? " < > | or be "..".'), field="name")
    return name


def free_name(
    name: str, *, taken: Callable[[list[str]], Collection[str]], max_length: int, extension: bool
) -> str:
    """The first of "name (2)", "name (3)", ... that `taken` does not report, shortened to fit
    `max_length` characters. With `extension` the number goes before it: "stem (2).ext".
    `taken(candidates)` returns those of the candidates already in use; it is asked about 50 at a
    time, so a query per call is fine. The caller holds what keeps the answer true until it writes
    (the folder's row lock)."""
    stem, ext = os.path.splitext(name) if extension else (name, "")
    if len(ext) > 20:  # not an extension, just a dot in a long name
        stem, ext = name, ""
    start = 2
    while True:
        candidates = []
        for number in range(start, start + 50):
            suffix = f" ({number}){ext}"
            candidates.append(stem[: max_length - len(suffix)].rstrip() + suffix)
        in_use = taken(candidates)
        for candidate in candidates:
            if candidate not in in_use:
                return candidate
        start += 50


def search_key(text: str) -> str:
    """`text` in the form document names are searched in: compatibility-decomposed, case-folded and
    without accents, so that "arsred" finds "Årsredovisning" and "ﬁ" finds "fi". Document.search_name
    holds it for every name, and a query is turned into it before it is matched (as a substring)."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))
