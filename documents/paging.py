"""A folder's file list by pages, by the sort key rather than OFFSET where that pays.

Sorted by name (the default, and what documents_d_folder__03c696_idx, on folder, deleted_at and
name, serves), "Next" and "Previous" carry the name and id of the row at the page's edge
(`after` / `before`), and the next page starts there in the index: page 800 of a 20,000-file
folder costs what page 2 does, where OFFSET walks the 19,975 rows before it. The other sorts (date,
size: no index, a sort of the folder's rows either way) and a bare `?page=N` (a bookmark, a
typed number) use Django's Paginator as before.

The rows come from a FileSource: a queryset (QuerySetSource), or on PostgreSQL the prepared
statements of documents.selectors.PreparedFileSource, which read the same rows.

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
from typing import Any, Protocol

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import QueryDict

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


class FileSource(Protocol):
    """Where file_page reads a folder's rows from, in the order of its sort: a queryset
    (QuerySetSource) or prepared statements (documents.selectors.PreparedFileSource)."""

    def count(self) -> int: ...

    def slice(self, offset: int, limit: int) -> list[Any]:
        """`limit` rows from `offset`, in the sort's order."""
        ...

    def beyond(self, cursor: tuple[str, int], *, backwards: bool, limit: int) -> list[Any]:
        """`limit` rows past `cursor` (name, id) of a name sort: after it in the sort's order, or
        before it (`backwards`) in the opposite order, the nearest first."""
        ...


class QuerySetSource:
    """`documents`, ordered by selectors.SORTS[sort]; `counted`: the same rows without what
    `documents` adds to each (file_rows' joins), to count them on their own table."""

    def __init__(self, documents: QuerySet[Any], *, sort: str, counted: QuerySet[Any] | None = None) -> None:
        self.documents = documents
        self.counted = documents if counted is None else counted
        self.keyed = KEYED_SORTS.get(sort)

    def count(self) -> int:
        return self.counted.count()

    def slice(self, offset: int, limit: int) -> list[Any]:
        return list(self.documents[offset : offset + limit])

    def beyond(self, cursor: tuple[str, int], *, backwards: bool, limit: int) -> list[Any]:
        assert self.keyed is not None
        field, descending = self.keyed
        if backwards:
            return list(_beyond(self.documents.reverse(), field, cursor, descending=not descending)[:limit])
        return list(_beyond(self.documents, field, cursor, descending=descending)[:limit])


class _Rows:
    """A FileSource as the sequence Paginator slices, its length the count already read."""

    def __init__(self, source: FileSource, count: int) -> None:
        self.source, self._count = source, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, item: slice) -> list[Any]:
        start, stop = item.start or 0, item.stop
        if stop <= start:  # an empty folder: no query, as a queryset's [0:0] makes none
            return []
        return self.source.slice(start, stop - start)


def file_page(source: FileSource, *, sort: str, query: QueryDict, per_page: int) -> FilePage:
    """One page of `source` for the request's ?page=, ?after= and ?before=; two queries: a
    count and the page."""
    keyed = KEYED_SORTS.get(sort)
    after, before = decode_cursor(query.get("after")), decode_cursor(query.get("before"))
    count = source.count()
    if keyed is not None and (after or before):
        number = _page_number(query.get("page"), count, per_page)
        if after is not None:
            rows = source.beyond(after, backwards=False, limit=per_page + 1)
            more_after, more_before = len(rows) > per_page, True
            rows = rows[:per_page]
            if not more_after:  # the end: the last page, whatever the link said
                number = max(1, math.ceil(count / per_page))
        else:
            assert before is not None
            rows = source.beyond(before, backwards=True, limit=per_page + 1)
            more_after, more_before = True, len(rows) > per_page
            rows = rows[:per_page][::-1]
            if not more_before:  # the start: page 1, whatever the link said
                number = 1
        page = FilePage(rows, number, count, per_page, more_after=more_after, more_before=more_before)
        return _with_cursors(page, keyed=True)
    # Paginator for the page number as it reads one (a word: page 1; past the end: the last page).
    rows_of_source: Any = _Rows(source, count)  # sliced as Paginator slices a list
    paged: Page[Any] = Paginator(rows_of_source, per_page).get_page(query.get("page"))
    page = FilePage(
        list(paged.object_list),
        paged.number,
        count,
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
