"""Where stored bytes come from, for reconciling and snapshots.

Billing knows no documents or signing model (they depend on billing, not the other way round).
Each app that stores files registers a source in its AppConfig.ready(): a function that returns
the live stored bytes per (partner, customer) as one aggregate query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

# source(partner_id or None for all) -> rows of (partner_id, customer_id, bytes)
UsageSource = Callable[[int | None], Iterable[tuple[int, int, int]]]
_sources: list[UsageSource] = []


def register_usage_source(source: UsageSource) -> None:
    if source not in _sources:
        _sources.append(source)


def bytes_by_customer(partner_id: int | None = None) -> dict[tuple[int, int], int]:
    """Stored bytes per (partner, customer), from every source: one aggregate query per source."""
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for source in _sources:
        for partner, customer, size in source(partner_id):
            totals[(partner, customer)] += int(size or 0)
    return dict(totals)


def bytes_by_partner(partner_id: int | None = None) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for (partner, _customer), size in bytes_by_customer(partner_id).items():
        totals[partner] += size
    return dict(totals)


# source(partner_id) -> (stored bytes, items) waiting in the trash: counted above until purged, and
# shown apart on the Storage page.
TrashSource = Callable[[int], tuple[int, int]]
_trash_sources: list[TrashSource] = []


def register_trash_source(source: TrashSource) -> None:
    if source not in _trash_sources:
        _trash_sources.append(source)


def trash_held(partner_id: int) -> tuple[int, int]:
    """(stored bytes, items) in the partner's trash, from every source."""
    held = [source(partner_id) for source in _trash_sources]
    return sum(size for size, _items in held), sum(items for _size, items in held)
