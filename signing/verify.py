"""What the public Verify page says about an uploaded PDF: sealed by this portal and intact, or
exactly why not. Pure: bytes in, a verdict out; nothing is stored.

The seal is checked with pyHanko against this portal's sealing CA (sealing.validate_last_signature).
Who signed, how and when comes from the audit record the seal embeds (`audit.json`, covered by the
seal), read only when the seal holds; files sealed before the record existed are still verified by
their signature, and their audit trail pages list the parties.
"""

from __future__ import annotations

import enum
import io
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from signing import sealing

logger = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    INTACT = "intact"  # sealed by this portal, not changed since
    CHANGED = "changed"  # the signed bytes no longer match the seal's digest
    APPENDED = "appended"  # the seal holds for its bytes, but more was added after it
    OTHER = "other"  # a signature by a certificate this portal did not issue
    UNSEALED = "unsealed"  # a PDF without any signature
    UNREADABLE = "unreadable"  # not a PDF, or too damaged to read


@dataclass(frozen=True)
class SignedParty:
    name: str
    role: str  # signer | approver | viewer
    method: str  # email_code | bankid
    action: str  # signed | approved | ""
    acted_at: datetime | None


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    signer_subject: str = ""  # the certificate's name (ours, or the other signer's)
    sealed_at: datetime | None = None
    title: str = ""
    reference: str = ""
    completed_at: datetime | None = None
    parties: tuple[SignedParty, ...] = field(default=())
    has_record: bool = False  # False for files sealed before the audit record was embedded

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.INTACT


def verify_pdf(data: bytes, *, ca_file: Path | str) -> Verdict:
    """The verdict on `data` against the portal's sealing CA in `ca_file`."""
    if b"%PDF-" not in data[:1024]:
        return Verdict(Outcome.UNREADABLE)
    try:
        status = sealing.validate_last_signature(data, ca_file=ca_file)
    except sealing.SealingError:
        return Verdict(Outcome.UNREADABLE)
    if status is None:
        return Verdict(Outcome.UNSEALED)
    if not status.intact:
        return Verdict(Outcome.CHANGED, signer_subject=status.signer_subject)
    if not status.trusted:
        return Verdict(Outcome.OTHER, signer_subject=status.signer_subject, sealed_at=status.signed_at)
    if not status.covers_entire_file:
        return Verdict(Outcome.APPENDED, signer_subject=status.signer_subject, sealed_at=status.signed_at)
    record = _audit_record(data)
    if record is None:
        return Verdict(Outcome.INTACT, signer_subject=status.signer_subject, sealed_at=status.signed_at)
    return Verdict(
        Outcome.INTACT,
        signer_subject=status.signer_subject,
        sealed_at=status.signed_at,
        title=str(record.get("title", "")),
        reference=str(record.get("reference", "")),
        completed_at=_when(record.get("completed_at")),
        parties=tuple(
            SignedParty(
                name=str(p.get("name", "")),
                role=str(p.get("role", "")),
                method=str(p.get("method", "")),
                action=str(p.get("action", "")),
                acted_at=_when(p.get("acted_at")),
            )
            for p in record.get("parties", [])
            if isinstance(p, dict)
        ),
        has_record=True,
    )


def _audit_record(data: bytes) -> dict[str, Any] | None:
    """The sealed file's own audit record. Called only once the seal covers the entire file, so
    every embedded file is covered too; the seal's record comes first under its name (an input
    sealed earlier keeps its record under another name, see sealing._copy_embedded_files)."""
    try:
        contents = PdfReader(io.BytesIO(data)).attachments.get(sealing.AUDIT_RECORD_NAME) or []
        record = json.loads(contents[0]) if contents else None
    except Exception:  # pypdf and json raise many types for odd input; the seal already held
        logger.warning("Cannot read the audit record of a sealed PDF", exc_info=True)
        return None
    return record if isinstance(record, dict) else None


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
