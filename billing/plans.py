"""The arithmetic of plans and prices, from the settings (portal/settings.py, "Plans and prices").

Sizes are integer bytes (1 GB = 10^9 bytes), money integer öre: nothing here is a float.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from partners.models import Partner


def included_bytes(plan: str) -> int:
    return int(settings.STORAGE_INCLUDED_BYTES[plan])


def block_bytes() -> int:
    return int(settings.STORAGE_BLOCK_BYTES)


def block_price_ore() -> int:
    return int(settings.STORAGE_BLOCK_PRICE_ORE)


def extra_blocks(used: int, *, included: int) -> int:
    """Paid blocks for `used` bytes: every started block beyond the included storage."""
    over = used - included
    if over <= 0:
        return 0
    return -(-over // block_bytes())  # ceiling division in integers


def limit_bytes(*, included: int, cap_blocks: int | None) -> int | None:
    """The most a partner may store under its cap; None when there is no cap."""
    if cap_blocks is None:
        return None
    return included + cap_blocks * block_bytes()


def packages() -> dict[int, int]:
    """Signature packages for sale: signatures -> price in öre."""
    return {int(k): int(v) for k, v in settings.SIGNATURE_PACKAGES.items()}


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after `day`'s month."""
    return (month_start(day).replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def previous_month(day: dt.date) -> dt.date:
    """The first day of the month before `day`'s month."""
    return month_start(month_start(day) - dt.timedelta(days=1))


@dataclass(frozen=True)
class StorageTerms:
    """A partner's storage position at one moment."""

    used: int
    included: int
    cap_blocks: int | None

    @classmethod
    def of(cls, partner: Partner) -> StorageTerms:
        return cls(partner.storage_used_bytes, included_bytes(partner.plan), partner.storage_cap_blocks)

    @property
    def blocks(self) -> int:
        return extra_blocks(self.used, included=self.included)

    @property
    def limit(self) -> int | None:
        return limit_bytes(included=self.included, cap_blocks=self.cap_blocks)

    @property
    def monthly_cost_ore(self) -> int:
        return self.blocks * block_price_ore()

    @property
    def percent_of_included(self) -> int:
        """Whole percent of the included storage in use (may exceed 100)."""
        return self.used * 100 // self.included if self.included else 0
