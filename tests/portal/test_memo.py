"""portal.memo.remember: the bounded memo behind cached_reverse, the partner search's compiled
rules and statements, and the searched words' shares."""

from __future__ import annotations

from collections.abc import Callable

from portal.memo import remember


def test_a_value_is_made_once_and_kept() -> None:
    store: dict[str, int] = {}
    made: list[str] = []

    def make(key: str) -> int:
        made.append(key)
        return len(key)

    assert remember(store, "abc", lambda: make("abc"), 10) == 3
    assert remember(store, "abc", lambda: make("abc"), 10) == 3
    assert made == ["abc"] and store == {"abc": 3}
    assert remember(store, "zero", lambda: 0, 10) == 0  # a falsy value is kept too
    assert remember(store, "zero", lambda: 1, 10) == 0


def test_a_full_store_is_emptied_before_the_next_is_kept() -> None:
    store: dict[int, int] = {}
    for n in range(10):
        assert remember(store, n, _square(n), 3) == n * n
        assert len(store) <= 3 and store[n] == n * n
    assert store == {9: 81}  # 0-2, then 3-5, 6-8 filled it; 9 found it full


def _square(n: int) -> Callable[[], int]:
    return lambda: n * n
