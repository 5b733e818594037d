"""A folder's file list by pages, by the sort key rather than OFFSET where that pays.

Sorted by name (the default, and what documents_d_folder__03c696_idx, on folder, deleted_at and
name, serves), "Next" and "Previous" carry the name and id of the row at the page's edge
(`after` / `before`), and the next page starts there in the index: page 800 of a 20,000-file
folder costs what page 2 does, where OFFSET walks the 19,975 rows before it. The other sorts (date,
size: no index, a sort of the folder's rows either way) and a bare `?page=N` (a bookmark, a
typed number) use Django's Paginator as before.

A cursor only narrows the list of the folder the view already checked; a wrong or made-up one
is ignored (the page number is used), never an error. The page number stays in the links for
"Page n of N".
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils.functional import cached_property

# The sorts that page by key: (field, descending).
KEYED_SORTS = {"name": ("name", False), "-name": ("name", True)}


def encode_cursor(name: str, pk: int) -> str:
    raw = json.dumps([name, pk], ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str | None) -> tuple[str, int] | None:
    """(name, id) from a cursor, or None for a missing or malformed one."""
    if not value or len(value) > 2000:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        name, pk = json.loads(raw.decode())
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        return None
    if not isinstance(name, str) or not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk < 2**63:
        return None
    return name, pk


@dataclass
class FilePage:
    """What _file_list.html reads of a page: Paginator's Page names, and the cursors of its links
    (None: the link goes by page number)."""

    object_list: list[Any]  # rows with .pk and .name: documents or file_rows' tuples
    number: int
    count: int
    per_page: int
    more_after: bool  # a page follows this one
    more_before: bool  # a page comes before this one
    next_cursor: str | None = None
    previous_cursor: str | None = None

    @property
    def paginator(self) -> FilePage:  # page.paginator.count / .num_pages, as on a Django Page
        return self

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.per_page))

    def has_next(self) -> bool:
        return self.more_after

    def has_previous(self) -> bool:
        return self.more_before

    def next_page_number(self) -> int:
        return min(self.number + 1, self.num_pages)

    def previous_page_number(self) -> int:
        return max(self.number - 1, 1)


class _CountedPaginator(Paginator):
    """Paginator with the count given, not taken from the list it pages."""

    def __init__(self, object_list: QuerySet[Any], per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._given_count = count

    @cached_property
    def count(self) -> int:
        return self._given_count


def file_page(
    documents: QuerySet[Any],
    *,
    sort: str,
    query: QueryDict,
    per_page: int,
    counted: QuerySet[Any] | None = None,
) -> FilePage:
    """One page of `documents` (already ordered by selectors.SORTS[sort]) for the request's
    ?page=, ?after= and ?before=; two queries, as Paginator's: a count and the page. `counted`:
    the same rows without what `documents` adds to each (file_rows' joins), to count them on
    their own table."""
    keyed = KEYED_SORTS.get(sort)
    after, before = decode_cursor(query.get("after")), decode_cursor(query.get("before"))
    count = (documents if counted is None else counted).count()
    if keyed is not None and (after or before):
        field, descending = keyed
        number = _page_number(query.get("page"), count, per_page)
        if after is not None:
            rows = list(_beyond(documents, field, after, descending=descending)[: per_page + 1])
            more_after, more_before = len(rows) > per_page, True
            rows = rows[:per_page]
            if not more_after:  # the end: the last page, whatever the link said
                number = max(1, math.ceil(count / per_page))
        else:
            assert before is not None
            flipped = documents.reverse()
            rows = list(_beyond(flipped, field, before, descending=not descending)[: per_page + 1])
            more_after, more_before = True, len(rows) > per_page
            rows = rows[:per_page][::-1]
            if not more_before:  # the start: page 1, whatever the link said
                number = 1
        page = FilePage(rows, number, count, per_page, more_after=more_after, more_before=more_before)
        return _with_cursors(page, keyed=True)
    paged: Page[Any] = _CountedPaginator(documents, per_page, count=count).get_page(query.get("page"))
    page = FilePage(
        list(paged.object_list),
        paged.number,
        paged.paginator.count,
        per_page,
        more_after=paged.has_next(),
        more_before=paged.has_previous(),
    )
    return _with_cursors(page, keyed=keyed is not None)


def _beyond(
    documents: QuerySet[Any], field: str, cursor: tuple[str, int], *, descending: bool
) -> QuerySet[Any]:
    """The rows after `cursor` in the order (field, pk), ascending or descending. The first
    condition is implied by the second; it lets the index start at the cursor."""
    value, pk = cursor
    inclusive, strict = ("lte", "lt") if descending else ("gte", "gt")
    return documents.filter(
        Q(**{f"{field}__{inclusive}": value}),
        Q(**{f"{field}__{strict}": value}) | Q(**{field: value, f"pk__{strict}": pk}),
    )


def _page_number(raw: str | None, count: int, per_page: int) -> int:
    """The page number the links carry, within the list's pages (only for "Page n of N")."""
    last = max(1, math.ceil(count / per_page))
    try:
        number = int(raw or "1")
    except ValueError:
        return 1
    return min(max(number, 1), last)


def _with_cursors(page: FilePage, *, keyed: bool) -> FilePage:
    if keyed and page.object_list:
        first, last = page.object_list[0], page.object_list[-1]
        if page.has_next():
            page.next_cursor = encode_cursor(last.name, last.pk)
        if page.has_previous():
            page.previous_cursor = encode_cursor(first.name, first.pk)
    return page
