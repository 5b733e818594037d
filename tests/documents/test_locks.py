"""Issue 10, items 3 and 7: a customer's upload never replaces a file the customer may not delete,
nothing adds a version to a document that is out for signing or is a sealed signed PDF, and a
document (or a folder holding one) out for signing is not deleted. Refusals leave nothing behind:
no stored file, no row, no change to the storage counter."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from documents import access, services
from documents.models import CustomerAccess, Document, DocumentSource, DocumentVersion, Folder
from partners.models import Partner
from portal.errors import ServiceError
from portal.models import AuditEvent, User
from signing.models import Attachment, SigningRequest, Status
from tests.conftest import World

pytestmark = pytest.mark.django_db

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PDF_V2 = PDF + b"% the customer's file\n"


@pytest.fixture(autouse=True)
def _english_pages(world: World) -> None:
    User.objects.update(language="en")


@pytest.fixture
def folder(world: World) -> Folder:
    return services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.EDIT,
    )


def upload(
    folder: Folder,
    actor: User,
    name: str = "Årsredovisning.pdf",
    data: bytes = PDF,
    *,
    by_customer: bool = False,
    source: str = DocumentSource.UPLOAD,
) -> DocumentVersion:
    return services.document_upload(
        folder=folder, actor=actor, name=name, chunks=[data], by_customer=by_customer, source=source
    )


def raw_upload(client: Client, folder: Folder, name: str, data: bytes = PDF_V2) -> Any:
    return client.post(
        reverse("documents:upload", args=[folder.pk]),
        data=data,
        content_type="application/octet-stream",
        headers={"X-File-Name": quote(name, safe="")},
    )


def form_upload(client: Client, folder: Folder, name: str, data: bytes = PDF_V2) -> Any:
    return client.post(
        reverse("documents:upload", args=[folder.pk]),
        {"files": [SimpleUploadedFile(name, data, "application/pdf")]},
    )


def signing(
    world: World, document: Document, *, status: str = Status.PENDING, attachments: tuple[Document, ...] = ()
) -> SigningRequest:
    """A signing request row as signing.services makes it (the rules read rows, not the wizard)."""
    assert document.current_version is not None
    request = SigningRequest.objects.create(
        collaboration=world.collaboration,
        document=document,
        version=document.current_version,
        title=document.name,
        created_by=world.staff,
        deadline=timezone.now() + dt.timedelta(days=7),
        status=status,
    )
    for position, extra in enumerate(attachments):
        assert extra.current_version is not None
        Attachment.objects.create(
            request=request, version=extra.current_version, name=extra.name, position=position
        )
    return request


def sealed_document(world: World, folder: Folder) -> Document:
    """A completed signing's sealed PDF, stored as the seal task stores it."""
    original = upload(folder, world.staff, "Avtal.pdf").document
    request = signing(world, original, status=Status.COMPLETED)
    version = upload(folder, world.staff, "Avtal (signed).pdf", source=DocumentSource.SIGNED)
    SigningRequest.objects.filter(pk=request.pk).update(sealed_version=version)
    return version.document


def stored_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def state(world: World) -> tuple[Any, ...]:
    """Everything a refused upload or delete must leave as it was."""
    return (
        sorted(DocumentVersion.objects.values_list("pk", "document_id", "deleted_at")),
        sorted(
            Document.objects.values_list("pk", "name", "current_version_id", "version_count", "deleted_at")
        ),
        stored_files(),
        Partner.objects.get(pk=world.partner.pk).storage_used_bytes,
        Folder.objects.count(),
    )


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Item 3: a customer's upload never replaces the firm's file ------------------------------------


def test_customers_raw_upload_of_the_firms_name_is_stored_beside_it(
    world: World, folder: Folder, login: Any
) -> None:
    firms = upload(folder, world.staff)
    response = raw_upload(login(world.customer_user), folder, "Årsredovisning.pdf")
    assert response.status_code == 201
    data = response.json()
    assert data["name"] == "Årsredovisning (2).pdf" and data["version"] == 1
    assert "Årsredovisning (2).pdf" in data["message"]
    firms.document.refresh_from_db()
    assert firms.document.current_version_id == firms.pk and firms.document.version_count == 1
    new = Document.objects.get(name="Årsredovisning (2).pdf")
    assert new.uploaded_by_customer and new.pk == data["document"]
    assert new.current_version is not None and new.current_version.size == len(PDF_V2)
    event = AuditEvent.objects.get(action="document.upload", object_id=new.pk)
    assert event.details["requested_name"] == "Årsredovisning.pdf"


def test_customers_form_upload_of_the_firms_name_is_stored_beside_it_and_says_so(
    world: World, folder: Folder, login: Any
) -> None:
    firms = upload(folder, world.staff)
    response = form_upload(login(world.customer_user), folder, "Årsredovisning.pdf")
    assert response.status_code == 302
    assert messages_of(response) == [
        "Årsredovisning.pdf was uploaded as Årsredovisning (2).pdf, beside the file of that name, "
        "which you cannot replace."
    ]
    firms.document.refresh_from_db()
    assert firms.document.current_version_id == firms.pk
    assert sorted(Document.objects.values_list("name", flat=True)) == [
        "Årsredovisning (2).pdf",
        "Årsredovisning.pdf",
    ]


def test_the_next_free_number_is_taken(world: World, folder: Folder) -> None:
    upload(folder, world.staff)
    upload(folder, world.staff, "Årsredovisning (2).pdf")
    version = upload(folder, world.customer_user, "Årsredovisning.pdf", PDF_V2, by_customer=True)
    assert version.document.name == "Årsredovisning (3).pdf"
    # The numbered name of a firm's file is a name like any other: the number goes after it.
    again = upload(folder, world.customer_user, "Årsredovisning (2).pdf", PDF_V2, by_customer=True)
    assert again.document.name == "Årsredovisning (2) (2).pdf"
    assert Document.objects.filter(uploaded_by_customer=False).count() == 2
    assert DocumentVersion.objects.filter(document__uploaded_by_customer=False).count() == 2


def test_a_long_name_stays_within_the_limit(world: World, folder: Folder) -> None:
    name = "x" * 251 + ".pdf"
    upload(folder, world.staff, name)
    version = upload(folder, world.customer_user, name, PDF_V2, by_customer=True)
    assert len(version.document.name) == 255 and version.document.name.endswith(" (2).pdf")


def test_customers_own_upload_still_gets_versions(world: World, folder: Folder) -> None:
    first = upload(folder, world.primary, "Kvitton.pdf", by_customer=True)
    second = upload(folder, world.customer_user, "Kvitton.pdf", PDF_V2, by_customer=True)
    assert (second.document_id, second.number) == (first.document_id, 2)


# --- Item 3: nothing adds a version to a document out for signing or a sealed one -------------------


def test_partner_upload_onto_a_document_out_for_signing_is_refused(
    world: World, folder: Folder, login: Any
) -> None:
    document = upload(folder, world.staff).document
    signing(world, document)
    before = state(world)
    response = raw_upload(login(world.staff), folder, "Årsredovisning.pdf")
    assert response.status_code == 422
    assert "out for signing" in response.json()["error"]
    assert state(world) == before
    assert not AuditEvent.objects.filter(action="document.version").exists()


def test_partner_form_upload_onto_an_attachment_out_for_signing_is_refused(
    world: World, folder: Folder, login: Any
) -> None:
    main = upload(folder, world.staff, "Avtal.pdf").document
    attachment = upload(folder, world.staff, "Bilaga.pdf").document
    signing(world, main, attachments=(attachment,))
    before = state(world)
    response = form_upload(login(world.admin), folder, "Bilaga.pdf")
    assert response.status_code == 302
    assert any(m.startswith("Bilaga.pdf: ") and "out for signing" in m for m in messages_of(response))
    assert state(world) == before


def test_partner_upload_onto_a_sealed_document_is_refused(world: World, folder: Folder, login: Any) -> None:
    sealed = sealed_document(world, folder)
    before = state(world)
    response = raw_upload(login(world.admin), folder, sealed.name)
    assert response.status_code == 422 and "signed" in response.json()["error"]
    assert state(world) == before
    with pytest.raises(ServiceError):
        upload(folder, world.staff, sealed.name, PDF_V2)
    assert state(world) == before


def test_customer_upload_onto_their_own_document_out_for_signing_is_stored_beside_it(
    world: World, folder: Folder, login: Any
) -> None:
    own = upload(folder, world.primary, "Fullmakt.pdf", by_customer=True)
    signing(world, own.document)
    response = raw_upload(login(world.customer_user), folder, "Fullmakt.pdf")
    assert response.status_code == 201 and response.json()["name"] == "Fullmakt (2).pdf"
    own.document.refresh_from_db()
    assert own.document.current_version_id == own.pk and own.document.version_count == 1


def test_a_second_sealed_pdf_of_the_same_name_is_a_document_of_its_own(world: World, folder: Folder) -> None:
    first = sealed_document(world, folder)
    second = upload(folder, world.staff, first.name, PDF_V2, source=DocumentSource.SIGNED)
    assert second.document_id != first.pk and second.document.name == "Avtal (signed) (2).pdf"
    first.refresh_from_db()
    assert first.version_count == 1


def test_a_finished_signing_frees_its_document(world: World, folder: Folder) -> None:
    document = upload(folder, world.staff).document
    request = signing(world, document)
    with pytest.raises(ServiceError):
        upload(folder, world.staff, data=PDF_V2)
    SigningRequest.objects.filter(pk=request.pk).update(status=Status.CANCELLED)
    assert upload(folder, world.staff, data=PDF_V2).number == 2


@pytest.mark.parametrize("who", ["outsider", "outsider_customer_user", "staff_unassigned"])
def test_outsiders_upload_onto_a_held_document_is_404_and_stores_nothing(
    world: World, folder: Folder, login: Any, who: str
) -> None:
    signing(world, upload(folder, world.staff).document)
    before = state(world)
    assert raw_upload(login(getattr(world, who)), folder, "Årsredovisning.pdf").status_code == 404
    assert state(world) == before


def test_customer_without_upload_right_gets_403_and_no_rename(world: World, login: Any) -> None:
    read = services.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="Lön", customer_access=CustomerAccess.READ
    )
    upload(read, world.staff)
    before = state(world)
    assert raw_upload(login(world.customer_user), read, "Årsredovisning.pdf").status_code == 403
    assert state(world) == before


# --- Item 7: a document out for signing, or a folder holding one, is not deleted ----------------------


def test_deleting_a_document_out_for_signing_is_refused_with_a_message(
    world: World, folder: Folder, login: Any
) -> None:
    document = upload(folder, world.staff).document
    signing(world, document)
    before = state(world)
    response = login(world.staff).post(reverse("documents:document_delete", args=[document.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:document_detail", args=[document.pk])
    assert any("signing in progress" in m for m in messages_of(response))
    assert state(world) == before
    assert not AuditEvent.objects.filter(action="document.delete").exists()


def test_deleting_an_attachment_out_for_signing_is_refused(world: World, folder: Folder) -> None:
    main = upload(folder, world.staff, "Avtal.pdf").document
    attachment = upload(folder, world.staff, "Bilaga.pdf").document
    signing(world, main, attachments=(attachment,))
    before = state(world)
    with (
        translation.override("en"),
        pytest.raises(ServiceError, match=r"Bilaga\.pdf is part of a signing in progress"),
    ):
        services.documents_delete(documents=[attachment], actor=world.admin)
    assert state(world) == before


def test_partner_bulk_delete_with_one_held_document_deletes_nothing(
    world: World, folder: Folder, login: Any
) -> None:
    free = upload(folder, world.staff, "Fri.pdf").document
    held = upload(folder, world.staff, "Avtal.pdf").document
    signing(world, held)
    before = state(world)
    response = login(world.staff).post(
        reverse("documents:partner_bulk", args=[world.collaboration.pk, folder.pk]),
        {"action": "delete", "documents": [free.pk, held.pk]},
    )
    assert response.status_code == 422
    assert "Avtal.pdf" in response.content.decode() and "signing in progress" in response.content.decode()
    assert state(world) == before


def test_customer_bulk_delete_of_their_own_document_out_for_signing_is_refused(
    world: World, folder: Folder, login: Any
) -> None:
    own = upload(folder, world.primary, "Fullmakt.pdf", by_customer=True).document
    signing(world, own)
    before = state(world)
    response = login(world.primary).post(
        reverse("documents:customer_bulk", args=[world.collaboration.pk, folder.pk]),
        {"action": "delete", "documents": [own.pk], "confirm": "1"},
    )
    assert response.status_code == 422
    assert "signing in progress" in response.content.decode()
    assert state(world) == before


def test_a_sealed_document_may_be_deleted(world: World, folder: Folder, login: Any) -> None:
    sealed = sealed_document(world, folder)
    response = login(world.staff).post(reverse("documents:document_delete", args=[sealed.pk]))
    assert response.status_code == 302
    sealed.refresh_from_db()
    assert sealed.deleted_at is not None


def test_deleting_an_older_version_of_a_document_out_for_signing_is_refused(
    world: World, folder: Folder, login: Any
) -> None:
    v1 = upload(folder, world.staff)
    upload(folder, world.staff, data=PDF_V2)
    signing(world, v1.document)
    before = state(world)
    response = login(world.staff).post(reverse("documents:version_delete", args=[v1.pk]))
    assert response.status_code == 302
    assert any("signing in progress" in m for m in messages_of(response))
    assert state(world) == before


def test_deleting_a_folder_holding_a_document_out_for_signing_is_refused(
    world: World, folder: Folder, login: Any
) -> None:
    sub = services.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="2024", parent=folder
    )
    held = upload(sub, world.staff, "Avtal.pdf").document
    upload(folder, world.staff, "Fri.pdf")
    signing(world, held)
    before = state(world)
    url = reverse("documents:partner_folder_delete", args=[world.collaboration.pk, folder.pk])
    response = login(world.admin).post(url)
    assert response.status_code == 422
    assert "Avtal.pdf" in response.content.decode() and "signing in progress" in response.content.decode()
    assert state(world) == before
    assert not AuditEvent.objects.filter(action="folder.delete").exists()
    # The question page says so before anyone presses the button.
    page = login(world.admin).get(url).content.decode()
    assert "signing in progress" in page


@pytest.mark.parametrize("who", ["outsider", "outsider_customer_user", "staff_unassigned", "customer_user"])
def test_others_deleting_a_held_document_or_its_folder_is_404_and_says_nothing(
    world: World, folder: Folder, login: Any, who: str
) -> None:
    document = upload(folder, world.staff).document
    signing(world, document)
    before = state(world)
    client = login(getattr(world, who))
    folder_url = reverse("documents:partner_folder_delete", args=[world.collaboration.pk, folder.pk])
    assert client.post(folder_url).status_code == 404
    response = client.post(reverse("documents:document_delete", args=[document.pk]))
    # The customer's own user may see the firm's file (403: not theirs to delete); the rest see nothing.
    assert response.status_code == (403 if who == "customer_user" else 404)
    assert "signing in progress" not in response.content.decode()
    assert state(world) == before


def test_the_folder_check_is_one_query_however_many_documents(world: World, folder: Folder) -> None:
    from documents import locks

    def queries(n: int) -> int:
        target = services.folder_create(collaboration=world.collaboration, actor=world.admin, name=f"F{n}")
        ids = [upload(target, world.staff, f"{i}.pdf").document_id for i in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            held = locks.locked_document_ids(Document.objects.filter(pk__in=ids).values("pk"))
        assert held == {}
        return len(ctx.captured_queries)

    assert queries(1) == queries(12) == 1


def test_the_bulk_check_names_each_held_document(world: World, folder: Folder) -> None:
    from documents import locks

    free = upload(folder, world.staff, "Fri.pdf").document
    held = upload(folder, world.staff, "Avtal.pdf").document
    attachment = upload(folder, world.staff, "Bilaga.pdf").document
    signing(world, held, attachments=(attachment,))
    sealed = sealed_document(
        world, services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Signerat")
    )
    assert locks.locked_document_ids([free.pk, held.pk, attachment.pk, sealed.pk]) == {
        held.pk: locks.PENDING,
        attachment.pk: locks.PENDING,
        sealed.pk: locks.SEALED,
    }
    assert locks.document_lock(free) is None and locks.document_lock(held) == locks.PENDING


def test_the_document_page_says_it_is_out_for_signing_and_offers_no_delete(
    world: World, folder: Folder, login: Any
) -> None:
    document = upload(folder, world.staff).document
    delete_url = reverse("documents:document_delete", args=[document.pk])
    page_url = reverse("documents:document_detail", args=[document.pk])
    assert delete_url in login(world.staff).get(page_url).content.decode()
    signing(world, document)
    html = login(world.staff).get(page_url).content.decode()
    assert "part of a signing in progress" in html and delete_url not in html
    sealed = sealed_document(world, folder)
    html = login(world.staff).get(reverse("documents:document_detail", args=[sealed.pk])).content.decode()
    assert "sealed signed document" in html
    assert reverse("documents:document_delete", args=[sealed.pk]) in html  # a sealed PDF may go


def test_lock_documents_returns_the_live_ones_in_id_order(world: World, folder: Folder) -> None:
    from documents import locks

    a = upload(folder, world.staff, "a.pdf").document
    b = upload(folder, world.staff, "b.pdf").document
    gone = upload(folder, world.staff, "c.pdf").document
    services.documents_delete(documents=[gone], actor=world.staff)
    assert list(locks.lock_documents([b.pk, gone.pk, a.pk])) == sorted([a.pk, b.pk])


def test_a_customers_document_the_firm_added_a_version_to_is_the_firms(
    world: World, folder: Folder, login: Any
) -> None:
    """Once the firm's file is the current version, the customer may neither delete the document
    (and the firm's version with it) nor put a version on top of it: it is the firm's now."""
    own = upload(folder, world.customer_user, "Kontoutdrag.pdf", by_customer=True)
    firms = upload(folder, world.staff, "Kontoutdrag.pdf", PDF_V2)
    assert firms.document_id == own.document_id and firms.number == 2
    document = Document.objects.get(pk=own.document_id)
    assert not document.uploaded_by_customer
    rights = access.rights_for(world.customer_user, folder)
    assert rights is not None and not rights.can_delete(document)
    response = raw_upload(login(world.customer_user), folder, "Kontoutdrag.pdf")
    assert response.status_code == 201 and response.json()["name"] == "Kontoutdrag (2).pdf"
    document.refresh_from_db()
    assert document.current_version_id == firms.pk and document.version_count == 2
