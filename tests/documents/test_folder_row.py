"""documents.access.folder_with_relations: the folder of every folder page with its collaboration,
firm, customer and top-level folder, read through a statement prepared once per connection
(portal.sql.Prepared), must be what the ORM's select_related query gives, and find what it does
not find."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from django.db import OperationalError, connection, models, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from documents import access, selectors
from documents.models import CustomerAccess, Document, DocumentVersion, Folder
from portal import sql
from tests.conftest import World
from tests.documents.test_partner_views import _folder, _row

pytestmark = pytest.mark.django_db


def _values(instance: models.Model | None) -> dict[str, Any] | None:
    if instance is None:
        return None
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _orm(pk: int) -> Folder:
    return Folder.objects.select_related("collaboration__partner", "collaboration__customer", "root").get(
        pk=pk
    )


def _same(found: Folder, expected: Folder) -> None:
    assert type(found) is Folder and not found._state.adding and found._state.db == "default"
    with CaptureQueriesContext(connection) as queries:  # everything came in the one row
        pairs = [
            (found, expected),
            (found.collaboration, expected.collaboration),
            (found.collaboration.partner, expected.collaboration.partner),
            (found.collaboration.customer, expected.collaboration.customer),
            (found.root, expected.root),
        ]
    assert queries.captured_queries == []
    _same_values(pairs)


def _same_values(pairs: list[tuple[Any, Any]]) -> None:
    for mine, theirs in pairs:
        assert _values(mine) == _values(theirs)
        for value_mine, value_theirs in zip(
            (_values(mine) or {}).values(), (_values(theirs) or {}).values(), strict=True
        ):
            assert type(value_mine) is type(value_theirs)  # datetimes, booleans: converted alike


def test_the_same_folder_as_the_orm_top_level_and_below(world: World) -> None:
    top = _folder(world, "Bokslut", customer_access=CustomerAccess.READ)
    sub = _folder(world, "2026", parent=top)
    world.collaboration.responded_at = timezone.now()
    world.collaboration.save(update_fields=["responded_at"])
    for folder in (top, sub):
        found = access.folder_with_relations(folder.pk)
        assert found is not None
        _same(found, _orm(folder.pk))
    found = access.folder_with_relations(sub.pk)
    assert found is not None and found.root is not None and found.root.pk == top.pk


def test_a_folder_without_a_top_level_folder_gets_none_as_the_orm_does(world: World) -> None:
    folder = _folder(world, "Gammal")
    Folder.objects.filter(pk=folder.pk).update(root=None)
    found = access.folder_with_relations(folder.pk)
    assert found is not None and found.root is None
    _same(found, _orm(folder.pk))


def test_no_folder_for_a_trashed_a_missing_or_an_impossible_id(world: World) -> None:
    folder = _folder(world, "Papperskorg")
    Folder.objects.filter(pk=folder.pk).update(deleted_at=timezone.now())
    assert access.folder_with_relations(folder.pk) is None
    assert access.folder_with_relations(folder.pk + 10_000) is None
    assert access.folder_with_relations(2**63) is None  # past bigint: no database error
    assert access.folder_with_relations(10**30) is None
    assert _folder(world, "Efter").pk  # and the connection still works


def _on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(f"PREPARE is PostgreSQL's; the database is {connection.vendor}")


def test_prepared_once_per_connection_and_not_counted(world: World) -> None:
    _on_postgresql()
    folder = _folder(world, "Avtal")
    with connection.cursor() as cursor:  # start from a session where nothing is prepared
        cursor.execute("DEALLOCATE ALL")
    sql._prepared.pop(connection.connection, None)
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            assert access.folder_with_relations(folder.pk) is not None
        assert [q["sql"].split("(")[0] for q in queries.captured_queries] == [
            "EXECUTE portal_documents_folder_row"
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [access._FOLDER_ROW.name]
        )
        assert cursor.fetchone() == (1,)


@pytest.mark.django_db(transaction=True)  # real transactions and a real reconnect
def test_a_rollback_keeps_the_statement_and_a_new_connection_prepares_again(world: World) -> None:
    _on_postgresql()
    folder = _folder(world, "Avtal")

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():  # prepared inside, then rolled back
        assert access.folder_with_relations(folder.pk) is not None
        raise Undo
    assert access.folder_with_relations(folder.pk) is not None
    with connection.cursor() as cursor:  # as if the server had lost it with its session
        cursor.execute(f"DEALLOCATE {access._FOLDER_ROW.name}")
    connection.close()  # a new connection: a new session, prepared again
    found = access.folder_with_relations(folder.pk)
    assert found is not None and found.name == "Avtal"


def _backend_pid() -> int:
    connection.ensure_connection()
    return int(connection.connection.info.backend_pid)


def _lost(statement: sql.Prepared) -> tuple[BaseException | None, bool]:
    try:
        statement.fetchone([1])
    except Exception as error:  # which error it is, is what the test checks
        return error, connection.errors_occurred
    return None, connection.errors_occurred


def test_a_connection_lost_before_the_prepare_raises_djangos_database_error() -> None:
    """The PREPARE goes to the driver's connection itself. When the server has gone (a restart, a
    failover), the error must still be Django's, which the 503 page (portal.unavailable) knows and
    which marks the connection as failed, so that it is not reused: a PostgreSQL restart during
    a burst of folder pages gave one of them a 500 (tests/integration/test_postgres_restart.py)."""
    _on_postgresql()
    statement = sql.Prepared("portal_test_lost_connection", lambda: "SELECT %s::int")
    with ThreadPoolExecutor(1) as thread:  # a connection of its own, which this test may end
        pid = thread.submit(_backend_pid).result()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])
            assert cursor.fetchone() == (True,)
        error, failed = thread.submit(_lost, statement).result()
        thread.submit(lambda: connection.close()).result()
    assert type(error) is OperationalError, repr(error)  # django.db's, from the driver's
    assert isinstance(error.__cause__, psycopg.OperationalError)
    assert failed


def test_turned_off_it_runs_the_statement_as_it_is(world: World, settings: Any) -> None:
    _on_postgresql()
    settings.DB_PREPARED_STATEMENTS = False  # behind a pooler that shares sessions
    folder = _folder(world, "Avtal")
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    sql._prepared.pop(connection.connection, None)
    with CaptureQueriesContext(connection) as queries:
        found = access.folder_with_relations(folder.pk)
    assert found is not None
    _same(found, _orm(folder.pk))
    assert [q["sql"].split(" ")[0] for q in queries.captured_queries] == ["SELECT"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (0,)


def test_the_partner_folder_list_is_the_orms(world: World) -> None:

    top = _folder(world, "B-pärm", customer_access=CustomerAccess.READ)
    _folder(world, "2026", parent=top)
    gone = _folder(world, "A-gammal")
    Folder.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    found = selectors.folders_visible_to(
        user=world.admin, collaboration=world.collaboration, rights_side="partner"
    )
    expected = list(Folder.objects.filter(collaboration=world.collaboration).order_by("path"))
    assert [f.pk for f in found] == [f.pk for f in expected] and gone.pk not in [f.pk for f in found]
    for mine, theirs in zip(found, expected, strict=True):
        assert _values(mine) == _values(theirs)
        assert not mine._state.adding


def test_the_customer_folder_list_is_what_is_under_the_visible_top_level_folders(world: World) -> None:
    shared = _folder(world, "Delad", customer_access=CustomerAccess.READ)
    below = _folder(world, "Under", parent=shared)
    hidden = _folder(world, "Intern")
    _folder(world, "Under intern", parent=hidden)
    for root_ids in ([shared.pk], [], [hidden.pk, shared.pk]):
        found = selectors.folders_visible_to(
            user=world.customer_user,
            collaboration=world.collaboration,
            rights_side="customer",
            root_ids=root_ids,
        )
        expected = list(
            Folder.objects.filter(collaboration=world.collaboration, root_id__in=root_ids).order_by("path")
        )
        assert [f.pk for f in found] == [f.pk for f in expected]
    found = selectors.folders_visible_to(
        user=world.customer_user,
        collaboration=world.collaboration,
        rights_side="customer",
        root_ids=[shared.pk],
    )
    assert [f.pk for f in found] == [shared.pk, below.pk]


# --- documents.access.document_with_relations: the same for a document (download, detail) --------


def _orm_document(pk: int) -> Document:
    return Document.objects.select_related(
        "folder__collaboration__partner", "folder__collaboration__customer", "folder__root", "current_version"
    ).get(pk=pk, deleted_at__isnull=True)


def _same_document(found: Document, expected: Document) -> None:
    assert type(found) is Document and not found._state.adding and found._state.db == "default"
    _same(found.folder, expected.folder)
    with CaptureQueriesContext(connection) as queries:
        pairs = [(found, expected), (found.current_version, expected.current_version)]
    assert queries.captured_queries == []
    _same_values(pairs)


def test_the_same_document_as_the_orm_with_and_without_a_version(world: World) -> None:
    top = _folder(world, "Bokslut", customer_access=CustomerAccess.READ)
    sub = _folder(world, "2026", parent=top)
    stored = _row(sub, world.admin, "Årsredovisning.pdf", versions=2)
    bare = Document.objects.create(folder=top, name="Utan version.pdf")
    for document in (stored, bare):
        found = access.document_with_relations(document.pk)
        assert found is not None
        _same_document(found, _orm_document(document.pk))
    found = access.document_with_relations(stored.pk)
    assert found is not None and found.current_version is not None
    assert found.current_version.number == 2 and found.folder.root is not None
    assert found.folder.root.pk == top.pk and found.folder.pk == sub.pk
    bare_found = access.document_with_relations(bare.pk)
    assert bare_found is not None and bare_found.current_version is None


def test_no_document_for_a_deleted_a_missing_or_an_impossible_id(world: World) -> None:
    folder = _folder(world, "Papperskorg")
    document = _row(folder, world.admin, "Borttagen.pdf")
    other = _row(folder, world.admin, "Kvar.pdf")
    Document.objects.filter(pk=document.pk).update(deleted_at=timezone.now())
    assert access.document_with_relations(document.pk) is None
    assert access.document_with_relations(other.pk + 10_000) is None
    assert access.document_with_relations(2**63) is None  # past bigint: no database error
    assert access.document_with_relations(-(2**63) - 1) is None
    found = access.document_with_relations(other.pk)  # and the connection still works
    assert found is not None and found.name == "Kvar.pdf"


def test_the_document_row_is_one_prepared_statement(world: World) -> None:
    _on_postgresql()
    document = _row(_folder(world, "Avtal"), world.admin, "Avtal.pdf")
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert access.document_with_relations(document.pk) is not None
        assert [q["sql"].split("(")[0] for q in queries.captured_queries] == [
            "EXECUTE portal_documents_document_row"
        ]


def _orm_version(pk: int) -> DocumentVersion:
    return DocumentVersion.objects.select_related(
        "document__folder__collaboration__partner",
        "document__folder__collaboration__customer",
        "document__folder__root",
        "deleted_by",
        "document__deleted_by",
    ).get(pk=pk)


def test_the_same_version_as_the_orm_live_deleted_and_in_a_deleted_document(world: World) -> None:
    top = _folder(world, "Löner", customer_access=CustomerAccess.READ)
    sub = _folder(world, "December", parent=top)
    document = _row(sub, world.admin, "Lönebesked.pdf", versions=3)
    first, second, third = DocumentVersion.objects.filter(document=document).order_by("number")
    DocumentVersion.objects.filter(pk=second.pk).update(deleted_at=timezone.now(), deleted_by=world.admin)
    gone = _row(top, world.admin, "Gammal.pdf")
    Document.objects.filter(pk=gone.pk).update(deleted_at=timezone.now(), deleted_by=world.staff)
    gone_version = DocumentVersion.objects.get(document=gone)
    for version in (first, second, third, gone_version):
        found = access.version_with_relations(version.pk)
        assert found is not None
        expected = _orm_version(version.pk)
        assert type(found) is DocumentVersion and not found._state.adding
        _same(found.document.folder, expected.document.folder)
        with CaptureQueriesContext(connection) as queries:
            pairs = [
                (found, expected),
                (found.document, expected.document),
                (found.deleted_by, expected.deleted_by),
                (found.document.deleted_by, expected.document.deleted_by),
            ]
        assert queries.captured_queries == []
        _same_values(pairs)
    deleted = access.version_with_relations(second.pk)
    assert deleted is not None and deleted.deleted_by == world.admin and deleted.document.deleted_by is None
    in_gone = access.version_with_relations(gone_version.pk)
    assert in_gone is not None and in_gone.deleted_by is None and in_gone.document.deleted_by == world.staff
    assert in_gone.document.folder.pk == top.pk and deleted.document.folder.root == top


def test_no_version_for_a_missing_or_an_impossible_id(world: World) -> None:
    version = DocumentVersion.objects.get(document=_row(_folder(world, "Avtal"), world.admin, "Avtal.pdf"))
    assert access.version_with_relations(version.pk + 10_000) is None
    assert access.version_with_relations(2**63) is None
    assert access.version_with_relations(-(2**63) - 1) is None
    found = access.version_with_relations(version.pk)
    assert found is not None and found.document.name == "Avtal.pdf"


# --- documents.selectors.folder_paths: "Top / Sub / Leaf" for search results ----------------------


def test_folder_paths_name_every_live_ancestor_and_mark_a_trashed_one(world: World) -> None:
    top = _folder(world, "Bokslut")
    middle = _folder(world, "2026", parent=top)
    leaf = _folder(world, "Bilagor", parent=middle)
    other = _folder(world, "Avtal")
    triples = [(f.pk, f.path, f.name) for f in (leaf, middle, top, other)]
    assert selectors.folder_paths(triples) == {
        leaf.pk: "Bokslut / 2026 / Bilagor",
        middle.pk: "Bokslut / 2026",
        top.pk: "Bokslut",
        other.pk: "Avtal",
    }
    Folder.all_objects.filter(pk=middle.pk).update(deleted_at=timezone.now())
    assert selectors.folder_paths([(leaf.pk, leaf.path, leaf.name)]) == {leaf.pk: "Bokslut / ? / Bilagor"}
    with CaptureQueriesContext(connection) as queries:
        assert selectors.folder_paths([]) == {}
    assert queries.captured_queries == []


def test_folder_paths_read_the_names_in_one_query(world: World) -> None:
    """One query for any number of folders at any depth. (It was a prepared statement while the
    search pages called it on PostgreSQL; their rows now join the names themselves.)"""
    top = _folder(world, "Bokslut")
    leaf = _folder(world, "2026", parent=top)
    deeper = _folder(world, "Bilagor", parent=leaf)
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert selectors.folder_paths(
                [(leaf.pk, leaf.path, leaf.name), (deeper.pk, deeper.path, deeper.name)]
            ) == {leaf.pk: "Bokslut / 2026", deeper.pk: "Bokslut / 2026 / Bilagor"}
        assert len(queries.captured_queries) == 1
