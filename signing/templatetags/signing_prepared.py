"""{% prepared_notes signing as notes %}: what sending changed in the request's files, in words."""

from __future__ import annotations

from typing import Any

from django import template

from signing.models import SigningRequest
from signing.prepare import FileNotes, file_notes

register = template.Library()


@register.simple_tag
def prepared_notes(source: SigningRequest | dict[str, Any]) -> list[FileNotes]:
    """A request's `prepared`, or such a dict (what Send would do: signing.prepare.planned)."""
    return file_notes(source.prepared if isinstance(source, SigningRequest) else source)
