"""Upload, download, versions and deleting documents: the views both sides share."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from documents import services
from documents.models import Audience, CustomerAccess, Document, DocumentVersion, Folder, PreviewStatus
from portal.models import AuditEvent, User
from tests.conftest import World
from tests.factories import CustomerMembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_pages(world: Any) -> None:
    """The pages speak the user's language; these tests read the English texts (the msgids)."""
    from portal.models import User

    User.objects.update(language="en")


# A real one-page PDF, small enough to read.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PDF_V2 = PDF + b"% second version\n"


@pytest.fixture
def edit_folder(world: World) -> Folder:
    return services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.EDIT,
    )


@pytest.fixture
def read_folder(world: World) -> Folder:
    return services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Lön",
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk],
    )


def upload_url(folder: Folder) -> str:
    return reverse("documents:upload", args=[folder.pk])


def raw_upload(
    client: Client, folder: Folder, name: str, data: bytes = PDF, *, encoded: str | None = None
) -> Any:
    """What upload.js sends: the file as the body, its name URL-encoded in X-File-Name."""
    return client.post(
        upload_url(folder),
        data=data,
        content_type="application/octet-stream",
        headers={"X-File-Name": encoded if encoded is not None else quote(name, safe="")},
    )


def stored_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else bytes(response.content)


def page(response: Any) -> str:
    return str(response.content.decode())


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def upload(
    folder: Folder, actor: User, name: str = "a.pdf", data: bytes = PDF, *, by_customer: bool = False
) -> Any:
    return services.document_upload(
        folder=folder, actor=actor, name=name, chunks=[data], by_customer=by_customer
    )


# --- Upload: the raw body from upload.js ---------------------------------------------------------


def test_customer_uploads_into_an_edit_folder(world: World, edit_folder: Folder, login: Any) -> None:
    response = raw_upload(login(world.customer_user), edit_folder, "Kvitton mars.pdf")
    assert response.status_code == 201
    data = response.json()
    assert data["ok"] is True and data["name"] == "Kvitton mars.pdf" and data["version"] == 1
    document = Document.objects.get()
    assert (document.folder, document.name, document.uploaded_by_customer) == (
        edit_folder,
        "Kvitton mars.pdf",
        True,
    )
    version = document.current_version
    assert version is not None
    assert (version.size, version.content_type, version.uploaded_by) == (
        len(PDF),
        "application/pdf",
        world.customer_user,
    )
    assert len(stored_files()) == 1


def test_partner_upload_is_the_firms_file(world: World, edit_folder: Folder, login: Any) -> None:
    assert raw_upload(login(world.staff), edit_folder, "Bokslut.pdf").status_code == 201
    assert Document.objects.get().uploaded_by_customer is False


def test_upload_into_a_read_folder_is_403_and_stores_nothing(
    world: World, read_folder: Folder, login: Any
) -> None:
    response = raw_upload(login(world.customer_user), read_folder, "a.pdf")
    assert response.status_code == 403
    assert Document.objects.count() == 0 and DocumentVersion.objects.count() == 0
    assert stored_files() == []


@pytest.mark.parametrize("who", ["outsider", "outsider_customer_user", "staff_unassigned"])
def test_upload_by_outsiders_is_404(world: World, edit_folder: Folder, login: Any, who: str) -> None:
    assert raw_upload(login(getattr(world, who)), edit_folder, "a.pdf").status_code == 404
    assert Document.objects.count() == 0 and stored_files() == []


def test_upload_by_the_same_partners_other_customer_is_404(
    world: World, edit_folder: Folder, login: Any
) -> None:
    other = CustomerMembershipFactory.create(customer=world.other_collaboration.customer).user
    assert raw_upload(login(other), edit_folder, "a.pdf").status_code == 404


def test_upload_by_a_same_customer_user_without_access_is_404(
    world: World, read_folder: Folder, login: Any
) -> None:
    assert raw_upload(login(world.primary), read_folder, "a.pdf").status_code == 404


def test_empty_upload_is_422_with_a_message(world: World, edit_folder: Folder, login: Any) -> None:
    response = raw_upload(login(world.customer_user), edit_folder, "empty.pdf", b"")
    assert response.status_code == 422
    assert response.json() == {"ok": False, "error": "The file is empty."}
    assert Document.objects.count() == 0 and stored_files() == []


def test_a_path_in_the_name_is_422_with_a_message(world: World, edit_folder: Folder, login: Any) -> None:
    response = raw_upload(login(world.customer_user), edit_folder, "", encoded="..%2Fevil.pdf")
    assert response.status_code == 422
    assert response.json()["ok"] is False
    assert "cannot contain" in response.json()["error"]
    assert Document.objects.count() == 0 and stored_files() == []


def test_a_file_over_the_limit_is_422_and_stores_nothing(
    world: World, edit_folder: Folder, login: Any, settings: Any
) -> None:
    settings.MAX_UPLOAD_BYTES = 64
    response = raw_upload(login(world.customer_user), edit_folder, "big.pdf", PDF)
    assert response.status_code == 422
    assert response.json()["error"] == "The file is larger than the limit of 64 B."
    assert Document.objects.count() == 0 and DocumentVersion.objects.count() == 0
    storage_dir = Path(settings.MEDIA_ROOT) / "documents"
    assert not storage_dir.exists() or not any(storage_dir.rglob("*"))


def test_the_folder_page_tells_the_uploader_the_limit(
    world: World, edit_folder: Folder, login: Any, settings: Any
) -> None:
    settings.MAX_UPLOAD_BYTES = 10_000
    html = page(
        login(world.customer_user).get(
            reverse("documents:customer_folder", args=[world.collaboration.pk, edit_folder.pk])
        )
    )
    assert 'data-max-bytes="10000"' in html
    assert "The file is larger than the limit of 10.0 kB." in html


def test_same_name_twice_is_two_versions_both_downloadable(
    world: World, edit_folder: Folder, login: Any
) -> None:
    client = login(world.customer_user)
    first = raw_upload(client, edit_folder, "Avtal.pdf", PDF).json()
    second = raw_upload(client, edit_folder, "Avtal.pdf", PDF_V2).json()
    assert (first["document"], first["version"], second["version"]) == (second["document"], 1, 2)
    document = Document.objects.get()
    v1, v2 = DocumentVersion.objects.filter(document=document).order_by("number")
    assert document.current_version == v2
    assert body(client.get(reverse("documents:version_download", args=[v1.pk]))) == PDF
    assert body(client.get(reverse("documents:version_download", args=[v2.pk]))) == PDF_V2
    assert body(client.get(reverse("documents:document_download", args=[document.pk]))) == PDF_V2
    assert AuditEvent.objects.filter(action="document.download", actor=world.customer_user).count() == 3


# --- Upload: the plain form without JavaScript ---------------------------------------------------


def test_multipart_form_uploads_many_files(world: World, edit_folder: Folder, login: Any) -> None:
    response = login(world.customer_user).post(
        upload_url(edit_folder),
        {
            "files": [
                SimpleUploadedFile("Kvitto 1.pdf", PDF, "application/pdf"),
                SimpleUploadedFile("Kvitto 2.pdf", PDF_V2, "application/pdf"),
            ]
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "documents:customer_folder", args=[world.collaboration.pk, edit_folder.pk]
    )
    assert sorted(Document.objects.values_list("name", flat=True)) == ["Kvitto 1.pdf", "Kvitto 2.pdf"]
    assert all(Document.objects.values_list("uploaded_by_customer", flat=True))
    assert "Kvitto 1.pdf was uploaded." in messages_of(response)


def test_multipart_form_reports_a_refused_file_and_keeps_the_others(
    world: World, edit_folder: Folder, login: Any
) -> None:
    response = login(world.customer_user).post(
        upload_url(edit_folder),
        {
            "files": [
                SimpleUploadedFile("empty.pdf", b"", "application/pdf"),
                SimpleUploadedFile("ok.pdf", PDF, "application/pdf"),
            ]
        },
    )
    assert response.status_code == 302
    assert list(Document.objects.values_list("name", flat=True)) == ["ok.pdf"]
    assert "empty.pdf: The file is empty." in messages_of(response)


def test_multipart_form_without_files_says_so(world: World, edit_folder: Folder, login: Any) -> None:
    response = login(world.customer_user).post(upload_url(edit_folder), {})
    assert response.status_code == 302
    assert "Choose at least one file to upload." in messages_of(response)
    assert Document.objects.count() == 0


def test_multipart_into_a_read_folder_is_403(world: World, read_folder: Folder, login: Any) -> None:
    response = login(world.customer_user).post(
        upload_url(read_folder), {"files": [SimpleUploadedFile("a.pdf", PDF, "application/pdf")]}
    )
    assert response.status_code == 403
    assert Document.objects.count() == 0 and stored_files() == []


# --- Downloads -----------------------------------------------------------------------------------


def test_download_has_an_rfc_6266_filename(world: World, edit_folder: Folder, login: Any) -> None:
    client = login(world.customer_user)
    raw_upload(client, edit_folder, "Årsredovisning 2026.pdf")
    document = Document.objects.get()
    response = client.get(reverse("documents:document_download", args=[document.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''%C3%85rsredovisning%202026.pdf"
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_name_with_quotes_arrives_intact(world: World, edit_folder: Folder, login: Any) -> None:
    # Uploads refuse '"' in a name (documents.names), but names also come from elsewhere (signed
    # documents); the header must carry any name.
    document = upload(edit_folder, world.admin).document
    Document.objects.filter(pk=document.pk).update(name='Årsredovisning "2026".pdf')
    response = login(world.customer_user).get(reverse("documents:document_download", args=[document.pk]))
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%C3%85rsredovisning%20%222026%22.pdf"
    )


def test_pdf_opens_inline_when_asked(world: World, edit_folder: Folder, login: Any) -> None:
    version = upload(edit_folder, world.admin, "Årsredovisning.pdf")
    client = login(world.customer_user)
    response = client.get(reverse("documents:document_download", args=[version.document_id]) + "?inline=1")
    assert response["Content-Disposition"] == "inline; filename*=utf-8''%C3%85rsredovisning.pdf"
    assert response["Content-Security-Policy"] == "sandbox"
    response = client.get(reverse("documents:version_download", args=[version.pk]) + "?inline=1")
    assert response["Content-Disposition"].startswith("inline;")


def test_other_files_are_never_inline(world: World, edit_folder: Folder, login: Any) -> None:
    version = upload(edit_folder, world.admin, "data.bin", b"\x00\x01\x02\xff" * 10)
    assert version.content_type == "application/octet-stream"
    response = login(world.customer_user).get(
        reverse("documents:document_download", args=[version.document_id]) + "?inline=1"
    )
    assert response["Content-Disposition"] == 'attachment; filename="data.bin"'
    assert "sandbox" in response["Content-Security-Policy"]


def test_download_without_the_right_is_404(world: World, read_folder: Folder, login: Any) -> None:
    version = upload(read_folder, world.admin)
    for user in (world.primary, world.outsider, world.outsider_customer_user, world.staff_unassigned):
        client = login(user)
        assert (
            client.get(reverse("documents:document_download", args=[version.document_id])).status_code == 404
        )
        assert client.get(reverse("documents:version_download", args=[version.pk])).status_code == 404
        assert client.get(reverse("documents:document_detail", args=[version.document_id])).status_code == 404
    assert AuditEvent.objects.filter(action="document.download").count() == 0


def test_deleted_version_is_410_with_who_and_when(world: World, edit_folder: Folder, login: Any) -> None:
    v1 = upload(edit_folder, world.admin, "Avtal.pdf")
    upload(edit_folder, world.admin, "Avtal.pdf", PDF_V2)
    response = login(world.admin).post(reverse("documents:version_delete", args=[v1.pk]))
    assert response.status_code == 302
    response = login(world.customer_user).get(reverse("documents:version_download", args=[v1.pk]))
    assert response.status_code == 410
    html = page(response)
    assert "Version 1 of Avtal.pdf was deleted on" in html and "by Anna Admin" in html
    assert f'href="{reverse("documents:document_detail", args=[v1.document_id])}"' in html
    assert "<title>" in html


def test_version_of_a_deleted_document_is_410_with_who_and_when(
    world: World, edit_folder: Folder, login: Any
) -> None:
    version = upload(edit_folder, world.customer_user, "Kvitto.pdf", by_customer=True)
    client = login(world.customer_user)
    assert client.post(reverse("documents:document_delete", args=[version.document_id])).status_code == 302
    response = client.get(reverse("documents:version_download", args=[version.pk]))
    assert response.status_code == 410
    html = page(response)
    assert "The document Kvitto.pdf was deleted, with all its versions, on" in html
    assert "by Olle User" in html
    assert reverse("documents:customer_folder", args=[world.collaboration.pk, edit_folder.pk]) in html
    # The document's own links are gone: a deleted document is not found.
    assert client.get(reverse("documents:document_download", args=[version.document_id])).status_code == 404


# --- The document page ---------------------------------------------------------------------------


def test_document_page_lists_the_versions(
    world: World, edit_folder: Folder, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        v1 = upload(edit_folder, world.admin, "Avtal.pdf")
        # The firm's second version (a customer's file of the same name is stored beside it).
        v2 = upload(edit_folder, world.staff, "Avtal.pdf", PDF_V2)
    v2.refresh_from_db()
    assert v2.preview_status == PreviewStatus.READY
    response = login(world.customer_user).get(reverse("documents:document_detail", args=[v1.document_id]))
    assert response.status_code == 200
    assert [v.number for v in response.context["versions"]] == [2, 1]
    html = page(response)
    for version in (v1, v2):
        assert reverse("documents:version_download", args=[version.pk]) in html
    assert reverse("documents:preview", args=[v2.pk]) in html
    assert reverse("documents:version_delete", args=[v1.pk]) not in html  # partner only
    # The firm uploaded the document, so the customer may not delete it.
    assert response.context["can_delete"] is False
    assert reverse("documents:document_delete", args=[v1.document_id]) not in html


def test_partner_document_page_offers_deleting_older_versions(
    world: World, edit_folder: Folder, login: Any
) -> None:
    v1 = upload(edit_folder, world.admin, "Avtal.pdf")
    v2 = upload(edit_folder, world.admin, "Avtal.pdf", PDF_V2)
    html = page(login(world.staff).get(reverse("documents:document_detail", args=[v1.document_id])))
    assert reverse("documents:version_delete", args=[v1.pk]) in html
    assert reverse("documents:version_delete", args=[v2.pk]) not in html  # the current one
    assert reverse("documents:document_delete", args=[v1.document_id]) in html


# --- Deleting ------------------------------------------------------------------------------------


def test_customer_deletes_a_customer_upload_in_an_edit_folder(
    world: World, edit_folder: Folder, login: Any
) -> None:
    document = upload(edit_folder, world.primary, by_customer=True).document
    response = login(world.customer_user).post(reverse("documents:document_delete", args=[document.pk]))
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.deleted_at is not None and document.deleted_by == world.customer_user


def test_customer_may_never_delete_the_firms_file(world: World, edit_folder: Folder, login: Any) -> None:
    document = upload(edit_folder, world.admin).document
    response = login(world.customer_user).post(reverse("documents:document_delete", args=[document.pk]))
    assert response.status_code == 403
    document.refresh_from_db()
    assert document.deleted_at is None


def test_customer_may_not_delete_in_a_read_folder(world: World, read_folder: Folder, login: Any) -> None:
    document = upload(read_folder, world.customer_user, by_customer=True).document
    response = login(world.customer_user).post(reverse("documents:document_delete", args=[document.pk]))
    assert response.status_code == 403
    document.refresh_from_db()
    assert document.deleted_at is None


@pytest.mark.parametrize("by_customer", [True, False])
def test_partner_deletes_any_document(
    world: World, edit_folder: Folder, login: Any, by_customer: bool
) -> None:
    document = upload(edit_folder, world.customer_user, by_customer=by_customer).document
    response = login(world.staff).post(reverse("documents:document_delete", args=[document.pk]))
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.deleted_at is not None


def test_delete_by_outsiders_is_404(world: World, edit_folder: Folder, login: Any) -> None:
    document = upload(edit_folder, world.customer_user, by_customer=True).document
    for user in (world.outsider, world.outsider_customer_user, world.staff_unassigned):
        assert login(user).post(reverse("documents:document_delete", args=[document.pk])).status_code == 404
    document.refresh_from_db()
    assert document.deleted_at is None


def test_version_delete_is_for_the_partner_only(world: World, edit_folder: Folder, login: Any) -> None:
    v1 = upload(edit_folder, world.customer_user, "Avtal.pdf", by_customer=True)
    v2 = upload(edit_folder, world.customer_user, "Avtal.pdf", PDF_V2, by_customer=True)
    url = reverse("documents:version_delete", args=[v1.pk])
    assert login(world.customer_user).post(url).status_code == 403
    v1.refresh_from_db()
    assert v1.deleted_at is None

    response = login(world.staff).post(url)
    assert response.status_code == 302
    v1.refresh_from_db()
    assert v1.deleted_at is not None and v1.deleted_by == world.staff

    response = login(world.staff).post(reverse("documents:version_delete", args=[v2.pk]))
    assert response.status_code == 302
    assert any("current version cannot be deleted" in m for m in messages_of(response))
    v2.refresh_from_db()
    assert v2.deleted_at is None
