"""Virus scanning of uploads with a real clamd (tests/clamd_server.py): an infected file is refused
with the signature's name and changes nothing but the audit log; a clean file passes; while clamd
cannot answer, uploads are refused unless PORTAL_CLAMD_FAIL_OPEN."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from documents import scanning, services
from documents.models import CustomerAccess, Document, DocumentSource, DocumentVersion, Folder
from partners.models import Partner
from portal.errors import ServiceError
from portal.models import AuditEvent, User
from tests.clamd_server import EICAR, SIGNATURE, Clamd, running_clamd
from tests.conftest import World
from tests.documents.test_files_views import PDF, messages_of, raw_upload, stored_files, upload_url
from tests.pdfs import blank_pdf

pytestmark = pytest.mark.django_db

REFUSED_UNCHECKED = "The file could not be checked for viruses, so it was not stored. Please try again later."


# A PDF the test clamd treats as infected, to reach the checks that only let PDFs through.
INFECTED_PDF = blank_pdf(3)
PDF_SIGNATURE = "Portal-Test.PDF.UNOFFICIAL"


@pytest.fixture(scope="module")
def clamd() -> Iterator[Clamd]:
    with running_clamd(more_signatures={"Portal-Test.PDF": INFECTED_PDF}) as server:
        yield server


@pytest.fixture
def scanning_on(clamd: Clamd, settings: Any) -> Clamd:
    settings.CLAMD_SOCKET = clamd.socket
    return clamd


@pytest.fixture
def edit_folder(world: World) -> Folder:
    return services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.EDIT,
    )


@pytest.fixture(autouse=True)
def _english(world: World) -> Iterator[None]:
    """The services answer in the active language and the pages in the user's; these tests read
    the English texts (the msgids)."""
    User.objects.update(language="en")
    with translation.override("en"):
        yield


def nothing_stored(partner: Partner, used_before: int) -> bool:
    partner.refresh_from_db()
    return (
        Document.objects.count() == 0
        and DocumentVersion.objects.count() == 0
        and stored_files() == []
        and partner.storage_used_bytes == used_before
    )


# --- The client against the real clamd -----------------------------------------------------------


def test_scan_file_names_the_signature_of_eicar(clamd: Clamd) -> None:
    result = scanning.scan_file(io.BytesIO(EICAR), address=clamd.socket, timeout=10)
    assert result == scanning.ScanResult(infected=True, signature=SIGNATURE)


def test_scan_file_passes_a_clean_file_and_leaves_it_at_its_start(clamd: Clamd) -> None:
    handle = io.BytesIO(PDF)
    assert scanning.scan_file(handle, address=clamd.socket, timeout=10) == scanning.ScanResult(infected=False)
    assert handle.read() == PDF


def test_scan_file_reads_a_path(clamd: Clamd, tmp_path: Path) -> None:
    (tmp_path / "x.com").write_bytes(EICAR)
    assert scanning.scan_file(tmp_path / "x.com", address=clamd.socket, timeout=10).infected is True


def test_a_file_over_clamds_stream_limit_is_unavailable_not_clean(tmp_path: Path) -> None:
    with (
        running_clamd(stream_max="1M") as small,
        pytest.raises(scanning.ScannerUnavailable, match="size limit exceeded"),
    ):
        scanning.scan_file(io.BytesIO(b"x" * 3 * 1024 * 1024), address=small.socket, timeout=10)


def test_nothing_listening_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(scanning.ScannerUnavailable, match="cannot connect"):
        scanning.scan_file(io.BytesIO(PDF), address=str(tmp_path / "none.sock"), timeout=2)


# --- The upload service --------------------------------------------------------------------------


def test_infected_upload_is_refused_and_changes_nothing_but_the_audit_log(
    world: World,
    edit_folder: Folder,
    scanning_on: Clamd,
) -> None:
    used = world.partner.storage_used_bytes
    with pytest.raises(ServiceError) as refusal:
        services.document_upload(
            folder=edit_folder,
            actor=world.customer_user,
            name="faktura.pdf",
            chunks=[EICAR],
            by_customer=True,
        )
    assert refusal.value.message == f"faktura.pdf contains a virus ({SIGNATURE}) and was not stored."
    assert nothing_stored(world.partner, used)
    event = AuditEvent.objects.get(action="document.virus_refused")
    assert (event.actor, event.collaboration_id, event.object_id) == (
        world.customer_user,
        world.collaboration.pk,
        edit_folder.pk,
    )
    assert event.details["signature"] == SIGNATURE and event.details["name"] == "faktura.pdf"
    assert not AuditEvent.objects.filter(action="document.upload").exists()


def test_clean_upload_passes_the_scanner_and_is_stored(
    world: World,
    edit_folder: Folder,
    scanning_on: Clamd,
) -> None:
    version = services.document_upload(
        folder=edit_folder, actor=world.customer_user, name="Kvitto.pdf", chunks=[PDF], by_customer=True
    )
    world.partner.refresh_from_db()
    assert (version.document.name, version.size) == ("Kvitto.pdf", len(PDF))
    assert [path.read_bytes() for path in stored_files()] == [PDF]
    assert world.partner.storage_used_bytes == len(PDF)
    assert not AuditEvent.objects.filter(action="document.virus_refused").exists()


def test_unreachable_clamd_refuses_uploads(
    world: World,
    edit_folder: Folder,
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.CLAMD_SOCKET = str(tmp_path / "nothing-listens.sock")
    used = world.partner.storage_used_bytes
    with pytest.raises(ServiceError) as refusal:
        services.document_upload(
            folder=edit_folder, actor=world.staff, name="a.pdf", chunks=[PDF], by_customer=False
        )
    assert refusal.value.message == REFUSED_UNCHECKED
    assert nothing_stored(world.partner, used)


def test_unreachable_clamd_with_fail_open_stores_the_file(
    world: World,
    edit_folder: Folder,
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.CLAMD_SOCKET = str(tmp_path / "nothing-listens.sock")
    settings.CLAMD_FAIL_OPEN = True
    version = services.document_upload(
        folder=edit_folder, actor=world.staff, name="a.pdf", chunks=[PDF], by_customer=False
    )
    assert version.size == len(PDF) and len(stored_files()) == 1


def test_sealed_pdfs_are_not_held_up_by_the_scanner(
    world: World,
    edit_folder: Folder,
    settings: Any,
    tmp_path: Path,
) -> None:
    """The sealing task stores the portal's own output from scanned files: clamd being down must
    not stop signed documents from being delivered."""
    settings.CLAMD_SOCKET = str(tmp_path / "nothing-listens.sock")
    version = services.document_upload(
        folder=edit_folder,
        actor=world.staff,
        name="Avtal (signerat).pdf",
        chunks=[PDF],
        by_customer=False,
        source=DocumentSource.SIGNED,
    )
    assert version.size == len(PDF) and len(stored_files()) == 1


def test_without_a_clamd_address_nothing_is_scanned(
    world: World,
    edit_folder: Folder,
    settings: Any,
) -> None:
    settings.CLAMD_SOCKET = ""
    services.document_upload(
        folder=edit_folder, actor=world.staff, name="eicar.txt", chunks=[EICAR], by_customer=False
    )
    assert Document.objects.count() == 1


# --- The views: the JS uploader's JSON and the form's message, both sides ------------------------


def test_customer_js_upload_of_a_virus_is_422_with_the_signature(
    world: World,
    edit_folder: Folder,
    login: Any,
    scanning_on: Clamd,
) -> None:
    used = world.partner.storage_used_bytes
    response = raw_upload(login(world.customer_user), edit_folder, "Kvitto.pdf", EICAR)
    assert response.status_code == 422
    assert response.json() == {
        "ok": False,
        "error": f"Kvitto.pdf contains a virus ({SIGNATURE}) and was not stored.",
    }
    assert nothing_stored(world.partner, used)
    assert AuditEvent.objects.filter(action="document.virus_refused", actor=world.customer_user).count() == 1


def test_partner_form_upload_of_a_virus_shows_the_message_and_stores_the_clean_file(
    world: World,
    edit_folder: Folder,
    login: Any,
    scanning_on: Clamd,
) -> None:
    response = login(world.staff).post(
        upload_url(edit_folder),
        {
            "files": [
                SimpleUploadedFile("eicar.com", EICAR, "application/octet-stream"),
                SimpleUploadedFile("Bokslut.pdf", PDF, "application/pdf"),
            ]
        },
    )
    assert response.status_code == 302
    assert f"eicar.com: eicar.com contains a virus ({SIGNATURE}) and was not stored." in messages_of(response)
    assert list(Document.objects.values_list("name", flat=True)) == ["Bokslut.pdf"]
    assert [path.read_bytes() for path in stored_files()] == [PDF]


def test_customer_js_upload_of_a_clean_file_passes(
    world: World,
    edit_folder: Folder,
    login: Any,
    scanning_on: Clamd,
) -> None:
    response = raw_upload(login(world.customer_user), edit_folder, "Kvitto.pdf", PDF)
    assert response.status_code == 201 and response.json()["ok"] is True
    assert [path.read_bytes() for path in stored_files()] == [PDF]


def test_js_upload_while_clamd_is_unreachable_is_422_with_the_message(
    world: World,
    edit_folder: Folder,
    login: Any,
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.CLAMD_SOCKET = str(tmp_path / "nothing-listens.sock")
    response = raw_upload(login(world.customer_user), edit_folder, "Kvitto.pdf", PDF)
    assert response.status_code == 422
    assert response.json() == {"ok": False, "error": REFUSED_UNCHECKED}
    assert Document.objects.count() == 0 and stored_files() == []


def test_the_firms_log_shows_the_refused_virus(
    world: World,
    edit_folder: Folder,
    login: Any,
    scanning_on: Clamd,
) -> None:
    raw_upload(login(world.customer_user), edit_folder, "Kvitto.pdf", EICAR)
    response = login(world.staff).get(
        reverse("documents:partner_audit", args=[world.collaboration.pk]),
        {"action": "document.virus_refused"},
    )
    html = response.content.decode()
    assert [e.action for e in response.context["page"].object_list] == ["document.virus_refused"]
    assert "Upload refused: virus found" in html and f"Kvitto.pdf: {SIGNATURE}" in html


# --- The signing wizard's attachment upload ------------------------------------------------------


def test_signing_wizard_refuses_an_infected_attachment_and_accepts_a_clean_one(
    world: World,
    login: Any,
    scanning_on: Clamd,
) -> None:
    from tests.signing.test_partner_views import TWO_IN_ORDER, draft_of, form_data, step_url

    folder = services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Avtal")
    document = services.document_upload(
        folder=folder, actor=world.admin, name="Avtal.pdf", chunks=[blank_pdf()], by_customer=False
    ).document
    client = login(world.staff)
    url = step_url(world, draft_of(world, document), "settings")
    data = form_data(TWO_IN_ORDER, extra={"upload_attachment": "1"})
    data["new_attachment"] = SimpleUploadedFile("Bilaga.pdf", INFECTED_PDF, content_type="application/pdf")
    response = client.post(url, data)
    assert response.status_code == 422
    assert f"Bilaga.pdf contains a virus ({PDF_SIGNATURE}) and was not stored." in response.content.decode()
    assert not Document.objects.filter(name="Bilaga.pdf").exists()
    assert AuditEvent.objects.get(action="document.virus_refused").details["signature"] == PDF_SIGNATURE

    data["new_attachment"] = SimpleUploadedFile("Bilaga.pdf", blank_pdf(2), content_type="application/pdf")
    response = client.post(url, data)
    assert response.status_code == 200
    assert Document.objects.filter(folder=folder, name="Bilaga.pdf").exists()
