"""{% trash_days %}: how many days the trash keeps what is deleted, for the delete confirmations."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def trash_days() -> int:
    return int(settings.PORTAL_TRASH_DAYS)
