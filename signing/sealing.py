"""The final signed PDF: the document and its attachments, an audit trail, and an electronic seal.

Pure: bytes and dataclasses in, bytes out; no models, no database. `build_sealed_pdf` concatenates
the inputs with pypdf, appends audit trail pages drawn here (in the request's language), and seals
the whole file with pyHanko as PAdES B-B. `validate_sealed_pdf` checks a sealed file against a CA.

The audit pages embed DejaVu Sans (a glyph subset made here, since fontTools is not installed) so
any name prints as written; without the font file they fall back to Helvetica in WinAnsiEncoding,
which covers Swedish and Western European text.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import logging
import os
import re
import struct
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, NumberObject, RectangleObject, StreamObject

_T = TypeVar("_T")
logger = logging.getLogger(__name__)

SEAL_FIELD = "PortalSeal"
DEV_SUBJECT = "Partnerportalen sealing (development)"
DEFAULT_FONT_FILE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


class SealingError(Exception):
    """An input is not a readable PDF, or the sealing key cannot be loaded."""


@dataclass(frozen=True)
class PartyEvidence:
    name: str
    email: str
    role: str  # signer | approver | viewer
    method: str  # email_code | bankid
    acted_at: datetime | None
    action: str  # signed | approved | ""
    ip: str
    user_agent: str
    evidence: dict[str, str] = field(default_factory=dict)
    # The method's raw proof (BankID's completionData as JSON), embedded in the sealed file as an
    # attachment of its own, so that the seal covers it and anyone can check it later.
    evidence_file: bytes = b""


@dataclass(frozen=True)
class InputFile:
    name: str
    data: bytes


@dataclass(frozen=True)
class AuditTrail:
    title: str
    reference: str
    language: str  # sv | en
    sender: str
    sent_at: datetime
    completed_at: datetime
    parties: Sequence[PartyEvidence]
    history: Sequence[tuple[datetime, str]]


@dataclass(frozen=True)
class SealingKey:
    signer: signers.SimpleSigner
    ca_file: Path

    @property
    def subject(self) -> str:
        cert = self.signer.signing_cert
        return str(cert.subject.native.get("common_name", "")) if cert is not None else ""


@dataclass(frozen=True)
class SealStatus:
    intact: bool  # the signed bytes hash to the signed digest and the CMS signature verifies
    covers_entire_file: bool  # nothing was appended after the seal
    trusted: bool  # the sealing certificate chains to the CA given
    signer_subject: str = ""
    signed_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.intact and self.covers_entire_file and self.trusted


# --- Keys ---------------------------------------------------------------------------------------


def seal_key_paths() -> tuple[Path, Path, Path]:
    """The (key, certificate, CA certificate) files the settings point at."""
    folder = Path(settings.VAR_DIR) / "signing"
    return (
        Path(getattr(settings, "SIGNING_SEAL_KEY_FILE", folder / "seal-key.pem")),
        Path(getattr(settings, "SIGNING_SEAL_CERT_FILE", folder / "seal-cert.pem")),
        Path(getattr(settings, "SIGNING_SEAL_CA_FILE", folder / "seal-ca.pem")),
    )


def _passphrase() -> bytes | None:
    value = getattr(settings, "SIGNING_SEAL_KEY_PASSPHRASE", "") or ""
    return value.encode() if value else None


def load_sealing_key() -> SealingKey:
    key_file, cert_file, ca_file = seal_key_paths()
    missing = [str(p) for p in (key_file, cert_file, ca_file) if not p.is_file()]
    if missing:
        raise SealingError(
            f"Sealing key files missing: {', '.join(missing)} (development: manage.py signing_dev_cert)"
        )
    signer = signers.SimpleSigner.load(
        str(key_file), str(cert_file), ca_chain_files=(str(ca_file),), key_passphrase=_passphrase()
    )
    if signer is None:  # pyHanko logs the cause and returns None
        raise SealingError(f"Could not load the sealing key {key_file} with certificate {cert_file}")
    return SealingKey(signer=signer, ca_file=ca_file)


def ensure_dev_sealing_key(*, force: bool = False) -> bool:
    """Make a development CA and a sealing certificate and key where the settings point, unless all
    three files exist (or `force`). Returns whether files were written. The CA's private key is
    not kept: a new certificate means a new CA, so nothing can issue more certificates under it."""
    key_file, cert_file, ca_file = seal_key_paths()
    if not force and all(p.is_file() for p in (key_file, cert_file, ca_file)):
        return False
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    ca_name = pyca_x509.Name(
        [
            pyca_x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
            pyca_x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Partnerportalen (development)"),
            pyca_x509.NameAttribute(NameOID.COMMON_NAME, "Partnerportalen development CA"),
        ]
    )
    ca_cert = (
        pyca_x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(pyca_x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(pyca_x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(pyca_x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    subject = pyca_x509.Name(
        [
            pyca_x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
            pyca_x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Partnerportalen (development)"),
            pyca_x509.NameAttribute(NameOID.COMMON_NAME, DEV_SUBJECT),
        ]
    )
    cert = (
        pyca_x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(pyca_x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=3 * 365))
        .add_extension(pyca_x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        # id-kp-documentSigning (RFC 9336), and emailProtection, which NSS (poppler's pdfsig) and
        # Acrobat accept for document signatures.
        .add_extension(
            pyca_x509.ExtendedKeyUsage(
                [pyca_x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"), ExtendedKeyUsageOID.EMAIL_PROTECTION]
            ),
            critical=False,
        )
        .add_extension(pyca_x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            pyca_x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    passphrase = _passphrase()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    for path in (key_file, cert_file, ca_file):
        path.parent.mkdir(parents=True, exist_ok=True)
    _write(key_file, key_pem, mode=0o600)
    _write(cert_file, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    _write(ca_file, ca_cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return True


def _key_usage(*, cert_sign: bool) -> pyca_x509.KeyUsage:
    return pyca_x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,  # nonRepudiation: pyHanko requires it of a signer
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write(path: Path, data: bytes, *, mode: int) -> None:
    """Write via a temporary file and a rename, so a reader never sees half a key."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


# --- Sealing ------------------------------------------------------------------------------------


def _outside_event_loop(work: Callable[[], _T]) -> _T:
    """pyHanko's synchronous calls use asyncio.run, which refuses to run in a thread that already
    has a running event loop (an async view, or a test process driving a browser). There, do the
    work in a short-lived thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def build_sealed_pdf(*, inputs: Sequence[InputFile], audit: AuditTrail, key: SealingKey) -> bytes:
    """The inputs (the document first) followed by the audit trail, sealed with `key`.
    Raises SealingError when an input is not a readable, unencrypted PDF."""
    if not inputs:
        raise SealingError("Nothing to seal")
    readers = [_read_input(item) for item in inputs]
    with override(audit.language):
        audit_pdf = _audit_pdf(audit, inputs, [len(r.pages) for r in readers], key.subject)
        audit_heading = _("Audit trail")
        reason = _("Signing completed; sealed by Partnerportalen")
    writer = PdfWriter()
    for item, reader in zip(inputs, readers, strict=True):
        writer.append(reader, outline_item=item.name)
    writer.append(PdfReader(io.BytesIO(audit_pdf)), outline_item=audit_heading)
    _freeze_form_fields(writer)
    for index, party in enumerate(audit.parties):
        if party.evidence_file:  # before the seal, which then covers it
            writer.add_attachment(evidence_file_name(index, party), party.evidence_file)
    writer.add_metadata({"/Title": audit.title, "/Subject": audit.reference})
    merged = io.BytesIO()
    writer.write(merged)

    pdf = IncrementalPdfFileWriter(io.BytesIO(merged.getvalue()))
    fields.append_signature_field(pdf, fields.SigFieldSpec(sig_field_name=SEAL_FIELD))
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=reason,
        location=getattr(settings, "PORTAL_BASE_URL", "") or None,
    )
    out = _outside_event_loop(lambda: signers.PdfSigner(meta, signer=key.signer).sign_pdf(pdf))
    return bytes(out.getvalue())


def evidence_file_name(index: int, party: PartyEvidence) -> str:
    """The embedded evidence file's name: the party's place in the list and an ASCII form of its name."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", party.name.encode("ascii", "ignore").decode()).strip("-")
    return f"evidence-{index + 1}-{party.method}-{stem or 'party'}.json"


def _freeze_form_fields(writer: PdfWriter) -> None:
    """Turn the inputs' form fields into stamps that look as they did, and drop the form.

    The sealed copy is final, and a signature an input carried no longer covers the bytes it
    signed: left as a signature field, viewers and validators would report it as broken."""
    for page in writer.pages:
        for ref in _resolve(page.get("/Annots")) or ():
            annot = _resolve(ref)
            if not isinstance(annot, DictionaryObject) or annot.get("/Subtype") != "/Widget":
                continue
            rect, appearance = annot.get("/Rect"), _resolve(annot.get("/AP"))
            normal = appearance.get("/N") if isinstance(appearance, DictionaryObject) else None
            states = _resolve(normal)
            if isinstance(states, DictionaryObject) and not isinstance(states, StreamObject):
                normal = states.get(annot.get("/AS"))  # a check box: the state shown
            if not isinstance(_resolve(normal), StreamObject):
                normal = None
            annot.clear()
            annot[NameObject("/Type")] = NameObject("/Annot")
            annot[NameObject("/Subtype")] = NameObject("/Stamp")
            annot[NameObject("/F")] = NumberObject(4 if normal is not None else 2)  # print, or hidden
            annot[NameObject("/Rect")] = rect if rect is not None else RectangleObject((0, 0, 0, 0))
            if normal is not None:
                annot[NameObject("/AP")] = DictionaryObject({NameObject("/N"): normal})
    writer.root_object.pop("/AcroForm", None)


def _resolve(value: Any) -> Any:
    return value.get_object() if value is not None else None


def _read_input(item: InputFile) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(item.data))
        encrypted = reader.is_encrypted
        pages = 0 if encrypted else len(reader.pages)
    except Exception as exc:  # pypdf raises many types for bad input (see RECIPES.md)
        raise SealingError(f"{item.name}: not a readable PDF") from exc
    if encrypted:
        raise SealingError(f"{item.name}: encrypted PDFs cannot be sealed")
    if not pages:
        raise SealingError(f"{item.name}: the PDF has no pages")
    return reader


def validate_sealed_pdf(data: bytes, *, ca_file: Path | str) -> SealStatus:
    """Check the portal's seal in `data` against the CA certificate in `ca_file` (no network).
    A file without the seal, or one too damaged to parse, is reported as not intact."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        seal = next((s for s in reader.embedded_signatures if s.field_name == SEAL_FIELD), None)
        if seal is None:
            return SealStatus(intact=False, covers_entire_file=False, trusted=False)
        context = ValidationContext(trust_roots=[load_cert_from_pemder(str(ca_file))], allow_fetching=False)
        status = _outside_event_loop(lambda: validate_pdf_signature(seal, context))
    except Exception:  # any parse or crypto failure means the seal does not hold
        logger.warning("Seal validation failed", exc_info=True)
        return SealStatus(intact=False, covers_entire_file=False, trusted=False)
    return SealStatus(
        intact=bool(status.intact and status.valid),
        covers_entire_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        trusted=bool(status.trusted),
        signer_subject=str(status.signing_cert.subject.native.get("common_name", "")),
        signed_at=status.signer_reported_dt,
    )


# --- Audit trail content ------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4
MARGIN = 56
LABEL_WIDTH = 136
BLUE = (0.13, 0.33, 0.55)
GREY = (0.35, 0.35, 0.35)
BLACK = (0.0, 0.0, 0.0)


@dataclass
class _Line:
    segments: list[tuple[float, str]]  # (x, text)
    size: float
    colour: tuple[float, float, float] = BLACK
    space_before: float = 0
    keep_with_next: int = 0  # start a new page unless this many following lines fit too


def _when(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")


def _audit_lines(
    audit: AuditTrail, inputs: Sequence[InputFile], page_counts: Sequence[int], seal_subject: str, font: _Font
) -> list[_Line]:
    lines: list[_Line] = []
    text_width = PAGE_WIDTH - 2 * MARGIN

    def heading(text: str, size: float = 12, space: float = 14) -> None:
        lines.append(_Line([(MARGIN, text)], size, BLUE, space, keep_with_next=2))

    def paragraph(text: str, *, size: float = 9, colour: tuple[float, float, float] = BLACK) -> None:
        for i, part in enumerate(_wrap(text, text_width, font, size)):
            lines.append(_Line([(MARGIN, part)], size, colour, 4 if i == 0 else 0))

    def row(label: str, value: str, indent: float = 0) -> None:
        x = MARGIN + indent + LABEL_WIDTH
        if font.width(label, 9) > LABEL_WIDTH - 6:  # a long label gets a line of its own
            lines.append(_Line([(MARGIN + indent, label)], 9, keep_with_next=1))
            label = ""
        for i, part in enumerate(_wrap(value, PAGE_WIDTH - MARGIN - x, font, 9)):
            segments = [(MARGIN + indent, label), (x, part)] if i == 0 and label else [(x, part)]
            lines.append(_Line(segments, 9))

    roles = {"signer": _("Signer"), "approver": _("Approver"), "viewer": _("Gets a copy")}
    methods = {"email_code": _("Code by email"), "bankid": _("BankID")}
    evidence_labels = {
        "email_code": _("Code by email"),
        "bankid": _("BankID"),
        "bankid_issued": _("BankID issued"),
        "bankid_device": _("Device IP address"),
        "bankid_order": _("BankID order"),
    }

    lines.append(_Line([(MARGIN, _("Audit trail"))], 18, BLUE))
    paragraph(audit.title, size=11)
    heading(_("Summary"))
    row(_("Document"), audit.title)
    row(_("Reference"), audit.reference)
    row(_("Sent by"), audit.sender)
    row(_("Sent"), _when(audit.sent_at))
    row(_("Completed"), _when(audit.completed_at))
    row(_("Electronic seal"), seal_subject)

    heading(_("Parties"))
    for index, party in enumerate(audit.parties):
        lines.append(_Line([(MARGIN, party.name)], 10, BLACK, 8, keep_with_next=3))
        if party.action == "signed" and party.acted_at:
            action = _("Signed %(time)s") % {"time": _when(party.acted_at)}
        elif party.action == "approved" and party.acted_at:
            action = _("Approved %(time)s") % {"time": _when(party.acted_at)}
        else:
            action = _("No action")
        row(_("Email"), party.email, 8)
        row(_("Role"), roles.get(party.role, party.role), 8)
        row(_("Method"), methods.get(party.method, party.method), 8)
        row(_("Action"), action, 8)
        row(_("IP address"), party.ip or "–", 8)
        row(_("User agent"), party.user_agent or "–", 8)
        for name, value in party.evidence.items():
            row(evidence_labels.get(name, name), value, 8)
        if party.evidence_file:
            row(_("Evidence file"), evidence_file_name(index, party), 8)

    heading(_("Files"))
    for index, (item, pages) in enumerate(zip(inputs, page_counts, strict=True)):
        kind = _("Document") if index == 0 else _("Attachment")
        count = ngettext("%(count)d page", "%(count)d pages", pages) % {"count": pages}
        lines.append(_Line([(MARGIN, f"{item.name} ({kind}, {count})")], 10, BLACK, 8, keep_with_next=1))
        # On a line of its own: a checksum must never wrap.
        lines.append(_Line([(MARGIN + 8, f"SHA-256 {hashlib.sha256(item.data).hexdigest()}")], 9))

    heading(_("History"))
    for when, text in audit.history:
        row(_when(when), text)

    lines.append(_Line([], 9, space_before=10))
    paragraph(
        _(
            "This audit trail is part of the sealed file. The electronic seal covers every page of the "
            "file; any change made after sealing breaks it, which PDF readers show. The SHA-256 "
            "checksums identify each file exactly as it was sent for signing."
        ),
        size=8,
        colour=GREY,
    )
    return lines


def _audit_pdf(
    audit: AuditTrail, inputs: Sequence[InputFile], page_counts: Sequence[int], seal_subject: str
) -> bytes:
    """The audit trail as a PDF of its own (A4 pages), to be appended to the inputs."""
    font = _font()
    lines = _audit_lines(audit, inputs, page_counts, seal_subject, font)
    top, bottom = PAGE_HEIGHT - MARGIN, MARGIN + 30
    pages: list[list[tuple[float, _Line]]] = [[]]
    y: float = top
    for index, line in enumerate(lines):
        needed = sum(_leading(ln) for ln in lines[index : index + 1 + line.keep_with_next])
        if pages[-1] and y - line.space_before - needed < bottom:
            pages.append([])
            y = top
        y -= (line.space_before if pages[-1] else 0) + _leading(line)
        pages[-1].append((y, line))

    streams = []
    for number, placed in enumerate(pages, start=1):
        ops: list[bytes] = []
        for line_y, line in placed:
            ops.append(b"%.2f %.2f %.2f rg" % line.colour)
            for x, text in line.segments:
                ops.append(b"BT /F1 %.1f Tf %.2f %.2f Td %s Tj ET" % (line.size, x, line_y, font.show(text)))
        footer = _("%(reference)s · Audit trail, page %(page)d of %(count)d") % {
            "reference": audit.reference,
            "page": number,
            "count": len(pages),
        }
        ops.append(b"%.2f %.2f %.2f rg" % GREY)
        ops.append(b"BT /F1 8.0 Tf %.2f %.2f Td %s Tj ET" % (MARGIN, MARGIN - 16, font.show(footer)))
        streams.append(b"\n".join(ops))
    return _write_pdf(streams, font)


def _leading(line: _Line) -> float:
    return line.size * 1.35


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _wrap(text: str, width: float, font: _Font, size: float) -> list[str]:
    """`text` in lines no wider than `width`, broken at spaces; longer words break anywhere."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in _CONTROL.sub(" ", paragraph).split(" "):
            candidate = f"{line} {word}" if line else word
            if font.width(candidate, size) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while font.width(word, size) > width:
                cut, used = 1, font.width(word[0], size)
                while used + font.width(word[cut], size) <= width:
                    used += font.width(word[cut], size)
                    cut += 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


# --- Fonts and the PDF writer -------------------------------------------------------------------


class _Font:
    """Helvetica in WinAnsiEncoding: no font file, and pypdf extracts its text directly."""

    def width(self, text: str, size: float) -> float:
        # Helvetica's widths, coarsely: exact enough for wrapping with a little slack.
        units = sum(
            278 if ch in " .,:;!|'ilIjft[]()/" else 722 if ch.isupper() or ch in "mwMW@%" else 556
            for ch in text
        )
        return units * size / 1000

    def show(self, text: str) -> bytes:
        out = bytearray(b"(")
        for byte in text.encode("cp1252", errors="replace"):
            out += b"\\%03o" % byte if byte in b"()\\" or not 0x20 <= byte <= 0x7E else bytes([byte])
        return bytes(out + b")")

    def objects(self, pdf: _PdfObjects) -> int:
        return pdf.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")


def _font() -> _Font:
    path = getattr(settings, "SIGNING_AUDIT_FONT_FILE", DEFAULT_FONT_FILE)
    if path and Path(path).is_file():
        try:
            return _EmbeddedFont(_parse_truetype(str(path)), re.sub(r"[^A-Za-z0-9-]", "", Path(path).stem))
        except (struct.error, KeyError, ValueError, IndexError):
            logger.warning("Cannot use %s for audit trails; using Helvetica", path, exc_info=True)
    return _Font()


@dataclass(frozen=True)
class _TrueType:
    data: bytes
    tables: dict[str, tuple[int, int]]  # tag -> (offset, length)
    units_per_em: int
    bbox: tuple[int, int, int, int]
    ascent: int
    descent: int
    cmap: dict[int, int]  # code point -> glyph id
    advances: tuple[int, ...]  # per glyph id
    loca: tuple[int, ...]  # glyph offsets into glyf, one more than glyphs

    def table(self, tag: str) -> bytes:
        offset, length = self.tables[tag]
        return self.data[offset : offset + length]

    def glyph(self, gid: int) -> bytes:
        offset = self.tables["glyf"][0]
        return self.data[offset + self.loca[gid] : offset + self.loca[gid + 1]]


@functools.lru_cache(maxsize=2)
def _parse_truetype(path: str) -> _TrueType:
    data = Path(path).read_bytes()
    count = struct.unpack_from(">H", data, 4)[0]
    tables = {}
    for i in range(count):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        tables[tag.decode("latin-1")] = (offset, length)
    head, hhea = tables["head"][0], tables["hhea"][0]
    units_per_em = struct.unpack_from(">H", data, head + 18)[0]
    bbox = struct.unpack_from(">4h", data, head + 36)
    long_loca = struct.unpack_from(">h", data, head + 50)[0] == 1
    ascent, descent = struct.unpack_from(">hh", data, hhea + 4)
    metrics = struct.unpack_from(">H", data, hhea + 34)[0]
    glyphs = struct.unpack_from(">H", data, tables["maxp"][0] + 4)[0]
    hmtx = tables["hmtx"][0]
    advances = [struct.unpack_from(">H", data, hmtx + 4 * i)[0] for i in range(metrics)]
    advances += [advances[-1]] * (glyphs - metrics)
    loca_at = tables["loca"][0]
    if long_loca:
        loca = struct.unpack_from(f">{glyphs + 1}I", data, loca_at)
    else:
        loca = tuple(2 * v for v in struct.unpack_from(f">{glyphs + 1}H", data, loca_at))
    return _TrueType(
        data, tables, units_per_em, bbox, ascent, descent, _parse_cmap(data, tables["cmap"][0]),
        tuple(advances), tuple(loca),
    )  # fmt: skip


def _parse_cmap(data: bytes, at: int) -> dict[int, int]:
    """Unicode -> glyph id from the (3,10) format 12 subtable, else the (3,1) format 4 one."""
    count = struct.unpack_from(">H", data, at + 2)[0]
    subtables = {}
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", data, at + 4 + 8 * i)
        subtables[(platform, encoding)] = at + offset
    cmap: dict[int, int] = {}
    if (sub := subtables.get((3, 10))) is not None and struct.unpack_from(">H", data, sub)[0] == 12:
        for g in range(struct.unpack_from(">I", data, sub + 12)[0]):
            start, end, gid = struct.unpack_from(">III", data, sub + 16 + 12 * g)
            cmap.update((code, gid + code - start) for code in range(start, end + 1))
        return cmap
    sub = subtables[(3, 1)]
    segments = struct.unpack_from(">H", data, sub + 6)[0] // 2
    ends_at = sub + 14
    starts_at = ends_at + 2 * segments + 2
    deltas_at, ranges_at = starts_at + 2 * segments, starts_at + 4 * segments
    for i in range(segments):
        end, start = (struct.unpack_from(">H", data, a + 2 * i)[0] for a in (ends_at, starts_at))
        delta, range_offset = struct.unpack_from(">h", data, deltas_at + 2 * i)[0], ranges_at + 2 * i
        offset = struct.unpack_from(">H", data, range_offset)[0]
        for code in range(start, min(end, 0xFFFE) + 1):
            if offset == 0:
                gid = (code + delta) & 0xFFFF
            else:
                gid = struct.unpack_from(">H", data, range_offset + offset + 2 * (code - start))[0]
                gid = (gid + delta) & 0xFFFF if gid else 0
            if gid:
                cmap[code] = gid
    return cmap


def _components(glyph: bytes) -> list[int]:
    """The glyph ids a composite glyph is built from (å may be a + ring)."""
    if len(glyph) < 10 or struct.unpack_from(">h", glyph, 0)[0] >= 0:
        return []
    out, pos = [], 10
    while True:
        flags, gid = struct.unpack_from(">HH", glyph, pos)
        out.append(gid)
        pos += 4 + (4 if flags & 0x0001 else 2)
        pos += 2 if flags & 0x0008 else 4 if flags & 0x0040 else 8 if flags & 0x0080 else 0
        if not flags & 0x0020:
            return out


class _EmbeddedFont(_Font):
    """A TrueType font embedded as a Type0/CIDFontType2 font (Identity-H, CID = glyph id) with
    only the glyphs used kept, and a ToUnicode map so the text can be extracted and searched."""

    def __init__(self, font: _TrueType, name: str) -> None:
        self.font, self.name = font, name or "Font"
        self.used: dict[int, str] = {}  # glyph id -> the character it shows
        self.fallback = font.cmap.get(ord("?"), 0)

    def width(self, text: str, size: float) -> float:
        advances, cmap = self.font.advances, self.font.cmap
        return sum(advances[cmap.get(ord(ch), self.fallback)] for ch in text) * size / self.font.units_per_em

    def show(self, text: str) -> bytes:
        gids = []
        for ch in text:
            gid = self.font.cmap.get(ord(ch), self.fallback)
            self.used.setdefault(gid, ch if gid != self.fallback else "?")
            gids.append(gid)
        return b"<" + b"".join(b"%04X" % g for g in gids) + b">"

    def objects(self, pdf: _PdfObjects) -> int:
        tt, scale = self.font, 1000 / self.font.units_per_em
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(repr(sorted(self.used)).encode()).digest()[:6])
        name = f"{tag}+{self.name}".encode()
        program = self._subset()
        file_ref = pdf.add_stream(program, b"/Length1 %d" % len(program))
        bbox = b" ".join(b"%d" % round(v * scale) for v in tt.bbox)
        ascent, descent = round(tt.ascent * scale), round(tt.descent * scale)
        descriptor = pdf.add(
            b"<< /Type /FontDescriptor /FontName /%s /Flags 32 /FontBBox [%s] /ItalicAngle 0 /Ascent %d "
            b"/Descent %d /CapHeight %d /StemV 80 /FontFile2 %d 0 R >>"
            % (name, bbox, ascent, descent, ascent, file_ref)
        )
        widths = b" ".join(b"%d [%d]" % (g, round(tt.advances[g] * scale)) for g in sorted(self.used))
        cid_font = pdf.add(
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /%s /CIDSystemInfo << /Registry (Adobe) "
            b"/Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /W [%s] /CIDToGIDMap /Identity >>"
            % (name, descriptor, widths)
        )
        to_unicode = pdf.add_stream(self._to_unicode())
        return pdf.add(
            b"<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H /DescendantFonts [%d 0 R] "
            b"/ToUnicode %d 0 R >>" % (name, cid_font, to_unicode)
        )

    def _to_unicode(self) -> bytes:
        entries = [
            b"<%04X> <%s>" % (gid, ch.encode("utf-16-be").hex().upper().encode())
            for gid, ch in sorted(self.used.items())
        ]
        blocks = b"".join(
            b"%d beginbfchar\n%s\nendbfchar\n" % (len(chunk), b"\n".join(chunk))
            for chunk in (entries[i : i + 100] for i in range(0, len(entries), 100))
        )
        return (
            b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            b"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            b"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + blocks + b"endcmap\n"
            b"CMapName currentdict /CMap defineresource pop\nend\nend\n"
        )

    def _subset(self) -> bytes:
        """The font with every glyph not used emptied (glyph ids stay as they are)."""
        tt = self.font
        keep, todo = {0, *self.used}, [0, *self.used]
        while todo:
            for gid in _components(tt.glyph(todo.pop())):
                if gid not in keep:
                    keep.add(gid)
                    todo.append(gid)
        glyf, loca = bytearray(), []
        for gid in range(len(tt.loca) - 1):
            loca.append(len(glyf))
            if gid in keep:
                glyf += tt.glyph(gid)
                glyf += b"\0" * (-len(glyf) % 4)
        loca.append(len(glyf))
        head = bytearray(tt.table("head"))
        head[8:12] = b"\0\0\0\0"  # checkSumAdjustment, set below
        head[50:52] = struct.pack(">h", 1)  # long loca offsets
        kept = ("hhea", "hmtx", "maxp", "cvt ", "fpgm", "prep", "name", "OS/2")
        tables = {tag: tt.table(tag) for tag in kept if tag in tt.tables}
        tables |= {"head": bytes(head), "glyf": bytes(glyf), "loca": struct.pack(f">{len(loca)}I", *loca)}
        return _sfnt(tables)


def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def _sfnt(tables: dict[str, bytes]) -> bytes:
    tags = sorted(tables)
    selector = len(tags).bit_length() - 1
    out = bytearray(struct.pack(">IHHHH", 0x00010000, len(tags), 16 << selector, selector,
                                16 * len(tags) - (16 << selector)))  # fmt: skip
    offset, body, head_at = 12 + 16 * len(tags), bytearray(), 0
    for tag in tags:
        data = tables[tag]
        if tag == "head":
            head_at = offset + len(body)
        out += struct.pack(">4sIII", tag.encode("latin-1"), _checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    out += body
    out[head_at + 8 : head_at + 12] = struct.pack(">I", (0xB1B0AFBA - _checksum(bytes(out))) & 0xFFFFFFFF)
    return bytes(out)


class _PdfObjects:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def add(self, body: bytes) -> int:
        self.bodies.append(body)
        return len(self.bodies)

    def add_stream(self, data: bytes, extra: bytes = b"") -> int:
        packed = zlib.compress(data, 9)
        return self.add(
            b"<< /Length %d /Filter /FlateDecode %s >>\nstream\n%s\nendstream" % (len(packed), extra, packed)
        )


def _write_pdf(streams: Sequence[bytes], font: _Font) -> bytes:
    pdf = _PdfObjects()
    catalog = pdf.add(b"")  # filled in once the page tree's number is known
    contents = [pdf.add_stream(stream) for stream in streams]
    font_ref = font.objects(pdf)  # after the streams: they decide which glyphs the subset keeps
    tree = len(pdf.bodies) + len(streams) + 1
    pages = [
        pdf.add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R >> >> "
            b"/Contents %d 0 R >>" % (tree, PAGE_WIDTH, PAGE_HEIGHT, font_ref, content)
        )
        for content in contents
    ]
    kids = b" ".join(b"%d 0 R" % p for p in pages)
    pdf.add(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)))
    pdf.bodies[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % tree
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(pdf.bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(offsets) + 1,
        catalog,
        xref,
    )
    return bytes(out)
