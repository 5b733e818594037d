"""{% prepared_notes signing as notes %}: what sending changed in the request's files, in words."""

from __future__ import annotations

from django import template

from signing.models import SigningRequest
from signing.prepare import FileNotes, file_notes

register = template.Library()


@register.simple_tag
def prepared_notes(signing: SigningRequest) -> list[FileNotes]:
    return file_notes(signing.prepared)
