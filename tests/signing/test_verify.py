"""The public Verify page, with real files: a PDF sealed by the portal's development key, the same
with one signed byte changed, with an update appended, one sealed by another CA, one never sealed,
something that is not a PDF, and one too large; anonymous and logged in; rate-limited; nothing kept."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pypdf import PdfWriter

from portal.audit import AuditEvent
from signing import devkeys, sealing
from signing.sealing import AuditTrail, InputFile, PartyEvidence, build_sealed_pdf
from signing.verify import Outcome, verify_pdf

URL = "/verify/"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _key_settings(folder: Path) -> dict[str, Any]:
    return {
        "SIGNING_SEAL_KEY_FILE": folder / "seal-key.pem",
        "SIGNING_SEAL_CERT_FILE": folder / "seal-cert.pem",
        "SIGNING_SEAL_CA_FILE": folder / "seal-ca.pem",
    }


def _make_key(folder: Path) -> devkeys.SealingKey:
    with override_settings(**_key_settings(folder)):
        devkeys.ensure_dev_sealing_key()
        return devkeys.load_sealing_key()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The portal's key, and a throwaway CA and key of someone else (RSA keys take a while)."""
    ours, theirs = tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("theirs")
    return {"folder": ours, "ours": _make_key(ours), "theirs": _make_key(theirs)}


@pytest.fixture(autouse=True)
def _portal_key(keys: dict[str, Any], settings: Any) -> None:
    for name, value in _key_settings(keys["folder"]).items():
        setattr(settings, name, value)


def _blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _audit() -> AuditTrail:
    parties = [
        PartyEvidence("Åsa Ängström", "asa@kund.example.se", "signer", "bankid", T0 + timedelta(hours=1),
                      "signed", "192.0.2.1", "Firefox"),
        PartyEvidence("Bo Ek", "bo@byra.example.se", "approver", "email_code", T0 + timedelta(hours=2),
                      "approved", "192.0.2.2", "Safari"),
    ]  # fmt: skip
    return AuditTrail("Avtal 2026", "SR-77", "en", "Anna Admin", T0, T0 + timedelta(hours=2), parties, [])


@pytest.fixture(scope="module")
def sealed(keys: dict[str, Any]) -> bytes:
    return build_sealed_pdf(inputs=[InputFile("Avtal.pdf", _blank_pdf())], audit=_audit(), key=keys["ours"])


def _changed_byte(data: bytes) -> bytes:
    """One byte of the document's title in the information dictionary, inside the signed range."""
    at = data.index(b"/Title") + 8
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


def _appended(data: bytes) -> bytes:
    """An incremental update after the seal, as a PDF editor saving a change would write."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    writer.root["/PageMode"] = generic.NameObject("/UseOutlines")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _signed_by_another(keys: dict[str, Any]) -> bytes:
    """A plain pyHanko signature by a certificate of another CA, in a field of its own."""
    writer = IncrementalPdfFileWriter(io.BytesIO(_blank_pdf()))
    fields.append_signature_field(writer, fields.SigFieldSpec(sig_field_name="Signature1"))
    meta = signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256")
    # Off any event loop a browser test left running in this thread, as the seal itself does.
    out = sealing.outside_event_loop(
        lambda: signers.PdfSigner(meta, signer=keys["theirs"].signer).sign_pdf(writer)
    )
    return bytes(out.getvalue())


def _english(client: Client) -> Client:
    client.post(reverse("set_language"), {"language": "en"})
    return client


def _upload(client: Client, data: bytes, name: str = "Avtal (signerat).pdf", **extra: Any) -> Any:
    return client.post(URL, {"file": SimpleUploadedFile(name, data, "application/pdf")}, **extra)


# --- The verdicts ---------------------------------------------------------------------------------


def test_the_url_is_verify_and_the_page_needs_no_login(client: Client, db: None) -> None:
    assert reverse("signing:verify") == URL
    page = _english(client).get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Verify a signed PDF</h1>" in html
    assert 'type="file"' in html and 'for="id_file"' in html and "At most 25.0\xa0MB" in html
    assert 'enctype="multipart/form-data"' in html


def test_an_intact_sealed_pdf_says_yes_with_who_signed_how_and_when(
    client: Client, sealed: bytes, db: None
) -> None:
    page = _upload(_english(client), sealed)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Yes: sealed by Partner portal and unchanged" in html and "verdict-yes" in html
    assert "Avtal 2026" in html and "SR-77" in html and "Avtal (signerat).pdf" in html
    assert "Partnerportalen sealing (development)" in html
    assert "Åsa Ängström" in html and "Bo Ek" in html
    assert "BankID" in html and "Code by email" in html and "Signer" in html and "Approver" in html
    assert "2026-11-28 11:00" in html  # Åsa's signature, 10:00 UTC, in Stockholm time
    assert "asa@kund.example.se" not in html  # the record carries no contact details


def test_a_logged_in_user_gets_the_same_answer(login: Any, world: Any, sealed: bytes) -> None:
    client = _english(login(world.customer_user))
    page = _upload(client, sealed)
    assert page.status_code == 200 and "Yes: sealed by Partner portal and unchanged" in page.content.decode()


def test_one_changed_byte_in_the_signed_range_says_changed(client: Client, sealed: bytes, db: None) -> None:
    html = _upload(_english(client), _changed_byte(sealed)).content.decode()
    assert "No: the file has been changed after it was sealed" in html and "verdict-no" in html
    assert "Åsa Ängström" not in html  # nothing from an untrustworthy file is shown as fact


def test_an_update_appended_after_the_seal_says_something_was_added(
    client: Client, sealed: bytes, db: None
) -> None:
    html = _upload(_english(client), _appended(sealed)).content.decode()
    assert "No: something was added to the file after it was sealed" in html
    assert "Åsa Ängström" not in html


def test_a_pdf_signed_by_another_certificate_says_not_sealed_by_the_portal(
    client: Client, keys: dict[str, Any], db: None
) -> None:
    html = _upload(_english(client), _signed_by_another(keys)).content.decode()
    assert "No: not sealed by Partner portal" in html
    assert "Partnerportalen sealing (development)" in html  # the other certificate's own name, quoted


def test_a_copy_of_our_seal_made_with_another_ca_is_not_ours(
    client: Client, keys: dict[str, Any], db: None
) -> None:
    """Someone with their own CA can build a file exactly as the portal does, audit record and
    all: it still is not sealed by this portal, and its parties are not shown."""
    forged = build_sealed_pdf(
        inputs=[InputFile("Avtal.pdf", _blank_pdf())], audit=_audit(), key=keys["theirs"]
    )
    html = _upload(_english(client), forged).content.decode()
    assert "No: not sealed by Partner portal" in html
    assert "Åsa Ängström" not in html


def test_an_unsealed_pdf_says_no_seal(client: Client, db: None) -> None:
    html = _upload(_english(client), _blank_pdf()).content.decode()
    assert "No: the file has no seal" in html


def test_a_file_that_is_not_a_pdf_says_so(client: Client, db: None) -> None:
    page = _upload(_english(client), b"PK\x03\x04 a zip file, not a PDF", name="Avtal.docx")
    assert page.status_code == 200
    assert "No: this is not a PDF that can be read" in page.content.decode()
    damaged = _upload(client, b"%PDF-1.7\n1 0 obj garbage").content.decode()
    assert "No: this is not a PDF that can be read" in damaged


def test_a_file_over_the_cap_is_refused_with_the_limit(
    client: Client, sealed: bytes, settings: Any, db: None
) -> None:
    settings.SIGNING_VERIFY_MAX_BYTES = 10_000
    page = _upload(_english(client), sealed + b"\n" * 20_000)
    assert page.status_code == 413
    html = page.content.decode()
    assert "The file is larger than 9.8\xa0KB, the most this page checks." in html
    assert "verdict" not in html


def test_no_file_is_a_form_error(client: Client, db: None) -> None:
    page = _english(client).post(URL, {})
    assert page.status_code == 400 and "This field is required." in page.content.decode()


def test_an_old_sealed_pdf_without_the_audit_record_is_verified_by_its_signature(
    keys: dict[str, Any], monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    from signing import sealing

    monkeypatch.setattr(sealing, "AUDIT_RECORD_NAME", "something-else.json")  # as sealed before it existed
    old = build_sealed_pdf(inputs=[InputFile("Avtal.pdf", _blank_pdf())], audit=_audit(), key=keys["ours"])
    monkeypatch.undo()
    verdict = verify_pdf(old, ca_file=settings.SIGNING_SEAL_CA_FILE)
    assert verdict.outcome is Outcome.INTACT and not verdict.has_record and verdict.parties == ()
    assert verdict.sealed_at is not None


# --- Limits: rate, CSRF, nothing kept ---------------------------------------------------------------


def test_checks_are_rate_limited_per_address(client: Client, sealed: bytes, settings: Any, db: None) -> None:
    settings.RATE_SIGNING_VERIFY = "2/h"
    client = _english(client)
    assert [_upload(client, sealed, REMOTE_ADDR="10.0.0.1").status_code for _n in range(2)] == [200, 200]
    refused = _upload(client, sealed, REMOTE_ADDR="10.0.0.1")
    assert refused.status_code == 429 and "Too many attempts" in refused.content.decode()
    assert AuditEvent.objects.filter(action="throttle.refused", object_repr="signing_verify").count() == 1
    assert _upload(client, sealed, REMOTE_ADDR="10.0.0.2").status_code == 200
    assert client.get(URL, REMOTE_ADDR="10.0.0.1").status_code == 200  # the page itself is not counted


def test_a_post_without_the_csrf_token_is_refused(sealed: bytes, db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    assert _upload(client, sealed).status_code == 403
    page = client.get(URL)
    token = page.cookies["csrftoken"].value
    data = {"file": SimpleUploadedFile("a.pdf", sealed, "application/pdf"), "csrfmiddlewaretoken": token}
    assert client.post(URL, data).status_code == 200


def test_nothing_uploaded_is_stored(
    client: Client, sealed: bytes, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: None
) -> None:
    # Were the upload to go through Django's temporary-file handler, this would fail the request.
    def no_temp_file(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the Verify page wrote the upload to a temporary file")

    monkeypatch.setattr(TemporaryUploadedFile, "__init__", no_temp_file)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1  # Django's default handlers would use a temporary file
    client = _english(client)
    with CaptureQueriesContext(connection) as queries:
        page = _upload(client, sealed)
    assert page.status_code == 200 and "Yes: sealed" in page.content.decode()
    writes = [
        q["sql"] for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")
    ]
    assert writes == []
    assert not any(Path(settings.MEDIA_ROOT).rglob("*")) if Path(settings.MEDIA_ROOT).exists() else True


def test_without_the_sealing_ca_the_page_says_it_cannot_verify_now(
    client: Client, sealed: bytes, settings: Any, tmp_path: Path, db: None
) -> None:
    settings.SIGNING_SEAL_CA_FILE = tmp_path / "missing-ca.pem"
    page = _upload(_english(client), sealed)
    assert page.status_code == 503
    html = page.content.decode()
    assert "Files cannot be verified right now. Try again later." in html and "verdict" not in html


def test_the_uploaded_file_name_is_shown_as_text(client: Client, db: None) -> None:
    html = _upload(_english(client), _blank_pdf(), name='<img src=x onerror="alert(1)">.pdf').content.decode()
    assert "<img src=x" not in html and "&lt;img src=x" in html
