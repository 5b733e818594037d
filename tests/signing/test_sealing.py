"""The sealed PDF: inputs then the audit trail, a PAdES seal that pyHanko and poppler both accept,
and that any change to the signed bytes breaks."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.core.management import call_command
from django.test import override_settings
from fpdf import FPDF
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from signing.devkeys import DEV_SUBJECT, SealingKey, ensure_dev_sealing_key, load_sealing_key
from signing.sealing import (
    AuditTrail,
    InputFile,
    PartyEvidence,
    SealingError,
    build_sealed_pdf,
    validate_sealed_pdf,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
PDFSIG = "/usr/bin/pdfsig"


def _seal_settings(folder: Path) -> dict[str, Any]:
    return {
        "SIGNING_SEAL_KEY_FILE": folder / "seal-key.pem",
        "SIGNING_SEAL_CERT_FILE": folder / "seal-cert.pem",
        "SIGNING_SEAL_CA_FILE": folder / "seal-ca.pem",
    }


@pytest.fixture(scope="session")
def seal_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One development CA and sealing key for the session (RSA key generation takes a while)."""
    folder = tmp_path_factory.mktemp("seal")
    with override_settings(**_seal_settings(folder)):
        assert ensure_dev_sealing_key() is True
    return folder


@pytest.fixture
def key(seal_folder: Path, settings: Any) -> SealingKey:
    for name, value in _seal_settings(seal_folder).items():
        setattr(settings, name, value)
    return load_sealing_key()


def _text_pdf(*pages: tuple[str, ...]) -> bytes:
    """A PDF whose pages show these lines in Helvetica, its content streams not compressed (a test
    changes a word in the file's bytes)."""
    pdf = FPDF(unit="pt", format=(595, 842))
    pdf.compress = False
    pdf.core_fonts_encoding = "cp1252"
    pdf.set_title("Avtal")
    pdf.set_font("Helvetica", size=12)
    for lines in pages:
        pdf.add_page()
        for i, line in enumerate(lines):
            pdf.text(72, 82 + 20 * i, line)
    return bytes(pdf.output())


@pytest.fixture(scope="session")
def inputs() -> list[InputFile]:
    document = _text_pdf(
        ("Avtal om bokföring", "Sida 1: Åkesson & Öberg AB, räkenskapsår 2026"),
        ("Sida 2: TAMPERMARK ersättning och villkor",),
        ("Sida 3: Underskrifter för Åsa Ängström",),
    )
    attachments = []
    for width in (595, 612):  # two different blank one-page PDFs made with pypdf
        writer = PdfWriter()
        writer.add_blank_page(width=width, height=842)
        out = io.BytesIO()
        writer.write(out)
        attachments.append(out.getvalue())
    return [
        InputFile("Avtal 2026.pdf", document),
        InputFile("Bilaga 1 prislista.pdf", attachments[0]),
        InputFile("Bilaga 2 fullmakt.pdf", attachments[1]),
    ]


PARTIES = [
    PartyEvidence(
        name="Åsa Ängström",
        email="asa@kund.example.se",
        role="signer",
        method="email_code",
        acted_at=T0 + timedelta(hours=2),
        action="signed",
        ip="192.0.2.17",
        user_agent=USER_AGENT,
        evidence={"email_code": "sent to a***@kund.example.se, verified 2026-11-28 11:02"},
    ),
    PartyEvidence(
        name="Łukasz Żółć",
        email="lukasz@byra.example.se",
        role="approver",
        method="bankid",
        acted_at=T0 + timedelta(hours=1),
        action="approved",
        ip="2001:db8::42",
        user_agent="BankID/7.0 (iOS 18.1)",
        evidence={"personal_number": "19800101****", "bankid_issue_date": "2024-05-02"},
    ),
    PartyEvidence(
        name="Olle Öst",
        email="olle@kund.example.se",
        role="viewer",
        method="email_code",
        acted_at=None,
        action="",
        ip="198.51.100.8",
        user_agent="curl/8.5.0",
        evidence={},
    ),
]


def _audit(language: str, parties: list[PartyEvidence] = PARTIES) -> AuditTrail:
    return AuditTrail(
        title="Avtal om bokföring 2026",
        reference="SR-2026-0042",
        language=language,
        sender="Anna Admin, Alfa Byrå AB",
        sent_at=T0,
        completed_at=T0 + timedelta(hours=2),
        parties=parties,
        history=[
            (T0, "HISTORY-SENT to three parties"),
            (T0 + timedelta(hours=1), "HISTORY-APPROVED by Łukasz Żółć"),
            (T0 + timedelta(hours=2), "HISTORY-SIGNED by Åsa Ängström"),
        ],
    )


@pytest.fixture(scope="session")
def sealed_sv(seal_folder: Path, inputs: list[InputFile]) -> bytes:
    with override_settings(**_seal_settings(seal_folder)):
        return build_sealed_pdf(inputs=inputs, audit=_audit("sv"), key=load_sealing_key())


@pytest.fixture(scope="session")
def sealed_en(seal_folder: Path, inputs: list[InputFile]) -> bytes:
    with override_settings(**_seal_settings(seal_folder)):
        return build_sealed_pdf(inputs=inputs, audit=_audit("en"), key=load_sealing_key())


def _pages_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def _audit_text(data: bytes) -> str:
    return "\n".join(_pages_text(data)[5:])


def _annotations(page: Any) -> list[Any]:
    return [ref.get_object() for ref in page.get("/Annots", [])]


def _audit_fonts(data: bytes) -> list[Any]:
    """The distinct font dictionaries the audit pages (after the 5 input pages) use."""
    fonts: dict[int, Any] = {}
    for page in PdfReader(io.BytesIO(data)).pages[5:]:
        resources: Any = page["/Resources"]
        for ref in resources["/Font"].values():
            fonts[ref.idnum] = ref.get_object()
    return list(fonts.values())


# --- The file -------------------------------------------------------------------------------------


def test_sealed_pdf_is_the_document_then_the_attachments_then_the_audit_trail(sealed_en: bytes) -> None:
    texts = _pages_text(sealed_en)
    assert len(texts) >= 3 + 1 + 1 + 1
    assert "Sida 1: Åkesson & Öberg AB" in texts[0]
    assert "Sida 2:" in texts[1] and "Sida 3: Underskrifter för Åsa Ängström" in texts[2]
    assert texts[3].strip() == "" and texts[4].strip() == ""  # the blank attachments
    audit_pages = texts[5:]
    for number, text in enumerate(audit_pages, start=1):
        assert f"Audit trail, page {number} of {len(audit_pages)}" in text
    assert not any("Audit trail, page" in text for text in texts[:5])


def test_seal_is_intact_trusted_and_covers_the_entire_file(sealed_en: bytes, key: SealingKey) -> None:
    status = validate_sealed_pdf(sealed_en, ca_file=key.ca_file)
    assert status.intact
    assert status.trusted
    assert status.covers_entire_file
    assert status.ok
    assert status.signer_subject == DEV_SUBJECT


def test_seal_is_not_trusted_against_another_ca(sealed_en: bytes, tmp_path: Path) -> None:
    with override_settings(**_seal_settings(tmp_path)):
        ensure_dev_sealing_key()
    status = validate_sealed_pdf(sealed_en, ca_file=tmp_path / "seal-ca.pem")
    assert status.intact
    assert not status.trusted
    assert not status.ok


def test_changing_one_byte_of_a_signed_content_stream_breaks_the_seal(
    sealed_en: bytes, key: SealingKey
) -> None:
    assert sealed_en.count(b"TAMPERMARK") == 1
    tampered = sealed_en.replace(b"TAMPERMARK", b"TAMPERMARX")
    # The change is in page 2's content stream, which still parses: only the seal notices.
    assert "TAMPERMARX" in PdfReader(io.BytesIO(tampered)).pages[1].extract_text()
    status = validate_sealed_pdf(tampered, ca_file=key.ca_file)
    assert not status.intact
    assert not status.ok


def test_an_update_appended_after_the_seal_is_not_covered(sealed_en: bytes, key: SealingKey) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed_en))
    writer.root["/PortalTest"] = generic.NameObject("/Changed")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    status = validate_sealed_pdf(out.getvalue(), ca_file=key.ca_file)
    assert status.intact  # the sealed revision itself is unchanged ...
    assert not status.covers_entire_file  # ... but something came after it
    assert not status.ok


def test_a_pdf_without_the_seal_is_not_intact(inputs: list[InputFile], key: SealingKey) -> None:
    status = validate_sealed_pdf(inputs[0].data, ca_file=key.ca_file)
    assert not status.intact and not status.trusted and not status.covers_entire_file


def test_garbage_is_not_intact(key: SealingKey) -> None:
    assert not validate_sealed_pdf(b"%PDF-1.7\nnot really", ca_file=key.ca_file).intact


# --- The audit trail ------------------------------------------------------------------------------


def test_audit_trail_lists_parties_files_and_history_in_english(
    sealed_en: bytes, inputs: list[InputFile]
) -> None:
    text = _audit_text(sealed_en)
    for heading in ("Audit trail", "Parties", "Files", "History"):
        assert heading in text
    assert "Avtal om bokföring 2026" in text and "SR-2026-0042" in text
    assert "Anna Admin, Alfa Byrå AB" in text
    for party in PARTIES:
        assert party.name in text
        assert party.email in text
        assert party.ip in text
    assert "Signer" in text and "Approver" in text and "Gets a copy" in text
    assert "Code by email" in text and "BankID" in text
    assert "Signed 2026-11-28 12:00:00 CET" in text  # 11:00 UTC, shown in Stockholm time
    assert "Approved 2026-11-28 11:00:00 CET" in text
    assert "No action" in text
    assert "sent to a***@kund.example.se, verified 2026-11-28 11:02" in text
    assert "19800101****" in text
    # The long user agent wraps, but every word of it is there.
    assert all(word in text for word in USER_AGENT.split())
    for item in inputs:
        assert item.name in text
        assert hashlib.sha256(item.data).hexdigest() in text
    for marker in ("HISTORY-SENT", "HISTORY-APPROVED by Łukasz Żółć", "HISTORY-SIGNED by Åsa Ängström"):
        assert marker in text


def test_audit_trail_is_in_swedish_for_a_swedish_request(sealed_sv: bytes, inputs: list[InputFile]) -> None:
    text = _audit_text(sealed_sv)
    assert "Verifikat" in text, "the Swedish catalogue lacks the audit trail's strings: make messages"
    for swedish in (
        "Verifikat",
        "Parter",
        "Filer",
        "Historik",
        "Undertecknare",
        "Godkännare",
        "Får en kopia",
    ):
        assert swedish in text
    assert "Kod via e-post" in text
    assert "Signerade 2026-11-28 12:00:00 CET" in text
    assert "Godkände 2026-11-28 11:00:00 CET" in text
    assert "Ingen åtgärd" in text
    assert "Verifikat, sida 1 av" in text
    for english in ("Audit trail", "Parties", "Approver", "Code by email", "No action", "Attachment"):
        assert english not in text
    for party in PARTIES:
        assert party.name in text and party.ip in text
    for item in inputs:
        assert hashlib.sha256(item.data).hexdigest() in text


def test_many_parties_continue_on_more_audit_pages(key: SealingKey, inputs: list[InputFile]) -> None:
    parties = [
        PartyEvidence(
            name=f"Party {n:02d} Ödmjuk",
            email=f"p{n}@example.se",
            role="signer",
            method="email_code",
            acted_at=T0,
            action="signed",
            ip=f"192.0.2.{n}",
            user_agent=USER_AGENT,
            evidence={"email_code": "verified", "signature": "QUJD" * 200},  # a long unbroken value
        )
        for n in range(1, 31)
    ]
    sealed = build_sealed_pdf(inputs=inputs, audit=_audit("en", parties), key=key)
    audit_pages = _pages_text(sealed)[5:]
    assert len(audit_pages) > 3
    text = "\n".join(audit_pages)
    for party in parties:
        assert party.name in text and party.ip in text
    assert f"page {len(audit_pages)} of {len(audit_pages)}" in audit_pages[-1]
    assert validate_sealed_pdf(sealed, ca_file=key.ca_file).ok


def test_without_the_font_file_the_audit_trail_uses_helvetica(
    key: SealingKey, inputs: list[InputFile], settings: Any, tmp_path: Path
) -> None:
    settings.SIGNING_AUDIT_FONT_FILE = str(tmp_path / "missing.ttf")
    sealed = build_sealed_pdf(inputs=inputs, audit=_audit("en"), key=key)
    text = _audit_text(sealed)
    assert "Åsa Ängström" in text and "Olle Öst" in text
    assert hashlib.sha256(inputs[0].data).hexdigest() in text
    assert {str(font["/BaseFont"]) for font in _audit_fonts(sealed)} == {"/Helvetica"}
    assert validate_sealed_pdf(sealed, ca_file=key.ca_file).ok


def test_the_embedded_font_is_a_subset(sealed_en: bytes) -> None:
    [font] = _audit_fonts(sealed_en)
    assert font["/Subtype"] == "/Type0" and "+DejaVuSans" in str(font["/BaseFont"])
    program = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]["/FontFile2"].get_object()
    assert len(program.get_data()) < 200_000  # the whole DejaVu Sans is 740 kB


def test_an_input_that_is_not_a_pdf_is_refused(key: SealingKey, inputs: list[InputFile]) -> None:
    with pytest.raises(SealingError, match=r"broken\.pdf"):
        build_sealed_pdf(inputs=[inputs[0], InputFile("broken.pdf", b"hello")], audit=_audit("en"), key=key)


# --- An independent validator ---------------------------------------------------------------------


def _pdfsig(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "sealed.pdf"
    path.write_bytes(data)
    result = subprocess.run([PDFSIG, str(path)], capture_output=True, text=True, timeout=60, check=False)
    return result.stdout + result.stderr


@pytest.mark.skipif(
    not Path(PDFSIG).exists(), reason="poppler's pdfsig is not installed (apt-get install poppler-utils)"
)
def test_poppler_pdfsig_accepts_the_seal_and_rejects_a_changed_byte(sealed_en: bytes, tmp_path: Path) -> None:
    report = _pdfsig(sealed_en, tmp_path)
    assert "Signature Field Name: PortalSeal" in report
    assert f"Signer Certificate Common Name: {DEV_SUBJECT}" in report
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert "Total document signed" in report
    assert "Signature Validation: Signature is Valid." in report
    # pdfsig's trust comes from an NSS database, which does not hold the development CA.

    tampered = _pdfsig(sealed_en.replace(b"TAMPERMARK", b"TAMPERMARX"), tmp_path)
    assert "Signature is Valid." not in tampered
    assert "Signature Validation:" in tampered


@pytest.mark.skipif(
    not Path(PDFSIG).exists(), reason="poppler's pdfsig is not installed (apt-get install poppler-utils)"
)
def test_poppler_pdfsig_sees_only_the_new_seal_when_a_sealed_pdf_is_attached(
    key: SealingKey, inputs: list[InputFile], sealed_en: bytes, tmp_path: Path
) -> None:
    resealed = build_sealed_pdf(
        inputs=[inputs[0], InputFile("old.pdf", sealed_en)], audit=_audit("en"), key=key
    )
    report = _pdfsig(resealed, tmp_path)
    assert report.count("Signature #") == 1
    assert "Signature is Valid." in report and "Total document signed" in report


# --- Keys -----------------------------------------------------------------------------------------


@pytest.fixture
def key_folder(tmp_path: Path, settings: Any) -> Iterator[Path]:
    for name, value in _seal_settings(tmp_path).items():
        setattr(settings, name, value)
    yield tmp_path


def test_signing_dev_cert_is_idempotent_and_force_replaces(key_folder: Path) -> None:
    out = io.StringIO()
    call_command("signing_dev_cert", stdout=out)
    assert "Wrote" in out.getvalue()
    files = sorted(key_folder.glob("*.pem"))
    assert [f.name for f in files] == ["seal-ca.pem", "seal-cert.pem", "seal-key.pem"]
    first = {f.name: f.read_bytes() for f in files}
    assert (key_folder / "seal-key.pem").stat().st_mode & 0o077 == 0

    out = io.StringIO()
    call_command("signing_dev_cert", stdout=out)
    assert "Kept the existing" in out.getvalue()
    assert {f.name: f.read_bytes() for f in files} == first

    call_command("signing_dev_cert", "--force", stdout=io.StringIO())
    replaced = {f.name: f.read_bytes() for f in files}
    assert all(replaced[name] != first[name] for name in first)
    assert load_sealing_key().subject == DEV_SUBJECT


def test_dev_certificates_have_ca_and_sealing_extensions(key_folder: Path) -> None:
    ensure_dev_sealing_key()
    ca = x509.load_pem_x509_certificate((key_folder / "seal-ca.pem").read_bytes())
    leaf = x509.load_pem_x509_certificate((key_folder / "seal-cert.pem").read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    purposes = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36") in purposes  # id-kp-documentSigning
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in purposes
    assert leaf.issuer == ca.subject
    assert leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == DEV_SUBJECT


def test_a_passphrase_encrypts_the_dev_key(key_folder: Path, settings: Any) -> None:
    settings.SIGNING_SEAL_KEY_PASSPHRASE = "correct horse"
    ensure_dev_sealing_key()
    assert b"ENCRYPTED PRIVATE KEY" in (key_folder / "seal-key.pem").read_bytes()
    assert load_sealing_key().subject == DEV_SUBJECT
    settings.SIGNING_SEAL_KEY_PASSPHRASE = "wrong"
    with pytest.raises(SealingError, match="Could not load"):
        load_sealing_key()


def test_missing_key_files_name_the_command_that_makes_them(key_folder: Path) -> None:
    with pytest.raises(SealingError, match="signing_dev_cert"):
        load_sealing_key()


def test_an_encrypted_input_is_refused(key: SealingKey, inputs: list[InputFile]) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(SealingError, match="encrypted"):
        build_sealed_pdf(inputs=[InputFile("locked.pdf", out.getvalue())], audit=_audit("en"), key=key)


def test_a_sealed_pdf_can_be_an_attachment_of_a_new_seal(
    key: SealingKey, inputs: list[InputFile], sealed_en: bytes
) -> None:
    """Its old seal no longer covers the new file, so it is dropped rather than shown as broken."""
    resealed = build_sealed_pdf(
        inputs=[inputs[0], InputFile("Tidigare avtal (signerat).pdf", sealed_en)], audit=_audit("en"), key=key
    )
    assert validate_sealed_pdf(resealed, ca_file=key.ca_file).ok
    assert [s.field_name for s in PdfFileReader(io.BytesIO(resealed)).embedded_signatures] == ["PortalSeal"]
    old_seal_page = PdfReader(io.BytesIO(resealed)).pages[3]
    assert [annot["/Subtype"] for annot in _annotations(old_seal_page)] == ["/Stamp"]


def test_a_filled_form_field_keeps_its_look_as_a_stamp(key: SealingKey, inputs: list[InputFile]) -> None:
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    look = StreamObject()
    look.set_data(b"BT /Helv 10 Tf 2 4 Td (FIELDVALUE) Tj ET")
    look.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form")})
    look[NameObject("/BBox")] = ArrayObject(
        [NumberObject(0), NumberObject(0), NumberObject(200), NumberObject(20)]
    )
    widget = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Tx"),
            NameObject("/T"): TextStringObject("Namn"),
            NameObject("/V"): TextStringObject("FIELDVALUE"),
            NameObject("/Rect"): ArrayObject([NumberObject(v) for v in (100, 700, 300, 720)]),
            NameObject("/AP"): DictionaryObject({NameObject("/N"): writer._add_object(look)}),
        }
    )
    widget_ref = writer._add_object(widget)  # pypdf has no public way to add an indirect object
    page[NameObject("/Annots")] = ArrayObject([widget_ref])
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([widget_ref])}
    )
    out = io.BytesIO()
    writer.write(out)

    sealed = build_sealed_pdf(inputs=[InputFile("Formulär.pdf", out.getvalue())], audit=_audit("en"), key=key)
    reader = PdfReader(io.BytesIO(sealed))
    [stamp] = [annot for annot in _annotations(reader.pages[0]) if annot["/Subtype"] != "/Widget"]
    assert stamp["/Subtype"] == "/Stamp" and "/FT" not in stamp and "/V" not in stamp
    assert b"FIELDVALUE" in stamp["/AP"]["/N"].get_data()
    root: Any = reader.trailer["/Root"]
    assert [str(field.get_object()["/T"]) for field in root["/AcroForm"]["/Fields"]] == ["PortalSeal"]
    assert validate_sealed_pdf(sealed, ca_file=key.ca_file).ok


# --- Embedded files -------------------------------------------------------------------------------


def _with_embedded_file(name: str, data: bytes) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    attachment = writer.add_attachment(name, data)
    attachment.subtype = NameObject("/text#2Fxml")
    attachment.description = TextStringObject("Factur-X invoice")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_inputs_embedded_files_are_kept_under_distinct_names(key: SealingKey) -> None:
    invoice = _with_embedded_file("factur-x.xml", b"<Invoice>1</Invoice>")
    other = _with_embedded_file("factur-x.xml", b"<Invoice>2</Invoice>")
    sealed = build_sealed_pdf(
        inputs=[InputFile("Faktura.pdf", invoice), InputFile("Bilaga.pdf", other)],
        audit=_audit("en"),
        key=key,
    )
    reader = PdfReader(io.BytesIO(sealed))
    files = {item.name: item for item in reader.attachment_list}
    assert files["factur-x.xml"].content == b"<Invoice>1</Invoice>"
    assert files["factur-x (2).xml"].content == b"<Invoice>2</Invoice>"
    assert files["factur-x.xml"].description == "Factur-X invoice"
    assert validate_sealed_pdf(sealed, ca_file=key.ca_file).ok


def test_the_audit_trail_is_embedded_as_data(sealed_en: bytes) -> None:
    [record] = PdfReader(io.BytesIO(sealed_en)).attachments["audit.json"]
    data = json.loads(record)
    assert data["title"] == "Avtal om bokföring 2026" and data["reference"] == "SR-2026-0042"
    assert data["completed_at"] == (T0 + timedelta(hours=2)).isoformat()
    assert data["parties"][0] == {
        "name": "Åsa Ängström",
        "role": "signer",
        "method": "email_code",
        "action": "signed",
        "acted_at": (T0 + timedelta(hours=2)).isoformat(),
    }
    assert "asa@kund.example.se" not in record.decode()  # no contact details in the record


def test_a_sealed_input_keeps_its_own_audit_record_under_another_name(
    key: SealingKey, sealed_en: bytes, inputs: list[InputFile]
) -> None:
    sealed = build_sealed_pdf(
        inputs=[inputs[0], InputFile("old.pdf", sealed_en)], audit=_audit("sv"), key=key
    )
    attachments = PdfReader(io.BytesIO(sealed)).attachments
    assert json.loads(attachments["audit.json"][0])["language"] == "sv"
    assert json.loads(attachments["audit (2).json"][0])["language"] == "en"
