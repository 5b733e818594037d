"""A signing's deadline: a day, meant to its end in the portal's time zone (the party may sign all
that day). The wizard's form, the extend form and the services that make drafts share these."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

DEFAULT_DEADLINE_DAYS = 14


def deadline_end_of(day: dt.date) -> dt.datetime:
    """The end of `day` in the portal's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


def deadline_in(days: int = DEFAULT_DEADLINE_DAYS) -> dt.datetime:
    """The end of the day `days` from today."""
    return deadline_end_of(timezone.localdate() + dt.timedelta(days=days))
