"""Evidence assembly: the sealed PDF of a completed signing, built from its stored files, the
parties' evidence and its history (signing.sealing does the PDF work; the seal task stores it)."""

from __future__ import annotations

import json

from django.utils import timezone, translation

from documents import storage
from signing import devkeys, sealing, selectors
from signing.methods import method_for
from signing.models import SigningRequest


def sealed_name(request: SigningRequest) -> str:
    stem = request.title[:-4] if request.title.lower().endswith(".pdf") else request.title
    with translation.override(request.language):
        return f"{stem} ({translation.gettext('signed')}).pdf"


def build_sealed(request: SigningRequest) -> bytes:
    """The sealed PDF of a completed request: the signed version and its attachments, read from
    storage, with every party's evidence and the history as the audit trail, sealed with the
    portal's key."""

    def read(key: str) -> bytes:
        with storage.document_storage().open(key, "rb") as handle:
            return bytes(handle.read())

    assert request.version is not None  # seal_signing claims only requests whose file is there
    inputs = [sealing.InputFile(request.title, read(request.version.storage_key))]
    inputs += [
        sealing.InputFile(a.name, read(a.version.storage_key))
        for a in request.attachments.select_related("version")
        if a.version is not None  # documents refuses to delete it before sealing; in case it did
    ]
    parties = [
        sealing.PartyEvidence(
            name=p.name,
            email=p.email,
            role=p.role,
            method=p.method,
            acted_at=p.acted_at,
            action=p.action,
            ip=p.ip or "",
            user_agent=p.user_agent,
            evidence=method_for(p).evidence(p) if p.acted_at else {},
            # BankID's completionData as received: the signature XML and OCSP response, checkable later.
            evidence_file=json.dumps(p.bankid_evidence, indent=2).encode()
            if p.bankid_evidence and p.acted_at
            else b"",
        )
        for p in request.parties.all()
    ]
    with translation.override(request.language):  # the audit trail is in the request's language
        history = [
            (e.created_at, selectors.describe_event(e)) for e in request.events.select_related("party")
        ]
    audit = sealing.AuditTrail(
        title=request.title,
        reference=f"{request.pk}",
        language=request.language,
        sender=request.created_by.get_full_name(),
        sent_at=request.sent_at or request.created_at,
        completed_at=request.finished_at or timezone.now(),
        parties=parties,
        history=history,
    )
    return sealing.build_sealed_pdf(inputs=inputs, audit=audit, key=devkeys.load_sealing_key())
