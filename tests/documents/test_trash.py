"""The trash (documents.trash): deleting moves folders, documents and versions there, restoring puts
them back, purging (the beat, or an administrator's "Empty trash") removes their files. The storage
counter equals the reconcile's sum at every step: it drops only at the purge."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from billing import services as billing
from documents import services, storage, trash
from documents.models import (
    Audience,
    CustomerAccess,
    Document,
    DocumentVersion,
    Folder,
    TrashEntry,
    TrashKind,
)
from documents.usage import stored_bytes
from partners.models import Partner
from portal.errors import ServiceError
from portal.models import AuditEvent, User
from tests.conftest import World
from tests.parallel import run_in_parallel

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
LATER = dt.timedelta(days=31)


@pytest.fixture(autouse=True)
def _english(world: World) -> None:
    User.objects.update(language="en")


def upload(
    folder: Folder, actor: User, name: str, size: int = 500, *, by_customer: bool = False
) -> DocumentVersion:
    data = PDF + b"%" * (size - len(PDF))
    return services.document_upload(
        folder=folder, actor=actor, name=name, chunks=[data], by_customer=by_customer
    )


def make_folder(world: World, name: str, parent: Folder | None = None, **access: Any) -> Folder:
    return services.folder_create(
        collaboration=world.collaboration, actor=world.admin, name=name, parent=parent, **access
    )


def counted(world: World) -> int:
    return Partner.objects.get(pk=world.partner.pk).storage_used_bytes


def assert_reconciled(world: World) -> None:
    """The counter equals documents.usage's sum, and the reconcile finds nothing to fix."""
    summed = sum(
        int(size) for partner, _c, size in stored_bytes(world.partner.pk) if partner == world.partner.pk
    )
    assert counted(world) == summed
    assert billing.storage_reconcile() == []


def stored(version: DocumentVersion) -> bool:
    return storage.document_storage().exists(version.storage_key)


def live(model: type[Any], pk: int | None) -> bool:
    assert pk is not None
    manager = Folder.all_objects if model is Folder else model.objects
    row = manager.get(pk=pk)
    return row.deleted_at is None and row.trash_id is None


# --- Storage accounting -----------------------------------------------------------------------


def test_every_step_keeps_the_counter_equal_to_the_reconcile(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    folder = make_folder(world, "Bokslut")
    sub = make_folder(world, "Underlag", parent=folder)
    a1 = upload(folder, world.admin, "a.pdf", 1000)
    a2 = upload(folder, world.admin, "a.pdf", 1500)
    b = upload(folder, world.admin, "b.pdf", 700)
    c = upload(sub, world.admin, "c.pdf", 300)
    assert counted(world) == 3500
    assert_reconciled(world)

    services.version_delete(version=a1, actor=world.admin)
    assert_reconciled(world)
    services.documents_delete(documents=[b.document], actor=world.admin)
    assert_reconciled(world)
    services.folder_delete(folder=sub, actor=world.admin)
    assert_reconciled(world)
    assert counted(world) == 3500  # trashed files still count
    assert Document.objects.get(pk=a2.document_id).version_count == 1

    entries = {e.kind: e for e in TrashEntry.objects.all()}
    assert set(entries) == {TrashKind.VERSION, TrashKind.DOCUMENT, TrashKind.FOLDER}
    assert (entries["version"].size, entries["document"].size, entries["folder"].size) == (1000, 700, 300)
    assert entries["folder"].location == "Bokslut"
    assert entries["document"].location == "Bokslut"

    for entry in TrashEntry.objects.all():
        trash.trash_restore(entry=entry, actor=world.admin)
        assert_reconciled(world)
    assert Document.objects.get(pk=a2.document_id).version_count == 2
    assert live(Folder, sub.pk) and live(Document, c.document_id) and live(Document, b.document_id)
    assert not TrashEntry.objects.exists()

    services.documents_delete(documents=[b.document], actor=world.admin)
    services.folder_delete(folder=sub, actor=world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        assert trash.trash_purge_due(now=timezone.now() + LATER) == 2
    assert_reconciled(world)
    assert counted(world) == 2500
    assert not stored(b) and not stored(c) and stored(a1)

    services.version_delete(version=a1, actor=world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        assert trash.trash_empty(partner=world.partner, actor=world.admin) == 1
    assert_reconciled(world)
    assert counted(world) == 1500
    assert not stored(a1) and stored(a2)


def test_files_stay_in_storage_while_trashed_and_go_after_the_purge(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    version = upload(make_folder(world, "Bokslut"), world.admin, "a.pdf")
    with django_capture_on_commit_callbacks(execute=True):
        services.documents_delete(documents=[version.document], actor=world.admin)
    assert stored(version)
    with django_capture_on_commit_callbacks(execute=True):
        assert trash.trash_purge_due() == 0  # not due yet
        assert stored(version)
        assert trash.trash_purge_due(now=timezone.now() + LATER) == 1
    assert not stored(version)
    document = Document.objects.get(pk=version.document_id)
    assert document.deleted_at is not None and document.trash_id is None  # a tombstone
    assert DocumentVersion.objects.get(pk=version.pk).purged_at is not None
    assert AuditEvent.objects.filter(action="trash.purge").count() == 1


def test_a_purge_run_twice_purges_once(world: World) -> None:
    version = upload(make_folder(world, "Bokslut"), world.admin, "a.pdf", 800)
    services.documents_delete(documents=[version.document], actor=world.admin)
    assert trash.trash_purge_due(now=timezone.now() + LATER) == 1
    assert trash.trash_purge_due(now=timezone.now() + LATER) == 0
    assert counted(world) == 0
    assert_reconciled(world)
    assert AuditEvent.objects.filter(action="trash.purge").count() == 1


def test_the_bulk_delete_makes_one_entry_per_document(world: World) -> None:
    folder = make_folder(world, "Bokslut")
    versions = [upload(folder, world.admin, f"{n}.pdf", 400 + n) for n in range(3)]
    assert services.documents_delete(documents=[v.document for v in versions], actor=world.admin) == 3
    entries = TrashEntry.objects.filter(kind=TrashKind.DOCUMENT)
    assert sorted(entries.values_list("name", "size")) == [("0.pdf", 400), ("1.pdf", 401), ("2.pdf", 402)]
    for version in versions:
        version.refresh_from_db()
        assert version.trash is not None and version.trash.document_id == version.document_id


def test_retained_entries_are_skipped_by_the_purge_and_by_empty_trash(world: World) -> None:
    folder = make_folder(world, "Bokslut")
    version = upload(folder, world.admin, "a.pdf")
    services.documents_delete(documents=[version.document], actor=world.admin)
    # A rule set after the deletion still holds the file: it was uploaded today.
    Folder.objects.filter(pk=folder.pk).update(retention_kind="upload", retention_years=7)
    assert trash.trash_purge_due(now=timezone.now() + LATER) == 0
    assert trash.trash_empty(partner=world.partner, actor=world.admin) == 0
    assert TrashEntry.objects.count() == 1
    assert DocumentVersion.objects.get(pk=version.pk).purged_at is None
    assert_reconciled(world)


# --- Restore ------------------------------------------------------------------------------------


def test_restoring_a_document_whose_folder_was_deleted_restores_the_folder_path(world: World) -> None:
    top = make_folder(world, "Bokslut")
    mid = make_folder(world, "2025", parent=top)
    leaf = make_folder(world, "Underlag", parent=mid)
    version = upload(leaf, world.admin, "a.pdf")
    other = upload(mid, world.admin, "b.pdf")
    services.documents_delete(documents=[version.document], actor=world.admin)
    services.folder_delete(folder=mid, actor=world.admin)
    assert not Folder.objects.filter(pk=leaf.pk).exists()  # the default manager hides trashed folders

    trash.trash_restore(entry=TrashEntry.objects.get(kind=TrashKind.DOCUMENT), actor=world.admin)
    assert live(Document, version.document_id)
    assert live(Folder, mid.pk) and live(Folder, leaf.pk)
    # The folder rows left their entry, which keeps what it still holds (b.pdf) until restored.
    entry = TrashEntry.objects.get()
    assert entry.kind == TrashKind.FOLDER and not live(Document, other.document_id)
    trash.trash_restore(entry=entry, actor=world.admin)
    assert live(Document, other.document_id)
    assert not TrashEntry.objects.exists()
    assert AuditEvent.objects.filter(action="trash.restore").count() == 2


def test_an_entry_left_with_no_rows_goes(world: World) -> None:
    top = make_folder(world, "Bokslut")
    leaf = make_folder(world, "Underlag", parent=top)
    version = upload(leaf, world.admin, "a.pdf")
    services.documents_delete(documents=[version.document], actor=world.admin)
    services.folder_delete(folder=leaf, actor=world.admin)  # holds only the folder row
    trash.trash_restore(entry=TrashEntry.objects.get(kind=TrashKind.DOCUMENT), actor=world.admin)
    assert not TrashEntry.objects.exists()
    assert live(Folder, leaf.pk)


def test_a_folder_entry_restores_the_folders_its_documents_need(world: World) -> None:
    top = make_folder(world, "Bokslut")
    sub = make_folder(world, "Underlag", parent=top)
    early = upload(sub, world.admin, "tidig.pdf")
    late = upload(sub, world.admin, "sen.pdf")
    services.documents_delete(documents=[early.document], actor=world.admin)
    services.folder_delete(folder=top, actor=world.admin)  # holds Bokslut, Underlag and sen.pdf
    folder_entry = TrashEntry.objects.get(kind=TrashKind.FOLDER)
    # Restoring tidig.pdf takes Bokslut and Underlag out of the folder's entry ...
    trash.trash_restore(entry=TrashEntry.objects.get(kind=TrashKind.DOCUMENT), actor=world.admin)
    # ... then Underlag goes again, with tidig.pdf (sen.pdf is not live: it stays in the first entry).
    services.folder_delete(folder=sub, actor=world.admin)
    trash.trash_restore(entry=folder_entry, actor=world.admin)
    assert live(Document, late.document_id) and live(Folder, sub.pk) and live(Folder, top.pk)
    second = TrashEntry.objects.get()  # Underlag's second entry keeps tidig.pdf
    assert second.folder_id == sub.pk and not live(Document, early.document_id)
    trash.trash_restore(entry=second, actor=world.admin)
    assert live(Document, early.document_id) and not TrashEntry.objects.exists()
    assert_reconciled(world)


def test_a_name_taken_meanwhile_gets_the_next_free_name(world: World) -> None:
    folder = make_folder(world, "Bokslut")
    first = upload(folder, world.admin, "a.pdf")
    services.documents_delete(documents=[first.document], actor=world.admin)
    upload(folder, world.admin, "a.pdf")
    gone = make_folder(world, "Avtal")
    services.folder_delete(folder=gone, actor=world.admin)
    make_folder(world, "Avtal")  # a live folder of the same name is allowed

    for entry in TrashEntry.objects.all():
        trash.trash_restore(entry=entry, actor=world.admin)
    assert Document.objects.get(pk=first.document_id).name == "a (2).pdf"
    assert Document.objects.get(pk=first.document_id).search_name == "a (2).pdf"
    assert sorted(Folder.objects.filter(parent=None).values_list("name", flat=True)) == [
        "Avtal",
        "Avtal (2)",
        "Bokslut",
    ]


def test_a_folder_comes_back_under_a_name_free_regardless_of_case(world: World) -> None:
    """Folder names are unique among siblings whatever their case; a dot is no extension, and a
    long name is shortened to fit " (N)" within the 200 characters."""
    long_name = "Å" * 200
    gone = [make_folder(world, name) for name in ("Avtal", "Avtal 2024.01", long_name)]
    for folder in gone:
        services.folder_delete(folder=folder, actor=world.admin)
    for name in ("AVTAL", "avtal (2)", "avtal 2024.01", "å" * 200):
        make_folder(world, name)

    for entry in TrashEntry.objects.all():
        trash.trash_restore(entry=entry, actor=world.admin)
    names = [Folder.objects.get(pk=folder.pk).name for folder in gone]
    assert names == ["Avtal (3)", "Avtal 2024.01 (2)", "Å" * 196 + " (2)"]


def test_a_version_whose_document_is_in_the_trash_is_refused(world: World) -> None:
    folder = make_folder(world, "Bokslut")
    v1 = upload(folder, world.admin, "a.pdf")
    upload(folder, world.admin, "a.pdf")
    services.version_delete(version=v1, actor=world.admin)
    services.documents_delete(documents=[v1.document], actor=world.admin)
    entry = TrashEntry.objects.get(kind=TrashKind.VERSION)
    with translation.override("en"), pytest.raises(ServiceError, match=r"restore a\.pdf first"):
        trash.trash_restore(entry=entry, actor=world.admin)
    assert TrashEntry.objects.filter(pk=entry.pk).exists()
    trash.trash_restore(entry=TrashEntry.objects.get(kind=TrashKind.DOCUMENT), actor=world.admin)
    trash.trash_restore(entry=entry, actor=world.admin)
    assert Document.objects.get(pk=v1.document_id).version_count == 2


def test_restoring_twice_is_refused_with_a_message(world: World) -> None:
    version = upload(make_folder(world, "Bokslut"), world.admin, "a.pdf")
    services.documents_delete(documents=[version.document], actor=world.admin)
    entry = TrashEntry.objects.get()
    trash.trash_restore(entry=entry, actor=world.admin)
    with translation.override("en"), pytest.raises(ServiceError, match="no longer in the trash"):
        trash.trash_restore(entry=entry, actor=world.admin)


# --- Concurrency --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_purges_at_once_purge_once(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs real row locks between parallel connections")
    folder = make_folder(world, "Bokslut")
    versions = [upload(folder, world.admin, f"{n}.pdf", 600) for n in range(4)]
    services.documents_delete(documents=[v.document for v in versions], actor=world.admin)
    purged: list[int] = []

    def purge() -> None:
        purged.append(trash.trash_purge_due(now=timezone.now() + LATER))

    calls: list[Callable[[], object]] = [
        purge,
        purge,
        partial(trash.trash_empty, partner=world.partner, actor=world.admin),
    ]
    assert run_in_parallel(calls) == ["ok"] * 3
    assert not TrashEntry.objects.exists()
    assert counted(world) == 0
    assert AuditEvent.objects.filter(action="trash.purge").count() == 4
    assert_reconciled(world)


# --- Pages --------------------------------------------------------------------------------------


def _partner_urls(world: World, entry: TrashEntry) -> list[tuple[str, str]]:
    c = world.collaboration.pk
    return [
        ("get", reverse("documents:partner_trash", args=[c])),
        ("post", reverse("documents:partner_trash_restore", args=[c, entry.pk])),
    ]


def _customer_urls(world: World, entry: TrashEntry) -> list[tuple[str, str]]:
    c = world.collaboration.pk
    return [
        ("get", reverse("documents:customer_trash", args=[c])),
        ("post", reverse("documents:customer_trash_restore", args=[c, entry.pk])),
    ]


@pytest.fixture
def shared(world: World) -> Folder:
    return make_folder(world, "Delat", customer_access=CustomerAccess.EDIT)


def customer_deleted(
    world: World, folder: Folder, name: str = "kvitto.pdf", user: User | None = None
) -> TrashEntry:
    user = user or world.customer_user
    version = upload(folder, user, name, by_customer=True)
    services.documents_delete(documents=[version.document], actor=user, by_customer=True)
    return TrashEntry.objects.get(document_id=version.document_id)


def test_the_partner_trash_lists_and_restores(world: World, login: Any) -> None:
    folder = make_folder(world, "Bokslut")
    version = upload(folder, world.admin, "årsredovisning.pdf", 2000)
    services.documents_delete(documents=[version.document], actor=world.admin)
    client = login(world.staff)
    html = client.get(reverse("documents:partner_trash", args=[world.collaboration.pk])).content.decode()
    assert "årsredovisning.pdf" in html and "Bokslut" in html and "Anna Admin" in html
    purge_day = timezone.localdate(TrashEntry.objects.get().deleted_at + dt.timedelta(days=30))
    assert purge_day.isoformat() in html
    entry = TrashEntry.objects.get()
    response = client.post(
        reverse("documents:partner_trash_restore", args=[world.collaboration.pk, entry.pk])
    )
    assert response.status_code == 302
    assert live(Document, version.document_id)
    root = client.get(reverse("documents:partner_root", args=[world.collaboration.pk])).content.decode()
    assert reverse("documents:partner_trash", args=[world.collaboration.pk]) in root


def test_outsiders_get_404_on_every_trash_url(world: World, shared: Folder, login: Any) -> None:
    entry = customer_deleted(world, shared)
    for user in (world.outsider, world.outsider_customer_user, world.staff_unassigned):
        client = login(user)
        for method, url in _partner_urls(world, entry) + _customer_urls(world, entry):
            assert getattr(client, method)(url).status_code == 404, (user, url)
    assert TrashEntry.objects.filter(pk=entry.pk).exists()


def test_partner_users_do_not_use_the_customer_side(world: World, shared: Folder, login: Any) -> None:
    entry = customer_deleted(world, shared)
    client = login(world.admin)
    for method, url in _customer_urls(world, entry):
        assert getattr(client, method)(url).status_code == 404
    assert TrashEntry.objects.filter(pk=entry.pk).exists()


def test_the_customer_restores_what_customers_deleted(world: World, shared: Folder, login: Any) -> None:
    entry = customer_deleted(world, shared, user=world.primary)
    assert entry.by_customer
    firms = upload(shared, world.admin, "firmans.pdf")
    services.documents_delete(documents=[firms.document], actor=world.admin)
    firm_entry = TrashEntry.objects.get(document_id=firms.document_id)
    client = login(world.customer_user)
    html = client.get(reverse("documents:customer_trash", args=[world.collaboration.pk])).content.decode()
    assert "kvitto.pdf" in html and "firmans.pdf" not in html
    c = world.collaboration.pk
    assert (
        client.post(reverse("documents:customer_trash_restore", args=[c, firm_entry.pk])).status_code == 404
    )
    assert client.post(reverse("documents:customer_trash_restore", args=[c, entry.pk])).status_code == 302
    assert live(Document, entry.document_id) and not live(Document, firms.document_id)
    root = client.get(reverse("documents:customer_root", args=[c])).content.decode()
    assert reverse("documents:customer_trash", args=[c]) in root


def test_the_customers_delete_through_the_page_is_marked_as_theirs(
    world: World, shared: Folder, login: Any
) -> None:
    version = upload(shared, world.customer_user, "kvitto.pdf", by_customer=True)
    client = login(world.customer_user)
    assert client.post(reverse("documents:document_delete", args=[version.document_id])).status_code == 302
    assert TrashEntry.objects.get().by_customer
    other = upload(shared, world.customer_user, "kvitto2.pdf", by_customer=True)
    login(world.staff).post(reverse("documents:document_delete", args=[other.document_id]))
    assert not TrashEntry.objects.get(document_id=other.document_id).by_customer


def test_a_customer_user_without_access_to_the_folder_gets_404(world: World, login: Any) -> None:
    private = make_folder(
        world,
        "Bara Karin",
        customer_access=CustomerAccess.EDIT,
        audience=Audience.SELECTED,
        selected_user_ids=[world.primary.pk],
    )
    entry = customer_deleted(world, private, user=world.primary)
    client = login(world.customer_user)
    html = client.get(reverse("documents:customer_trash", args=[world.collaboration.pk])).content.decode()
    assert "kvitto.pdf" not in html
    url = reverse("documents:customer_trash_restore", args=[world.collaboration.pk, entry.pk])
    assert client.post(url).status_code == 404
    assert login(world.primary).post(url).status_code == 302


def test_a_customer_user_with_read_access_sees_but_cannot_restore(
    world: World, shared: Folder, login: Any
) -> None:
    entry = customer_deleted(world, shared)
    Folder.objects.filter(pk=shared.pk).update(customer_access=CustomerAccess.READ)
    client = login(world.customer_user)
    c = world.collaboration.pk
    html = client.get(reverse("documents:customer_trash", args=[c])).content.decode()
    url = reverse("documents:customer_trash_restore", args=[c, entry.pk])
    assert "kvitto.pdf" in html and url not in html
    assert client.post(url).status_code == 403
    assert TrashEntry.objects.filter(pk=entry.pk).exists()


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_trash_pages_cost_the_same_queries_for_one_entry_or_many(
    world: World, shared: Folder, login: Any
) -> None:
    folder = make_folder(world, "Bokslut")
    v1 = upload(folder, world.admin, "a.pdf")
    upload(folder, world.admin, "a.pdf")
    services.version_delete(version=v1, actor=world.admin)
    customer_deleted(world, shared, "k0.pdf")
    partner_url = reverse("documents:partner_trash", args=[world.collaboration.pk])
    customer_url = reverse("documents:customer_trash", args=[world.collaboration.pk])
    partner_one = _queries(login(world.staff), partner_url)
    customer_one = _queries(login(world.customer_user), customer_url)
    for n in range(1, 6):
        customer_deleted(world, shared, f"k{n}.pdf")
    sub = make_folder(world, "Sub", parent=folder)
    services.folder_delete(folder=sub, actor=world.admin)
    assert _queries(login(world.staff), partner_url) == partner_one
    assert _queries(login(world.customer_user), customer_url) == customer_one


def test_the_storage_page_says_what_the_trash_holds_and_admins_empty_it(
    world: World, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    version = upload(make_folder(world, "Bokslut"), world.admin, "a.pdf", 2000)
    services.documents_delete(documents=[version.document], actor=world.admin)
    client = login(world.admin)
    html = client.get(reverse("billing:storage")).content.decode()
    assert "The trash holds 2.0 kB in 1 item; it is purged after 30 days." in html
    empty_url = reverse("documents:trash_empty")
    assert empty_url in html
    assert "Empty the trash?" in client.get(empty_url).content.decode()
    assert TrashEntry.objects.exists()  # the confirmation changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(empty_url).status_code == 302
    assert not TrashEntry.objects.exists() and not stored(version)
    assert_reconciled(world)


def test_staff_cannot_empty_the_trash(world: World, login: Any) -> None:
    version = upload(make_folder(world, "Bokslut"), world.admin, "a.pdf")
    services.documents_delete(documents=[version.document], actor=world.admin)
    client = login(world.staff)
    assert client.get(reverse("documents:trash_empty")).status_code == 403
    assert client.post(reverse("documents:trash_empty")).status_code == 403
    assert TrashEntry.objects.exists()


def test_the_outsiders_empty_trash_leaves_ours(world: World, login: Any) -> None:
    version = upload(make_folder(world, "Bokslut"), world.admin, "a.pdf")
    services.documents_delete(documents=[version.document], actor=world.admin)
    login(world.outsider).post(reverse("documents:trash_empty"))
    assert TrashEntry.objects.exists()


def test_empty_trash_says_what_a_retention_rule_keeps(world: World, login: Any) -> None:
    folder = make_folder(world, "Bokslut")
    version = upload(folder, world.admin, "a.pdf")
    services.documents_delete(documents=[version.document], actor=world.admin)
    Folder.objects.filter(pk=folder.pk).update(retention_kind="upload", retention_years=7)
    response = login(world.admin).post(reverse("documents:trash_empty"), follow=True)
    assert "1 item stays in the trash" in response.content.decode()
