"""The operators' admin for documents and the audit log: pages render, rows written only by the
services stay read-only, and what operators may do (rename, delete, re-run previews) goes through
the services, so the audit log and the stored files follow."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from documents import services, trash
from documents.models import (
    Audience,
    CustomerAccess,
    Document,
    DocumentVersion,
    Folder,
    PreviewStatus,
)
from documents.storage import document_storage, human_size
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def docs(world: Any) -> dict[str, Any]:
    shared = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.EDIT,
    )
    selected = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Lön",
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk],
    )
    sub = services.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="2026", parent=shared
    )
    versions = [
        services.document_upload(
            folder=folder, actor=world.admin, name=name, chunks=[PDF + name.encode()], by_customer=False
        )
        for folder, name in ((shared, "Avtal.pdf"), (sub, "Kvitto.pdf"), (selected, "Lönebesked.pdf"))
    ]
    return {"shared": shared, "selected": selected, "sub": sub, "versions": versions}


MODELS = [
    "documents_folder",
    "documents_document",
    "documents_documentversion",
    "documents_folderuserobjectpermission",
    "documents_foldergroupobjectpermission",
    "portal_auditevent",
]


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_change_pages_render(admin_client: Client, docs: Any, model: str) -> None:
    response = admin_client.get(reverse(f"admin:{model}_changelist"))
    assert response.status_code == 200
    objects = list(response.context["cl"].result_list)
    assert objects
    assert admin_client.get(reverse(f"admin:{model}_change", args=[objects[0].pk])).status_code == 200
    assert admin_client.get(reverse(f"admin:{model}_changelist"), {"q": "Avtal"}).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_nothing_is_added_by_hand(admin_client: Client, docs: Any, model: str) -> None:
    assert admin_client.get(reverse(f"admin:{model}_add")).status_code == 403


@pytest.mark.parametrize(
    "model",
    [
        "documents_document",
        "documents_documentversion",
        "documents_folderuserobjectpermission",
        "documents_foldergroupobjectpermission",
        "portal_auditevent",
    ],
)
def test_service_written_rows_are_read_only(admin_client: Client, docs: Any, model: str) -> None:
    response = admin_client.get(reverse(f"admin:{model}_changelist"))
    obj = response.context["cl"].result_list[0]
    change = admin_client.get(reverse(f"admin:{model}_change", args=[obj.pk]))
    assert change.context["has_change_permission"] is False
    assert admin_client.post(reverse(f"admin:{model}_change", args=[obj.pk]), {}).status_code == 403
    assert admin_client.get(reverse(f"admin:{model}_delete", args=[obj.pk])).status_code == 403


def test_folder_changelist_lists_and_filters(admin_client: Client, docs: Any) -> None:
    url = reverse("admin:documents_folder_changelist")
    names = {f.name for f in admin_client.get(url).context["cl"].result_list}
    assert names == {"Bokslut", "Lön", "2026"}
    read = admin_client.get(url, {"customer_access__exact": CustomerAccess.READ}).context["cl"].result_list
    assert [f.name for f in read] == ["Lön"]
    found = admin_client.get(url, {"q": "Kund Alfa"}).context["cl"].result_list
    assert len(found) == 3
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for n in range(10):
        services.folder_create(
            collaboration=docs["shared"].collaboration,
            actor=docs["versions"][0].uploaded_by,
            name=f"Extra {n}",
            parent=docs["sub"],
        )
    with CaptureQueriesContext(connection) as many:
        admin_client.get(url)
    assert len(many) == len(few)


def test_document_list_shows_size_and_filters_deleted(admin_client: Client, world: Any, docs: Any) -> None:
    avtal = docs["versions"][0].document
    services.documents_delete(documents=[avtal], actor=world.admin)
    url = reverse("admin:documents_document_changelist")
    response = admin_client.get(url)
    assert human_size(docs["versions"][1].size) in response.content.decode()
    deleted = admin_client.get(url, {"deleted": "yes"}).context["cl"].result_list
    live = admin_client.get(url, {"deleted": "no"}).context["cl"].result_list
    assert [d.name for d in deleted] == ["Avtal.pdf"]
    assert sorted(d.name for d in live) == ["Kvitto.pdf", "Lönebesked.pdf"]


def test_renaming_a_folder_goes_through_the_service(admin_client: Client, docs: Any) -> None:
    folder = docs["shared"]
    url = reverse("admin:documents_folder_change", args=[folder.pk])
    assert admin_client.post(url, {"name": "Bokslut 2026"}).status_code == 302
    folder.refresh_from_db()
    assert folder.name == "Bokslut 2026"
    assert folder.customer_access == CustomerAccess.EDIT  # read-only fields kept
    assert AuditEvent.objects.filter(action="folder.rename", object_id=folder.pk).exists()

    for bad in ("../x", "a/b", "bell\x07"):
        response = admin_client.post(url, {"name": bad})
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["name"]
    folder.refresh_from_db()
    assert folder.name == "Bokslut 2026"


def test_deleting_a_folder_moves_it_to_the_trash_and_the_purge_removes_the_files(
    admin_client: Client, docs: Any, django_capture_on_commit_callbacks: Any
) -> None:
    folder = docs["shared"]
    keys = [v.storage_key for v in docs["versions"][:2]]
    assert all(document_storage().exists(key) for key in keys)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:documents_folder_delete", args=[folder.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not Folder.objects.filter(pk__in=[folder.pk, docs["sub"].pk]).exists()
    assert all(document_storage().exists(key) for key in keys)  # in the trash
    with django_capture_on_commit_callbacks(execute=True):
        trash.trash_purge_due(now=timezone.now() + dt.timedelta(days=31))
    assert not any(document_storage().exists(key) for key in keys)
    assert document_storage().exists(docs["versions"][2].storage_key)
    assert AuditEvent.objects.filter(action="folder.delete", object_id=folder.pk).exists()


def test_bulk_folder_delete_with_parent_and_child(
    admin_client: Client, docs: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ids = [docs["shared"].pk, docs["sub"].pk]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:documents_folder_changelist"),
            {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
        )
    assert response.status_code == 302
    assert list(Folder.objects.values_list("name", flat=True)) == ["Lön"]


def test_delete_documents_action_uses_the_service(
    admin_client: Client, docs: Any, django_capture_on_commit_callbacks: Any
) -> None:
    version = docs["versions"][0]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:documents_document_changelist"),
            {"action": "delete_documents", "_selected_action": [version.document_id]},
        )
    assert response.status_code == 302
    document = Document.objects.get(pk=version.document_id)
    assert document.deleted_at is not None and document.trash is not None  # in the trash, as in the portal
    assert document_storage().exists(version.storage_key)
    assert AuditEvent.objects.filter(action="document.delete", object_id=document.pk).exists()


def test_render_previews_again_action(
    admin_client: Client, docs: Any, django_capture_on_commit_callbacks: Any
) -> None:
    failed, ready = docs["versions"][0], docs["versions"][1]
    DocumentVersion.objects.filter(pk=failed.pk).update(preview_status=PreviewStatus.FAILED)
    DocumentVersion.objects.filter(pk=ready.pk).update(preview_status=PreviewStatus.READY, preview_key="x")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            reverse("admin:documents_documentversion_changelist"),
            {"action": "render_previews_again", "_selected_action": [failed.pk, ready.pk]},
        )
    assert response.status_code == 302
    assert len(callbacks) == 1
    failed.refresh_from_db()
    ready.refresh_from_db()
    assert failed.preview_status == PreviewStatus.PENDING
    assert (ready.preview_status, ready.preview_key) == (PreviewStatus.READY, "x")


def test_audit_log_search_and_filter(admin_client: Client, world: Any, docs: Any) -> None:
    url = reverse("admin:portal_auditevent_changelist")
    by_email = admin_client.get(url, {"q": world.admin.email}).context["cl"].result_list
    assert by_email and all(event.actor_id == world.admin.pk for event in by_email)
    uploads = admin_client.get(url, {"action__exact": "document.upload"}).context["cl"].result_list
    assert {event.object_repr for event in uploads} == {"Avtal.pdf", "Kvitto.pdf", "Lönebesked.pdf"}
    assert admin_client.get(url, {"q": "Lönebesked"}).context["cl"].result_count == 1
