"""Process-wide memos that stay bounded: a dict emptied when it is full.

For values that are cheap to make again and whose keys repeat (a route and its ids, a user's
compiled access rule, a statement's shape, a searched word): the simplest bound, with no lock and
no order to keep. Under threads a lost race makes the same value twice; nothing is wrong for it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# How many entries a store keeps unless its caller says otherwise.
KEPT_MAX = 4096


def remember(store: dict[K, V], key: K, make: Callable[[], V], limit: int = KEPT_MAX) -> V:
    """store[key], made by `make` and kept the first time; a store holding `limit` entries is
    emptied before the new one is kept. `make` must not return None (None reads as not kept)."""
    found = store.get(key)
    if found is None:
        found = make()
        if len(store) >= limit:
            store.clear()
        store[key] = found
    return found
