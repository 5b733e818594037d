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
