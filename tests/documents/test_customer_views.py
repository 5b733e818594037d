"""Customer side of the documents: Samarbeten / partner / folders, the bulk form and the primary
contact's "who has access" page. Every view is tried as the owner, a same-customer user without
access, the same partner's other customer, the other partner's customer and the outsider."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from documents import services
from documents.models import Audience, CustomerAccess, Document, DocumentVersion, Folder
from documents.selectors import FolderNode
from portal.models import AuditEvent, User
from tests.conftest import World
from tests.factories import CustomerMembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_pages(world: Any) -> None:
    """The pages speak the user's language; these tests read the English texts (the msgids)."""
    from portal.models import User

    User.objects.update(language="en")


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class Shared:
    edit: Folder  # "Bokslut": read and upload, all users
    edit_sub: Folder  # "2026" under Bokslut
    read: Folder  # "Lön": read, selected: only customer_user
    managed: Folder  # "Avtal": read, all users, the primary contact manages who
    internal: Folder  # "Internt": the firm's only


@pytest.fixture
def shared(world: World) -> Shared:
    def make(name: str, **access: Any) -> Folder:
        return services.folder_create(
            collaboration=world.collaboration, actor=world.admin, name=name, **access
        )

    edit = make("Bokslut", customer_access=CustomerAccess.EDIT)
    return Shared(
        edit=edit,
        edit_sub=services.folder_create(
            collaboration=world.collaboration, actor=world.admin, name="2026", parent=edit
        ),
        read=make(
            "Lön",
            customer_access=CustomerAccess.READ,
            audience=Audience.SELECTED,
            selected_user_ids=[world.customer_user.pk],
        ),
        managed=make("Avtal", customer_access=CustomerAccess.READ, primary_contact_manages=True),
        internal=make("Internt"),
    )


def upload(folder: Folder, actor: User, name: str = "a.pdf", *, by_customer: bool = False) -> Document:
    version = services.document_upload(
        folder=folder, actor=actor, name=name, chunks=[PDF], by_customer=by_customer
    )
    return version.document


def root_url(world: World) -> str:
    return reverse("documents:customer_root", args=[world.collaboration.pk])


def folder_url(folder: Folder) -> str:
    return reverse("documents:customer_folder", args=[folder.collaboration_id, folder.pk])


def access_url(folder: Folder) -> str:
    return reverse("documents:customer_folder_access", args=[folder.collaboration_id, folder.pk])


def bulk_url(folder: Folder) -> str:
    return reverse("documents:customer_bulk", args=[folder.collaboration_id, folder.pk])


def tree_names(nodes: list[FolderNode]) -> set[str]:
    return {name for node in nodes for name in {node.folder.name, *tree_names(node.children)}}


def page(response: Any) -> str:
    return str(response.content.decode())


def other_customer_user(world: World) -> User:
    """A user of the same partner's other customer."""
    return CustomerMembershipFactory.create(customer=world.other_collaboration.customer).user


# --- Samarbeten / partner: the folders -----------------------------------------------------------


def test_collaboration_page_sends_the_customer_on_to_the_documents(world: World, login: Any) -> None:
    response = login(world.customer_user).get(
        reverse("customers:collaboration_detail", args=[world.collaboration.pk])
    )
    assert response.status_code == 302
    assert response["Location"] == root_url(world)


def test_collaboration_page_keeps_its_access_check(world: World, login: Any) -> None:
    for user in (world.outsider_customer_user, world.admin, other_customer_user(world)):
        response = login(user).get(reverse("customers:collaboration_detail", args=[world.collaboration.pk]))
        assert response.status_code == 404


def test_each_user_sees_exactly_the_folders_shared_with_them(
    world: World, shared: Shared, login: Any
) -> None:
    response = login(world.customer_user).get(root_url(world))
    assert response.status_code == 200
    assert tree_names(response.context["nodes"]) == {"Bokslut", "2026", "Lön", "Avtal"}
    assert "Internt" not in page(response)

    response = login(world.primary).get(root_url(world))
    assert tree_names(response.context["nodes"]) == {"Bokslut", "2026", "Avtal"}
    assert "Lön" not in page(response)
    assert f'href="{folder_url(shared.edit_sub)}"' in page(response)


def test_root_with_nothing_shared_says_so(world: World, login: Any) -> None:
    response = login(world.primary).get(root_url(world))
    assert response.status_code == 200
    assert "has not shared any folders with you yet" in page(response)


@pytest.mark.parametrize("who", ["admin", "staff", "staff_unassigned", "outsider", "outsider_customer_user"])
def test_root_is_404_for_anyone_but_the_customers_users(
    world: World, shared: Shared, login: Any, who: str
) -> None:
    assert login(getattr(world, who)).get(root_url(world)).status_code == 404


def test_root_is_404_for_the_same_partners_other_customer(world: World, shared: Shared, login: Any) -> None:
    assert login(other_customer_user(world)).get(root_url(world)).status_code == 404


def test_root_query_count_does_not_grow_with_the_folders(world: World, login: Any) -> None:
    client = login(world.customer_user)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(root_url(world)).status_code == 200
        return len(ctx)

    services.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="F0", customer_access=CustomerAccess.READ
    )
    queries()  # the first visit makes this customer the active organisation: a one-time session write
    few = queries()
    for n in range(1, 12):
        services.folder_create(
            collaboration=world.collaboration,
            actor=world.admin,
            name=f"F{n}",
            customer_access=CustomerAccess.READ,
        )
    assert queries() == few


def test_root_reads_the_users_membership_once(world: World, login: Any) -> None:
    """The membership that lets the user in also decides which folders they see (issue 16: it was
    read twice per request; now it comes from the request's organisation context)."""
    client = login(world.customer_user)
    client.get(root_url(world))  # the one-time session write of the first visit
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(root_url(world)).status_code == 200
    reads = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith('SELECT "customers_customermembership"."id"')
    ]
    assert len(reads) <= 1, reads


# --- A folder ------------------------------------------------------------------------------------


def test_edit_folder_shows_files_access_level_and_the_uploader(
    world: World, shared: Shared, login: Any, settings: Any
) -> None:
    settings.MAX_UPLOAD_BYTES = 5_000_000
    firm = upload(shared.edit, world.admin, "Bokslut 2025.pdf")
    upload(shared.edit, world.customer_user, "Kvitton.pdf", by_customer=True)
    response = login(world.customer_user).get(folder_url(shared.edit))
    assert response.status_code == 200
    html = page(response)
    assert [d.name for d in response.context["documents"]] == ["Bokslut 2025.pdf", "Kvitton.pdf"]
    assert "Read and upload" in html
    assert "data-uploader" in html and 'data-max-bytes="5000000"' in html
    assert f'action="{reverse("documents:upload", args=[shared.edit.pk])}"' in html
    assert 'type="file" name="files" id="upload-files" multiple' in html
    assert '<label class="drop-zone" for="upload-files">' in html
    assert reverse("documents:document_detail", args=[firm.pk]) in html
    assert f'action="{bulk_url(shared.edit)}' in html  # the shared file list posts here
    assert 'value="download"' in html and 'value="delete"' in html
    assert 'value="move"' not in html
    assert f'href="{folder_url(shared.edit_sub)}"' in html  # the subfolder


def test_read_folder_has_no_uploader_and_no_delete(world: World, shared: Shared, login: Any) -> None:
    upload(shared.read, world.admin, "Lönebesked.pdf")
    response = login(world.customer_user).get(folder_url(shared.read))
    assert response.status_code == 200
    html = page(response)
    assert "data-uploader" not in html
    assert 'value="delete"' not in html
    assert "Lönebesked.pdf" in html
    assert response.context["access_label"] == "Read"


def test_subfolder_inherits_the_access_of_its_top_level_folder(
    world: World, shared: Shared, login: Any
) -> None:
    response = login(world.primary).get(folder_url(shared.edit_sub))
    assert response.status_code == 200
    assert response.context["rights"].can_upload
    assert [f.name for f in response.context["ancestors"]] == ["Bokslut"]


def test_same_customer_user_without_access_gets_404(world: World, shared: Shared, login: Any) -> None:
    assert login(world.primary).get(folder_url(shared.read)).status_code == 404
    assert login(world.customer_user).get(folder_url(shared.internal)).status_code == 404


@pytest.mark.parametrize("who", ["staff_unassigned", "outsider", "outsider_customer_user"])
def test_folder_is_404_for_outsiders(world: World, shared: Shared, login: Any, who: str) -> None:
    assert login(getattr(world, who)).get(folder_url(shared.edit)).status_code == 404


def test_folder_is_404_for_the_same_partners_other_customer(world: World, shared: Shared, login: Any) -> None:
    assert login(other_customer_user(world)).get(folder_url(shared.edit)).status_code == 404


def test_folder_under_another_collaborations_url_is_404(world: World, shared: Shared, login: Any) -> None:
    CustomerMembershipFactory.create(customer=world.other_collaboration.customer, user=world.customer_user)
    url = reverse("documents:customer_folder", args=[world.other_collaboration.pk, shared.edit.pk])
    assert login(world.customer_user).get(url).status_code == 404


def test_partner_user_on_the_customer_url_is_sent_to_the_partner_page(
    world: World, shared: Shared, login: Any
) -> None:
    response = login(world.staff).get(folder_url(shared.edit))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "documents:partner_folder", args=[world.collaboration.pk, shared.edit.pk]
    )


def test_removed_access_refuses_the_next_request(world: World, shared: Shared, login: Any) -> None:
    document = upload(shared.read, world.admin)
    client = login(world.customer_user)
    assert client.get(folder_url(shared.read)).status_code == 200
    services.folder_set_access(
        folder=shared.read,
        actor=world.admin,
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[world.primary.pk],
    )
    assert client.get(folder_url(shared.read)).status_code == 404
    assert client.get(reverse("documents:document_download", args=[document.pk])).status_code == 404
    assert "Lön" not in tree_names(client.get(root_url(world)).context["nodes"])


def test_collaboration_ended_with_its_files_deleted_closes_the_folders(
    world: World, shared: Shared, login: Any
) -> None:
    from customers.services import collaboration_end

    collaboration_end(
        collaboration=world.collaboration,
        actor=world.admin,
        delete_files=True,
        confirm=world.collaboration.customer.name,
    )
    client = login(world.customer_user)
    assert client.get(root_url(world)).status_code == 404
    assert client.get(folder_url(shared.edit)).status_code == 404


def test_folder_query_count_does_not_grow_with_the_files(world: World, shared: Shared, login: Any) -> None:
    client = login(world.customer_user)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(folder_url(shared.edit)).status_code == 200
        return len(ctx)

    upload(shared.edit, world.admin, "0.pdf")
    upload(shared.edit, world.customer_user, "1.pdf", by_customer=True)
    queries()  # the first visit makes this customer the active organisation: a one-time session write
    few = queries()
    for n in range(2, 20):
        upload(shared.edit, world.customer_user if n % 2 else world.admin, f"{n}.pdf", by_customer=n % 2 == 1)
    upload(shared.edit, world.admin, "0.pdf")  # a second version
    assert queries() == few


def test_sorting_by_size(world: World, shared: Shared, login: Any) -> None:
    services.document_upload(
        folder=shared.edit, actor=world.admin, name="big.pdf", chunks=[PDF * 3], by_customer=False
    )
    upload(shared.edit, world.admin, "small.pdf")
    response = login(world.customer_user).get(folder_url(shared.edit) + "?sort=-size")
    assert [d.name for d in response.context["documents"]] == ["big.pdf", "small.pdf"]
    assert 'aria-sort="descending"' in page(response)


# --- Bulk: zip and delete ------------------------------------------------------------------------


def test_bulk_download_is_a_zip_of_the_ticked_files(world: World, shared: Shared, login: Any) -> None:
    a = upload(shared.read, world.admin, "Lön januari.pdf")
    b = upload(shared.read, world.admin, "Lön februari.pdf")
    upload(shared.read, world.admin, "not ticked.pdf")
    response = login(world.customer_user).post(
        bulk_url(shared.read), {"action": "download", "documents": [a.pk, b.pk]}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "filename*=utf-8''L%C3%B6n.zip" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["Lön februari.pdf", "Lön januari.pdf"]
    assert archive.read("Lön januari.pdf") == PDF
    events = AuditEvent.objects.filter(action="document.download", actor=world.customer_user)
    assert events.count() == 2 and {e.object_id for e in events} == {a.pk, b.pk}
    assert all(e.details["zip"] is True for e in events)


def test_bulk_with_a_document_of_another_folder_is_refused(world: World, shared: Shared, login: Any) -> None:
    elsewhere = upload(shared.internal, world.admin, "secret.pdf")
    response = login(world.customer_user).post(
        bulk_url(shared.edit), {"action": "download", "documents": [elsewhere.pk]}
    )
    assert response.status_code == 422
    assert AuditEvent.objects.filter(action="document.download").count() == 0


def test_bulk_delete_asks_first_then_deletes_the_customers_files(
    world: World, shared: Shared, login: Any
) -> None:
    own = upload(shared.edit, world.primary, "Kvitto.pdf", by_customer=True)
    client = login(world.customer_user)
    response = client.post(bulk_url(shared.edit), {"action": "delete", "documents": [own.pk]})
    assert response.status_code == 200
    assert "Kvitto.pdf" in page(response) and 'name="confirm" value="1"' in page(response)
    own.refresh_from_db()
    assert own.deleted_at is None

    response = client.post(bulk_url(shared.edit), {"action": "delete", "documents": [own.pk], "confirm": "1"})
    assert response.status_code == 302 and response["Location"] == folder_url(shared.edit) + "?sort=name"
    own.refresh_from_db()
    assert own.deleted_at is not None and own.deleted_by == world.customer_user
    assert DocumentVersion.objects.filter(document=own, deleted_at__isnull=True).count() == 0


def test_bulk_delete_including_the_firms_file_deletes_nothing(
    world: World, shared: Shared, login: Any
) -> None:
    own = upload(shared.edit, world.customer_user, "Kvitto.pdf", by_customer=True)
    firm = upload(shared.edit, world.admin, "Bokslut.pdf")
    response = login(world.customer_user).post(
        bulk_url(shared.edit), {"action": "delete", "documents": [own.pk, firm.pk], "confirm": "1"}
    )
    assert response.status_code == 422
    assert Document.objects.filter(deleted_at__isnull=False).count() == 0
    assert "Nothing was deleted: only Alfa Byrå AB can delete Bokslut.pdf." in page(response)
    html = response.content.decode()
    for document in (own, firm):  # both stay ticked on the page that says why
        assert f'value="{document.pk}" id="doc-{document.pk}" checked>' in html


def test_bulk_delete_in_a_read_folder_deletes_nothing(world: World, shared: Shared, login: Any) -> None:
    # Uploaded while the folder allowed it; the firm has since made it read only.
    own = upload(shared.read, world.customer_user, "Kvitto.pdf", by_customer=True)
    login(world.customer_user).post(
        bulk_url(shared.read), {"action": "delete", "documents": [own.pk], "confirm": "1"}
    )
    own.refresh_from_db()
    assert own.deleted_at is None


def test_customer_cannot_move_documents(world: World, shared: Shared, login: Any) -> None:
    own = upload(shared.edit, world.customer_user, "Kvitto.pdf", by_customer=True)
    response = login(world.customer_user).post(
        bulk_url(shared.edit), {"action": "move", "documents": [own.pk], "target": shared.edit_sub.pk}
    )
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.folder_id == shared.edit.pk


def test_bulk_with_nothing_ticked_says_so(world: World, shared: Shared, login: Any) -> None:
    upload(shared.edit, world.admin)
    response = login(world.customer_user).post(bulk_url(shared.edit), {"action": "download"})
    assert response.status_code == 422
    assert "Tick at least one document." in page(response)


@pytest.mark.parametrize("who", ["outsider", "outsider_customer_user", "staff_unassigned"])
def test_bulk_is_404_for_outsiders(world: World, shared: Shared, login: Any, who: str) -> None:
    document = upload(shared.edit, world.admin)
    response = login(getattr(world, who)).post(
        bulk_url(shared.edit), {"action": "download", "documents": [document.pk]}
    )
    assert response.status_code == 404


def test_bulk_is_404_for_a_same_customer_user_without_access(
    world: World, shared: Shared, login: Any
) -> None:
    document = upload(shared.read, world.admin)
    response = login(world.primary).post(
        bulk_url(shared.read), {"action": "download", "documents": [document.pk]}
    )
    assert response.status_code == 404


# --- The primary contact's "who has access" ------------------------------------------------------


def test_primary_contact_chooses_who_has_access(world: World, shared: Shared, login: Any) -> None:
    client = login(world.primary)
    response = client.get(access_url(shared.managed))
    assert response.status_code == 200
    assert response.context["form"].initial["audience"] == Audience.ALL
    assert "Read" in page(response)

    response = client.post(
        access_url(shared.managed), {"audience": Audience.SELECTED, "users": [world.primary.pk]}
    )
    assert response.status_code == 302 and response["Location"] == folder_url(shared.managed)
    shared.managed.refresh_from_db()
    assert shared.managed.audience == Audience.SELECTED
    assert shared.managed.customer_access == CustomerAccess.READ  # the level stays the firm's
    assert login(world.customer_user).get(folder_url(shared.managed)).status_code == 404
    assert AuditEvent.objects.filter(action="folder.access", actor=world.primary).count() == 1


def test_primary_contact_who_manages_keeps_the_folder_after_taking_themselves_off(
    world: World, shared: Shared, login: Any
) -> None:
    """One cannot manage what one cannot see: a managing primary contact keeps seeing the folder."""
    response = login(world.primary).post(
        access_url(shared.managed), {"audience": Audience.SELECTED, "users": [world.customer_user.pk]}
    )
    assert response.status_code == 302 and response["Location"] == folder_url(shared.managed)
    assert login(world.customer_user).get(folder_url(shared.managed)).status_code == 200
    assert login(world.primary).get(folder_url(shared.managed)).status_code == 200


def test_access_from_a_subfolder_changes_the_top_level_folder(
    world: World, shared: Shared, login: Any
) -> None:
    sub = services.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="2026", parent=shared.managed
    )
    response = login(world.primary).post(
        access_url(sub), {"audience": Audience.SELECTED, "users": [world.primary.pk]}
    )
    assert response.status_code == 302
    shared.managed.refresh_from_db()
    assert shared.managed.audience == Audience.SELECTED
    assert login(world.customer_user).get(folder_url(sub)).status_code == 404


def test_selected_without_users_is_422(world: World, shared: Shared, login: Any) -> None:
    response = login(world.primary).post(access_url(shared.managed), {"audience": Audience.SELECTED})
    assert response.status_code == 422
    assert "Select at least one user" in page(response)
    shared.managed.refresh_from_db()
    assert shared.managed.audience == Audience.ALL


def test_folder_page_links_to_access_only_for_the_managing_primary_contact(
    world: World, shared: Shared, login: Any
) -> None:
    link = f'href="{access_url(shared.managed)}"'
    assert link in page(login(world.primary).get(folder_url(shared.managed)))
    assert link not in page(login(world.customer_user).get(folder_url(shared.managed)))
    assert access_url(shared.edit) not in page(login(world.primary).get(folder_url(shared.edit)))


def test_other_customer_user_gets_403_on_access(world: World, shared: Shared, login: Any) -> None:
    client = login(world.customer_user)
    assert client.get(access_url(shared.managed)).status_code == 403
    response = client.post(access_url(shared.managed), {"audience": Audience.SELECTED, "users": []})
    assert response.status_code == 403


def test_primary_contact_gets_403_where_the_folder_does_not_allow_it(
    world: World, shared: Shared, login: Any
) -> None:
    client = login(world.primary)
    assert client.get(access_url(shared.edit)).status_code == 403
    response = client.post(
        access_url(shared.edit), {"audience": Audience.SELECTED, "users": [world.primary.pk]}
    )
    assert response.status_code == 403
    shared.edit.refresh_from_db()
    assert shared.edit.audience == Audience.ALL


@pytest.mark.parametrize("who", ["outsider", "outsider_customer_user", "staff_unassigned"])
def test_access_is_404_for_outsiders(world: World, shared: Shared, login: Any, who: str) -> None:
    assert login(getattr(world, who)).get(access_url(shared.managed)).status_code == 404


def test_access_is_404_for_the_same_partners_other_customer(world: World, shared: Shared, login: Any) -> None:
    assert login(other_customer_user(world)).get(access_url(shared.managed)).status_code == 404


def test_a_managing_primary_contact_manages_a_folder_they_are_not_selected_for(
    world: World, shared: Shared, login: Any
) -> None:
    services.folder_set_access(
        folder=shared.read,
        actor=world.admin,
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk],
        primary_contact_manages=True,
    )
    assert login(world.primary).get(access_url(shared.read)).status_code == 200
    services.folder_set_access(
        folder=shared.read,
        actor=world.admin,
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk],
        primary_contact_manages=False,
    )
    assert login(world.primary).get(access_url(shared.read)).status_code == 404


def test_partner_on_the_customer_access_url_is_sent_to_the_partner_page(
    world: World, shared: Shared, login: Any
) -> None:
    response = login(world.admin).get(access_url(shared.managed))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "documents:partner_folder_access", args=[world.collaboration.pk, shared.managed.pk]
    )
