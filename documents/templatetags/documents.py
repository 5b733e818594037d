from __future__ import annotations

from django import template

from documents.storage import human_size as _human_size

register = template.Library()


@register.filter
def human_size(size: int | None) -> str:
    """Bytes in the portal's units (1 kB = 1000 B), the same as the file list and the limits."""
    return _human_size(int(size or 0))


@register.filter
def lookup(mapping: dict[object, object], key: object) -> object:
    """mapping[key], or "" when it has none: a value per row from a dict the view made."""
    return mapping.get(key, "")
