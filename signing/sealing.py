"""The final signed PDF: the document and its attachments, an audit trail, and an electronic seal.

Pure: bytes and dataclasses in, bytes out; no models, no database. `build_sealed_pdf` concatenates
the inputs with pypdf, appends the audit trail pages (signing/audit_page.py, in the request's
language), embeds a machine-readable copy of the audit trail (`audit.json`, read back by the Verify
page) and seals the whole file with pyHanko as PAdES B-B. `validate_sealed_pdf` checks a sealed
file against a CA. The key lives in signing/devkeys.py.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import override
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

from signing.audit_page import AuditTrail, InputFile, PartyEvidence, audit_pdf, evidence_file_name
from signing.devkeys import SealingError, SealingKey

# The seal's inputs, and its errors, are part of what this module offers its callers.
__all__ = [
    "AUDIT_RECORD_NAME",
    "SEAL_FIELD",
    "AuditTrail",
    "InputFile",
    "PartyEvidence",
    "SealStatus",
    "SealingError",
    "SealingKey",
    "audit_record",
    "build_sealed_pdf",
    "evidence_file_name",
    "validate_last_signature",
    "validate_sealed_pdf",
]

_T = TypeVar("_T")
logger = logging.getLogger(__name__)

SEAL_FIELD = "PortalSeal"
AUDIT_RECORD_NAME = "audit.json"


@dataclass(frozen=True)
class SealStatus:
    intact: bool  # the signed bytes hash to the signed digest and the CMS signature verifies
    covers_entire_file: bool  # nothing was appended after the seal
    trusted: bool  # the sealing certificate chains to the CA given
    signer_subject: str = ""
    signed_at: datetime | None = None
    field_name: str = ""

    @property
    def ok(self) -> bool:
        return self.intact and self.covers_entire_file and self.trusted


def outside_event_loop(work: Callable[[], _T]) -> _T:
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
        pages = audit_pdf(audit, inputs, [len(r.pages) for r in readers], key.subject)
        audit_heading = _("Audit trail")
        reason = _("Signing completed; sealed by Partnerportalen")
    writer = PdfWriter()
    for item, reader in zip(inputs, readers, strict=True):
        writer.append(reader, outline_item=item.name)
    writer.append(PdfReader(io.BytesIO(pages)), outline_item=audit_heading)
    _freeze_form_fields(writer)
    # Embedded files go in before the seal, which then covers them.
    taken = {AUDIT_RECORD_NAME}
    for index, party in enumerate(audit.parties):
        if party.evidence_file:
            taken.add(evidence_file_name(index, party))
            writer.add_attachment(evidence_file_name(index, party), party.evidence_file)
    writer.add_attachment(AUDIT_RECORD_NAME, json.dumps(audit_record(audit), indent=2).encode())
    for reader in readers:  # pypdf's append leaves the inputs' embedded files (e-invoices) behind
        _copy_embedded_files(reader, writer, taken)
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
    out = outside_event_loop(lambda: signers.PdfSigner(meta, signer=key.signer).sign_pdf(pdf))
    return bytes(out.getvalue())


def audit_record(audit: AuditTrail) -> dict[str, Any]:
    """The audit trail as data, embedded in the sealed file as `audit.json` (covered by the seal)
    for the Verify page and anyone else to read back: no contact details, no evidence."""

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "format": "partnerportalen-audit/1",
        "title": audit.title,
        "reference": audit.reference,
        "language": audit.language,
        "sender": audit.sender,
        "sent_at": when(audit.sent_at),
        "completed_at": when(audit.completed_at),
        "parties": [
            {
                "name": p.name,
                "role": p.role,
                "method": p.method,
                "action": p.action,
                "acted_at": when(p.acted_at),
            }
            for p in audit.parties
        ],
    }


def _copy_embedded_files(reader: PdfReader, writer: PdfWriter, taken: set[str]) -> None:
    """The embedded files of an input, with their type, description and PDF/A-3 relationship, under
    a name no other embedded file has (an input sealed before has its own `audit.json`)."""
    for item in reader.attachment_list:
        stem, dot, suffix = item.name.rpartition(".")
        name, number = item.name, 1
        while name in taken:
            number += 1
            name = f"{stem} ({number}).{suffix}" if dot else f"{item.name} ({number})"
        taken.add(name)
        copy = writer.add_attachment(name, item.content)
        for attribute in ("subtype", "description", "associated_file_relationship"):
            value = getattr(item, attribute)
            if value is not None:
                setattr(copy, attribute, value)


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
        return _check(seal, ca_file)
    except Exception:  # any parse or crypto failure means the seal does not hold
        logger.warning("Seal validation failed", exc_info=True)
        return SealStatus(intact=False, covers_entire_file=False, trusted=False)


def validate_last_signature(data: bytes, *, ca_file: Path | str) -> SealStatus | None:
    """The portal's seal in `data`, or the file's last signature when it has no seal of ours,
    checked against the CA in `ca_file`; None when the file has no signature at all. Raises
    SealingError when `data` is not a PDF pyHanko can read."""
    try:
        signatures = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
    except Exception as exc:  # pyHanko raises many types for bad input
        raise SealingError("not a readable PDF") from exc
    if not signatures:
        return None
    seal = next((s for s in signatures if s.field_name == SEAL_FIELD), signatures[-1])
    try:
        return _check(seal, ca_file)
    except Exception:  # a signature too damaged to check is one whose bytes were changed
        logger.warning("Signature validation failed", exc_info=True)
        return SealStatus(intact=False, covers_entire_file=False, trusted=False, field_name=seal.field_name)


def _check(seal: Any, ca_file: Path | str) -> SealStatus:
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(ca_file))], allow_fetching=False)
    status = outside_event_loop(lambda: validate_pdf_signature(seal, context))
    return SealStatus(
        intact=bool(status.intact and status.valid),
        covers_entire_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        trusted=bool(status.trusted),
        signer_subject=str(status.signing_cert.subject.native.get("common_name", "")),
        signed_at=status.signer_reported_dt,
        field_name=seal.field_name,
    )
