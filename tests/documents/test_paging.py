"""The file list's pages by name go by the key (documents.paging): Next and Previous carry the
name and id at the page's edge, and the page starts there without OFFSET."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from documents import paging, selectors
from documents.models import CustomerAccess, Folder
from portal.models import User
from tests.conftest import World
from tests.documents.test_partner_views import _folder, _row

pytestmark = pytest.mark.django_db

NAMES = [f"Fil {i:02d}.pdf" for i in range(11)]


@pytest.fixture
def folder(world: World, settings: Any) -> Folder:
    settings.PAGE_SIZE = 3
    User.objects.update(language="en")  # the links' labels below
    folder = _folder(world, "Sidor", customer_access=CustomerAccess.READ)
    for name in reversed(NAMES):  # ids in the opposite order to the names
        _row(folder, world.admin, name)
    return folder


def _names(response: Any) -> list[str]:
    assert response.status_code == 200
    return [d.name for d in response.context["documents"]]


def _link(response: Any, label: str) -> str | None:
    found = re.search(rf'href="([^"]+)">{label}</a>', response.content.decode())
    return html.unescape(found.group(1)) if found else None


def _walk(client: Any, url: str, label: str) -> list[list[str]]:
    pages = []
    while url:
        response = client.get(url)
        pages.append(_names(response))
        url = _link(response, label) or ""
        assert len(pages) <= 10
    return pages


@pytest.mark.parametrize("sort", ["name", "-name"])
@pytest.mark.parametrize("who", ["admin", "customer_user"])
def test_next_and_previous_walk_every_file_once_in_order(
    world: World, folder: Folder, login: Any, sort: str, who: str
) -> None:
    client = login(getattr(world, who))
    route = "partner_folder" if who == "admin" else "customer_folder"
    url = reverse(f"documents:{route}", args=[world.collaboration.pk, folder.pk]) + f"?sort={sort}"
    forward = _walk(client, url, "Next")
    expected = sorted(NAMES, reverse=sort == "-name")
    assert [n for page in forward for n in page] == expected
    assert [len(p) for p in forward] == [3, 3, 3, 2]
    # From the last page back to the first by Previous: the same pages.
    last = client.get(url + "&page=4")
    backward = _walk(client, _link(last, "Previous") or "", "Previous")
    assert backward == forward[:-1][::-1]


def test_a_keyed_page_has_no_offset_and_the_same_queries_as_the_first(
    world: World, folder: Folder, login: Any
) -> None:
    client = login(world.admin)
    url = reverse("documents:partner_folder", args=[world.collaboration.pk, folder.pk])
    client.get(url)  # the first visit's one-time session write
    with CaptureQueriesContext(connection) as first:
        page_one = client.get(url)
    second_url = _link(page_one, "Next")
    assert second_url is not None and "after=" in second_url
    with CaptureQueriesContext(connection) as second:
        page_two = client.get(second_url)
    assert _names(page_two) == NAMES[3:6]
    assert len(second) == len(first)
    # No OFFSET: in the SQL (the ORM), or the prepared statement by page number (PostgreSQL).
    assert not any(
        "OFFSET" in q["sql"] or q["sql"].startswith("EXECUTE portal_documents_file_rows_name(")
        for q in second.captured_queries
    )
    assert "Page 2 of 4" in page_two.content.decode()


@pytest.mark.parametrize("sort", ["name", "-updated", "size"])
@pytest.mark.parametrize("keyed", [False, True])
def test_the_files_are_counted_on_their_own_table(
    world: World, folder: Folder, login: Any, sort: str, keyed: bool
) -> None:
    """The count reads the documents alone, not the rows' version and uploader joins, on the
    first page (Paginator) and a keyed one alike."""
    client = login(world.admin)
    url = reverse("documents:partner_folder", args=[world.collaboration.pk, folder.pk]) + f"?sort={sort}"
    if keyed:
        url = _link(client.get(url), "Next") or ""
        assert "after=" in url or sort != "name"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    counts = [
        # On PostgreSQL the count is a prepared statement (selectors.PreparedFileSource).
        selectors._FILE_COUNT.sql if q["sql"].startswith("EXECUTE portal_documents_file_count(") else q["sql"]
        for q in queries.captured_queries
        if ("COUNT(" in q["sql"] and "documents_document" in q["sql"]) or "file_count" in q["sql"]
    ]
    assert len(counts) == 1
    assert "JOIN" not in counts[0] and "COUNT(" in counts[0]
    assert f"Page {2 if keyed else 1} of 4" in response.content.decode()


@pytest.mark.parametrize(
    "cursor", ["", "x", "!!!!", "W10", "WyJhIiwgLTFd", "WyJhIiwidHdvIl0", "WzEsMl0", "9" * 5000]
)
def test_a_malformed_cursor_is_ignored(world: World, folder: Folder, login: Any, cursor: str) -> None:
    url = reverse("documents:partner_folder", args=[world.collaboration.pk, folder.pk])
    response = login(world.admin).get(url, {"after": cursor, "page": 2})
    assert _names(response) == NAMES[3:6]  # page 2 by number, as without a cursor


def test_a_cursor_only_narrows_the_folder_being_shown(world: World, folder: Folder, login: Any) -> None:
    other = _folder(world, "Annan")
    _row(other, world.admin, "Fil 05b hemlig.pdf")
    url = reverse("documents:partner_folder", args=[world.collaboration.pk, folder.pk])
    response = login(world.admin).get(url, {"after": paging.encode_cursor("Fil 05", 1)})
    assert _names(response) == ["Fil 05.pdf", "Fil 06.pdf", "Fil 07.pdf"]
    assert "hemlig" not in response.content.decode()


def test_cursors_round_trip_and_refuse_what_is_not_one() -> None:
    cursor = paging.encode_cursor('Årsredovisning "2025" & co.pdf', 42)
    assert paging.decode_cursor(cursor) == ('Årsredovisning "2025" & co.pdf', 42)
    for bad in (None, "", "e30", "WyJhIl0", "WyJhIiwxLjVd", "WyJhIix0cnVlXQ", "WyJhIiwwXQ"):
        assert paging.decode_cursor(bad) is None, bad


# --- The rows through prepared statements (PostgreSQL) --------------------------------------


def _sources(folder: Folder, sort: str) -> tuple[Any, Any]:
    from documents.views.partner import file_rows

    documents = selectors.documents_in(folder=folder, sort=sort)
    return (
        selectors.PreparedFileSource(folder.pk, sort),
        paging.QuerySetSource(file_rows(documents), sort=sort, counted=documents),
    )


def _same_rows(mine: list[Any], theirs: list[Any]) -> None:
    assert [tuple(r) for r in mine] == [tuple(r) for r in theirs]
    for a, b in zip(mine, theirs, strict=True):
        assert a._fields == b._fields  # _file_row reads them by name
        assert [type(v) for v in a] == [type(v) for v in b]


@pytest.mark.parametrize("sort", list(selectors.SORTS))
def test_the_prepared_rows_are_the_querysets_for_every_sort(world: World, folder: Folder, sort: str) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PREPARE is PostgreSQL's")
    from documents.models import Document, DocumentVersion

    # One without a version, one of another folder, one deleted, sizes that differ; the cursors
    # below fall on a name with ids either side of its own.
    bare = _row(folder, world.admin, "Fil 05b.pdf")
    Document.objects.filter(pk=bare.pk).update(current_version=None)
    same = Document.objects.get(folder=folder, name="Fil 05.pdf")
    DocumentVersion.objects.filter(document__folder=folder, document__name="Fil 03.pdf").update(size=999)
    gone = _row(folder, world.admin, "Fil 99.pdf")
    Document.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    _row(_folder(world, "Annan"), world.admin, "Fil 00 annan.pdf")
    prepared, orm = _sources(folder, sort)
    assert prepared.count() == orm.count() == len(NAMES) + 1
    for offset, limit in ((0, 3), (3, 4), (9, 10), (12, 3)):
        _same_rows(prepared.slice(offset, limit), orm.slice(offset, limit))
    if sort in paging.KEYED_SORTS:
        for name, pk in (
            ("Fil 05.pdf", same.pk),
            ("Fil 05.pdf", 0),
            ("Fil 05.pdf", 2**62),
            ("", 0),
            ("Ö", 1),
        ):
            for backwards in (False, True):
                _same_rows(
                    prepared.beyond((name, pk), backwards=backwards, limit=4),
                    orm.beyond((name, pk), backwards=backwards, limit=4),
                )


def test_a_folder_page_is_prepared_statements_on_postgresql(world: World, folder: Folder, login: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PREPARE is PostgreSQL's")
    client = login(world.admin)
    url = reverse("documents:partner_folder", args=[world.collaboration.pk, folder.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert _names(response) == NAMES[:3]
    statements = [q["sql"].split("(")[0] for q in queries.captured_queries if q["sql"].startswith("EXECUTE")]
    assert "EXECUTE portal_documents_file_count" in statements
    assert "EXECUTE portal_documents_file_rows_name" in statements


def test_an_empty_folder_reads_no_rows(world: World, login: Any) -> None:
    empty = _folder(world, "Tom")
    client = login(world.admin)
    url = reverse("documents:partner_folder", args=[world.collaboration.pk, empty.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert _names(response) == []
    assert not any(
        "file_rows" in q["sql"] or ('FROM "documents_document"' in q["sql"] and "LIMIT" in q["sql"])
        for q in queries.captured_queries
    )
