"""Rules for folder and document names."""

from __future__ import annotations

import unicodedata

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


def search_key(text: str) -> str:
    """`text` in the form document names are searched in: compatibility-decomposed, case-folded and
    without accents, so that "arsred" finds "Årsredovisning" and "ﬁ" finds "fi". Document.search_name
    holds it for every name, and a query is turned into it before it is matched (as a substring)."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))
