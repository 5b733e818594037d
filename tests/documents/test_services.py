from __future__ import annotations

from typing import Any

import pytest

from documents import access, selectors, services
from documents.models import Audience, CustomerAccess, Document, DocumentVersion, Folder
from documents.storage import document_storage
from portal.errors import ServiceError
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _upload(
    folder: Folder, actor: Any, name: str = "a.pdf", data: bytes = PDF, by_customer: bool = False
) -> Any:
    return services.document_upload(
        folder=folder, actor=actor, name=name, chunks=[data], by_customer=by_customer
    )


def test_selected_user_sees_the_folder_and_its_subfolder_others_do_not(world: Any) -> None:
    folder = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Lön",
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk],
    )
    sub = services.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="2026", parent=folder
    )
    assert sub.root_id == folder.pk and sub.path == f"{folder.path}{sub.pk}/"
    visible = selectors.folders_visible_to(
        user=world.customer_user, collaboration=world.collaboration, rights_side="customer"
    )
    assert {f.name for f in visible} == {"Lön", "2026"}
    assert access.rights_for(world.primary, sub) is None
    assert access.rights_for(world.outsider, sub) is None
    assert access.rights_for(world.staff_unassigned, sub) is None
    rights = access.rights_for(world.customer_user, sub)
    assert rights is not None and not rights.can_upload
    assert access.rights_for(world.staff, sub) == access.PARTNER_RIGHTS


def test_the_folder_list_gives_each_folder_its_top_level_folder_without_a_query(
    world: Any, django_assert_num_queries: Any
) -> None:
    top = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.READ,
        audience=Audience.ALL,
    )
    sub = services.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="2026", parent=top
    )
    deep = services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Q1", parent=sub)
    for user, side in ((world.admin, "partner"), (world.customer_user, "customer")):
        folders = selectors.folders_visible_to(user=user, collaboration=world.collaboration, rights_side=side)
        assert {f.pk for f in folders} >= {top.pk, sub.pk, deep.pk}
        with django_assert_num_queries(0):
            roots = {f.pk: f.root for f in folders}
            for f in (top, sub, deep):
                root = roots[f.pk]
                assert root is not None, side
                assert (root.pk, root.name, root.customer_access) == (top.pk, "Bokslut", CustomerAccess.READ)


def test_all_users_is_one_group_row_and_follows_membership(world: Any) -> None:
    folder = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.EDIT,
    )
    from documents.models import FolderGroupObjectPermission, FolderUserObjectPermission

    assert FolderUserObjectPermission.objects.count() == 0
    assert FolderGroupObjectPermission.objects.filter(content_object=folder).count() == 2  # view + upload
    rights = access.rights_for(world.customer_user, folder)
    assert rights is not None and rights.can_upload
    from customers.models import CustomerMembership

    CustomerMembership.objects.filter(user=world.customer_user).delete()
    assert access.rights_for(world.customer_user, folder) is None


def test_upload_versions_and_refusals_leave_nothing_behind(world: Any) -> None:
    folder = services.folder_create(collaboration=world.collaboration, actor=world.admin, name="F")
    v1 = _upload(folder, world.admin)
    v2 = _upload(folder, world.admin, data=PDF + b"x")
    assert (v1.document_id, v1.number, v2.number) == (v2.document_id, 1, 2)
    assert v1.content_type == "application/pdf"
    assert Document.objects.get().current_version_id == v2.pk
    storage = document_storage()
    assert storage.exists(v1.storage_key) and storage.exists(v2.storage_key)
    before = (
        DocumentVersion.objects.count(),
        sorted(storage.listdir(f"documents/{world.collaboration.pk}")[1]),
    )
    for name, data in [("empty.pdf", b""), ("../evil.pdf", PDF), ("bad\x07.pdf", PDF)]:
        with pytest.raises(ServiceError):
            _upload(folder, world.admin, name=name, data=data)
    after = (
        DocumentVersion.objects.count(),
        sorted(storage.listdir(f"documents/{world.collaboration.pk}")[1]),
    )
    assert before == after
    assert AuditEvent.objects.filter(action="document.version").count() == 1


def test_version_count_follows_uploads_and_version_deletes(world: Any) -> None:
    folder = services.folder_create(collaboration=world.collaboration, actor=world.admin, name="F")
    v1 = _upload(folder, world.admin)
    _upload(folder, world.admin, data=PDF + b"2")
    v3 = _upload(folder, world.admin, data=PDF + b"3")
    assert Document.objects.get().version_count == 3
    services.version_delete(version=v1, actor=world.admin)
    assert Document.objects.get().version_count == 2
    with pytest.raises(ServiceError):
        services.version_delete(version=v3, actor=world.admin)  # the current one: refused, count unchanged
    assert Document.objects.get().version_count == 2
