"""signing.prepare: ordinary PDFs that viewers open safely can be sent.

Each case is a real PDF made in the test (tests/signing/pdfs.py): checked, copied, sent through the
service, the stored signed copy read back and inspected, and the pages that list what was done.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from billing import services as billing
from documents.models import Document, DocumentVersion, Folder
from documents.storage import document_storage
from partners.models import Partner
from portal.errors import ServiceError
from signing import pdfcheck, prepare, selectors, services
from signing.models import Event, Party, SigningRequest, Status
from signing.pdfcheck import EmbeddedFile, check_pdf
from signing.services import PartyInput
from tests.conftest import World
from tests.signing.pdfs import (
    FACTURX_XML,
    SCANNER_JUNK,
    action,
    annotation,
    automatic_actions,
    blank_pdf,
    einvoice,
    encrypted,
    text_field,
    to_bytes,
    with_junk,
    writer_with_pages,
)
from tests.signing.test_services import act, document, send

PARTY = [PartyInput("Karin Kund", "karin@example.com")]


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def stored(version: DocumentVersion | None) -> bytes:
    assert version is not None
    with document_storage().open(version.storage_key, "rb") as handle:
        return bytes(handle.read())


def files_in_storage(settings: Any) -> set[Path]:
    return {p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}


def every_dictionary(data: bytes) -> list[DictionaryObject]:
    reader = PdfReader(io.BytesIO(data))
    root: Any = reader.trailer["/Root"].get_object()
    return [obj for obj in pdfcheck.reachable_containers(root) if isinstance(obj, DictionaryObject)]


def copy_of(data: bytes) -> bytes:
    return prepare.clean_copy(data, check_pdf(data), name="x.pdf")


# --- The copy (pure) -----------------------------------------------------------------------------


def test_a_pdf_that_needs_nothing_is_signed_as_it_is() -> None:
    data = blank_pdf(2)
    assert prepare.clean_copy(data, check_pdf(data)) is data


def test_junk_after_eof_is_cut_and_nothing_else_changes() -> None:
    data = blank_pdf(2)
    assert copy_of(with_junk(data)) == data


def test_an_encrypted_pdf_becomes_a_decrypted_copy_with_its_form_and_text() -> None:
    writer = writer_with_pages(2)
    text_field(writer)
    copy = copy_of(encrypted(writer, algorithm="AES-256"))
    reader = PdfReader(io.BytesIO(copy))
    assert not reader.is_encrypted and len(reader.pages) == 2
    assert set(reader.get_fields() or {}) == {"customer_name"}
    assert b"/Encrypt" not in copy


def test_automatic_actions_are_removed_and_clicked_ones_kept() -> None:
    writer = automatic_actions(writer_with_pages(1))
    writer.add_annotation(
        0, annotation("/Link", A=action("/URI", URI=TextStringObject("https://example.com/terms")))
    )
    copy = copy_of(to_bytes(writer))
    dictionaries = every_dictionary(copy)
    assert not any("/AA" in obj for obj in dictionaries)
    reader = PdfReader(io.BytesIO(copy))
    assert "/OpenAction" not in reader.root_object
    # A link the reader clicks still works, and the form field is still there.
    annotations: Any = reader.pages[0]["/Annots"]
    links = [a.get_object() for a in annotations]
    assert any(link.get("/A", {}).get("/URI") == "https://example.com/terms" for link in links)
    assert set(reader.get_fields() or {}) == {"customer_name"}
    assert check_pdf(copy).removed == ()


def test_an_open_action_that_only_shows_a_page_is_kept() -> None:
    writer = writer_with_pages(2)
    writer.open_destination = writer.pages[1]
    writer.pages[0][NameObject("/AA")] = DictionaryObject(
        {NameObject("/O"): action("/Named", N=NameObject("/Print"))}
    )
    copy = copy_of(to_bytes(writer))
    reader = PdfReader(io.BytesIO(copy))
    assert "/OpenAction" in reader.root_object and "/AA" not in reader.pages[0]


def test_everything_at_once_keeps_the_einvoice() -> None:
    writer = automatic_actions(einvoice(writer_with_pages(1)))
    data = with_junk(encrypted(writer))
    info = check_pdf(data)
    assert info.decrypted and info.trailing_bytes == len(SCANNER_JUNK) and info.removed
    assert info.embedded == (EmbeddedFile("factur-x.xml", len(FACTURX_XML)),)
    copy = prepare.clean_copy(data, info)
    reader = PdfReader(io.BytesIO(copy))
    assert not reader.is_encrypted
    assert reader.attachments == {"factur-x.xml": [FACTURX_XML]}
    associated: Any = reader.root_object["/AF"]
    spec = associated[0].get_object()  # PDF/A-3's associated file, still there
    assert spec["/AFRelationship"] == "/Data" and spec["/F"] == "factur-x.xml"
    again = check_pdf(copy)
    assert not again.needs_copy and again.embedded == info.embedded


def test_a_copy_that_does_not_come_out_right_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = to_bytes(automatic_actions(writer_with_pages(1)))
    monkeypatch.setattr(prepare, "_drop_automatic_actions", lambda writer: None)
    with pytest.raises(pdfcheck.PdfRefused) as refused:
        copy_of(data)
    assert refused.value.code == prepare.UNPREPARABLE
    assert refused.value.message == (
        "x.pdf: The PDF could not be prepared for signing. Print it to a new PDF and try again."
    )


# --- Sent through the service ----------------------------------------------------------------------


def test_a_scanned_pdf_with_junk_is_sent_as_a_new_version_without_it(
    funded: World, folder: Folder, django_capture_on_commit_callbacks: Any
) -> None:
    original = blank_pdf(2)
    doc = document(folder, funded.admin, "Skannat.pdf", with_junk(original))
    first = doc.current_version
    assert first is not None
    used = Partner.objects.get(pk=funded.partner.pk).storage_used_bytes
    with django_capture_on_commit_callbacks(execute=True):
        request = send(funded, doc, PARTY)
    request.refresh_from_db()
    assert request.version is not None and request.version.pk != first.pk
    assert request.version.document_id == doc.pk and request.version.number == 2
    assert stored(request.version) == original
    assert request.version_sha256 == request.version.sha256
    assert Document.objects.get(pk=doc.pk).current_version_id == request.version.pk
    assert stored(first) == with_junk(original)  # the uploaded file stays, as version 1
    # The copy counts towards storage like any file.
    assert Partner.objects.get(pk=funded.partner.pk).storage_used_bytes == used + len(original)
    (entry,) = request.prepared["files"]
    assert entry["name"] == "Skannat.pdf" and entry["trailing_bytes"] == len(SCANNER_JUNK)
    assert entry["from_version"] == 1 and entry["version"] == 2
    kinds = list(Event.objects.filter(request=request).values_list("kind", flat=True))
    assert kinds[:2] == ["prepared", "sent"]


def test_an_encrypted_pdf_is_signed_as_a_decrypted_copy(funded: World, folder: Folder) -> None:
    doc = document(folder, funded.admin, "Låst.pdf", encrypted(writer_with_pages(3), algorithm="AES-128"))
    request = send(funded, doc, PARTY)
    copy = stored(SigningRequest.objects.get(pk=request.pk).version)
    reader = PdfReader(io.BytesIO(copy))
    assert not reader.is_encrypted and len(reader.pages) == 3 == request.pages
    assert request.prepared["files"][0]["decrypted"] is True


def test_a_pdf_that_needs_a_password_is_refused_and_nothing_is_sent(funded: World, folder: Folder) -> None:
    doc = document(folder, funded.admin, "Hemlig.pdf", encrypted(writer_with_pages(1), user_password="pw"))
    with pytest.raises(
        ServiceError, match=re.escape("Hemlig.pdf cannot be signed: The PDF is protected with a password")
    ):
        send(funded, doc, PARTY)
    assert not SigningRequest.objects.exists()
    assert DocumentVersion.objects.filter(document=doc).count() == 1


def test_automatic_actions_are_gone_from_the_signed_copy(funded: World, folder: Folder) -> None:
    doc = document(folder, funded.admin, "Formulär.pdf", to_bytes(automatic_actions(writer_with_pages(1))))
    request = send(funded, doc, PARTY)
    copy = stored(SigningRequest.objects.get(pk=request.pk).version)
    assert not any("/AA" in obj for obj in every_dictionary(copy))
    assert "/OpenAction" not in PdfReader(io.BytesIO(copy)).root_object
    assert request.prepared["files"][0]["removed"] == [
        "field:Hide",
        "field:ResetForm",
        "field:SubmitForm",
        "open:URI",
        "page:Named",
    ]


def test_an_einvoice_is_signed_as_it_is_and_its_xml_listed(funded: World, folder: Folder) -> None:
    data = to_bytes(einvoice(writer_with_pages(1)))
    doc = document(folder, funded.admin, "Faktura.pdf", data)
    request = send(funded, doc, PARTY)
    request.refresh_from_db()
    assert request.version is not None and request.version.number == 1  # no copy was needed
    assert stored(request.version) == data
    assert PdfReader(io.BytesIO(data)).attachments == {"factur-x.xml": [FACTURX_XML]}
    (entry,) = request.prepared["files"]
    assert entry["copy"] is False and entry["embedded"] == [["factur-x.xml", len(FACTURX_XML)]]


def test_an_attachment_gets_its_copy_too(funded: World, folder: Folder) -> None:
    main = document(folder, funded.admin, "Avtal.pdf", blank_pdf(1))
    extra = document(folder, funded.admin, "Bilaga.pdf", with_junk(blank_pdf(2)))
    request = send(funded, main, PARTY, attachments=[extra])
    request.refresh_from_db()
    assert request.version is not None and request.version.number == 1
    attachment = request.attachments.get()
    assert attachment.version is not None and attachment.version.number == 2
    assert attachment.sha256 == attachment.version.sha256
    assert stored(attachment.version) == blank_pdf(2)
    assert [f["name"] for f in request.prepared["files"]] == ["Bilaga.pdf"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda w: w.add_annotation(
                0, annotation("/Link", A=action("/JavaScript", JS=TextStringObject("app.alert(1)")))
            ),
            "JavaScript",
        ),
        (
            lambda w: w.add_annotation(
                0, annotation("/Link", A=action("/Launch", F=TextStringObject("cmd.exe")))
            ),
            "starts another program",
        ),
        (
            lambda w: (
                text_field(w),
                w.root_object["/AcroForm"].__setitem__(NameObject("/XFA"), ArrayObject()),
            ),
            "XFA form",
        ),
    ],
)
def test_javascript_launch_and_xfa_are_still_refused_with_the_reason(
    funded: World, folder: Folder, make: Any, reason: str
) -> None:
    writer = automatic_actions(writer_with_pages(1))
    make(writer)
    doc = document(folder, funded.admin, "Aktiv.pdf", with_junk(encrypted(writer)))
    with pytest.raises(ServiceError, match=reason):
        send(funded, doc, PARTY)
    assert not SigningRequest.objects.exists()


def test_a_full_storage_refuses_the_send_and_leaves_nothing(
    funded: World, folder: Folder, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = document(folder, funded.admin, "Skannat.pdf", with_junk(blank_pdf(1)))
    partner = Partner.objects.get(pk=funded.partner.pk)
    settings.STORAGE_INCLUDED_BYTES = {
        "portal": partner.storage_used_bytes + 10,
        "byra": partner.storage_used_bytes + 10,
    }
    settings.STORAGE_BLOCK_BYTES = 1000
    billing.storage_set_cap(partner=partner, actor=funded.admin, cap_blocks=0)
    # Both guards: the early check, and the one under the partner's lock.
    for early in (True, False):
        if not early:
            monkeypatch.setattr(billing, "storage_check", lambda **kwargs: None)
        files = files_in_storage(settings)
        with pytest.raises(billing.StorageCapReached):
            send(funded, doc, PARTY)
        assert files_in_storage(settings) == files
        assert not SigningRequest.objects.exists()
        assert DocumentVersion.objects.filter(document=doc).count() == 1
        after = Partner.objects.get(pk=partner.pk)
        assert (after.storage_used_bytes, after.signature_balance) == (
            partner.storage_used_bytes,
            partner.signature_balance,
        )


def test_a_failing_copy_refuses_the_send_and_leaves_nothing(
    funded: World, folder: Folder, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The main document's copy is stored, then the attachment's fails: the first goes too.
    main = document(folder, funded.admin, "Avtal.pdf", with_junk(blank_pdf(1)))
    extra = document(folder, funded.admin, "Bilaga.pdf", to_bytes(automatic_actions(writer_with_pages(1))))
    monkeypatch.setattr(prepare, "_drop_automatic_actions", lambda writer: None)
    files = files_in_storage(settings)
    balance = Partner.objects.get(pk=funded.partner.pk).signature_balance
    with pytest.raises(
        ServiceError,
        match=re.escape("Bilaga.pdf cannot be signed: Bilaga.pdf: The PDF could not be prepared"),
    ):
        send(funded, main, PARTY, attachments=[extra])
    assert files_in_storage(settings) == files
    assert not SigningRequest.objects.exists()
    assert DocumentVersion.objects.filter(document__in=[main, extra]).count() == 2
    assert Partner.objects.get(pk=funded.partner.pk).signature_balance == balance


def test_an_empty_balance_stores_no_copy(world: World, folder: Folder, settings: Any) -> None:
    doc = document(folder, world.admin, "Skannat.pdf", with_junk(blank_pdf(1)))
    files = files_in_storage(settings)
    with pytest.raises(billing.BalanceEmpty):
        send(world, doc, PARTY)
    assert files_in_storage(settings) == files
    assert DocumentVersion.objects.filter(document=doc).count() == 1


# --- What the pages say ------------------------------------------------------------------------------


def _everything_pdf(funded: World, folder: Folder) -> Document:
    """An e-invoice with automatic actions, an empty user password and a scanner's junk."""
    writer = automatic_actions(einvoice(writer_with_pages(1)))
    return document(folder, funded.admin, "Faktura 42.pdf", with_junk(encrypted(writer)))


def _everything(funded: World, folder: Folder) -> SigningRequest:
    return send(funded, _everything_pdf(funded, folder), PARTY)


PAGE_SAYS = [
    "Prepared for signing",
    "Faktura 42.pdf",
    "What is signed is a copy prepared for signing.",
    "The original was encrypted (it opened without a password); the copy is not.",
    "Bytes after the end of the PDF (",
    "When the document is opened: open a web address",
    "When a page is opened or closed: run a viewer command, such as printing",
    "On form fields, links and other annotations: send the form&#x27;s contents to an address",
    'factur-x.xml <span class="muted">(',
]


def test_the_party_page_lists_what_was_removed_and_the_embedded_files(
    funded: World, folder: Folder, client: Client
) -> None:
    request = _everything(funded, folder)
    SigningRequest.objects.filter(pk=request.pk).update(language="en")  # the party's page speaks it
    token = selectors.party_token(Party.objects.get(request=request))
    html = client.get(reverse("signing:sign", args=[token]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in PAGE_SAYS:
        assert text in html, text


def test_the_partner_page_lists_it_and_the_timeline_tells_it(
    funded: World, folder: Folder, login: Any
) -> None:
    request = _everything(funded, folder)
    funded.staff.language = "en"
    funded.staff.save(update_fields=["language"])
    client = login(funded.staff)
    response = client.get(reverse("signing:partner_detail", args=[funded.collaboration.pk, request.pk]))
    html = response.content.decode()
    for text in PAGE_SAYS:
        assert text in html, text
    assert (
        "Prepared for signing: Faktura 42.pdf: signed as a prepared copy, 5 automatic actions removed, "
        "embedded files kept: factur-x.xml (" in html
    )
    # The removed actions are told in the order they would run: opening first.
    opened, page_shown = html.index("When the document is opened:"), html.index("When a page is opened")
    assert opened < page_shown < html.index("On form fields")


def test_a_customer_party_finds_it_on_signeringar(funded: World, folder: Folder, login: Any) -> None:
    request = send(funded, _everything_pdf(funded, folder), [PartyInput("Primary", funded.primary.email)])
    funded.primary.language = "en"
    funded.primary.save(update_fields=["language"])
    response = login(funded.primary).get(
        reverse("signing:customer_detail", args=[funded.collaboration.pk, request.pk])
    )
    html = response.content.decode()
    for text in PAGE_SAYS:
        assert text in html, text


def test_nothing_is_said_of_an_ordinary_pdf(funded: World, folder: Folder, login: Any) -> None:
    request = send(funded, document(folder, funded.admin), PARTY)
    assert request.prepared == {} and request.status == Status.PENDING
    html = (
        login(funded.staff)
        .get(reverse("signing:partner_detail", args=[funded.collaboration.pk, request.pk]))
        .content.decode()
    )
    assert "prepared-files" not in html


# --- Sealed ------------------------------------------------------------------------------------------


def test_a_prepared_einvoice_is_sealed_from_the_copy(
    funded: World, folder: Folder, seal_keys: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from signing import sealing

    settings.NOTIFICATION_BATCH_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        request = _everything(funded, folder)
    with django_capture_on_commit_callbacks(execute=True):
        act(Party.objects.get(request=request))
    request.refresh_from_db()
    assert request.status == Status.COMPLETED and request.sealed_version is not None
    data = stored(request.sealed_version)
    assert sealing.validate_sealed_pdf(data, ca_file=seal_keys).ok
    reader = PdfReader(io.BytesIO(data))
    assert not reader.is_encrypted
    assert not any("/AA" in obj for obj in every_dictionary(data))
    assert "/OpenAction" not in reader.root_object
    # The audit trail names the copy that was signed.
    assert request.version_sha256 in "".join(page.extract_text() for page in reader.pages[1:])
    # The e-invoice's XML goes into the sealed PDF with its PDF/A-3 relationship.
    (xml,) = [f for f in reader.attachment_list if f.name == "factur-x.xml"]
    assert xml.content == FACTURX_XML and xml.associated_file_relationship == "/Data"


def test_the_review_page_tells_the_sender_before_sending(funded: World, folder: Folder, login: Any) -> None:
    doc = _everything_pdf(funded, folder)
    draft = services.draft_create(collaboration=funded.collaboration, actor=funded.staff, document=doc)
    services.draft_update(draft=draft, actor=funded.staff, parties=PARTY)
    funded.staff.language = "en"
    funded.staff.save(update_fields=["language"])
    response = login(funded.staff).get(
        reverse("signing:partner_draft_review", args=[funded.collaboration.pk, draft.pk])
    )
    html = response.content.decode()
    for text in PAGE_SAYS:
        assert text in html, text
    # Nothing is stored before Send.
    assert DocumentVersion.objects.filter(document=doc).count() == 1
    assert SigningRequest.objects.get(pk=draft.pk).prepared == {}
