"""The fault tests' data and their consistency check, usable in the test process or, for a
database the test process is not connected to (a private cluster), as a script with the server's
environment: `python -m tests.integration.fault_world setup|check` prints JSON (`setup` migrates first).

The check is what must hold after any fault: every live document version has its file, of its
size and SHA-256; every stored file belongs to a version; each partner's storage counter is the sum
of its live versions; each signature balance is the sum of its ledger, every sent signing was
charged once and every cancelled one refunded once.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

SIGNING_DOCUMENTS = 30
SIGNATURES = 500


def setup() -> dict[str, Any]:
    """A partner admin with a collaboration, a folder, PDFs to send for signing and signatures."""
    from billing import services as billing
    from documents import services as documents
    from documents.models import CustomerAccess
    from partners.models import PartnerRole
    from tests.factories import PASSWORD, CollaborationFactory, PartnerMembershipFactory
    from tests.pdfs import blank_pdf

    admin = PartnerMembershipFactory.create(role=PartnerRole.ADMIN, user__language="en").user
    partner = admin.partner_memberships.get().partner
    collaboration = CollaborationFactory.create(partner=partner)
    folder = documents.folder_create(
        collaboration=collaboration, actor=admin, name="Avtal", customer_access=CustomerAccess.READ
    )
    billing.signature_grant(partner=partner, amount=SIGNATURES, reason="fault test")
    pdf = blank_pdf()
    document_ids = [
        documents.document_upload(
            folder=folder, actor=admin, name=f"Avtal {n}.pdf", chunks=[pdf], by_customer=False
        ).document_id
        for n in range(SIGNING_DOCUMENTS)
    ]
    return {
        "email": admin.email,
        "password": PASSWORD,
        "partner_id": partner.pk,
        "collaboration_id": collaboration.pk,
        "folder_id": folder.pk,
        "document_ids": document_ids,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stored:
        for block in iter(lambda: stored.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check(media_root: str | Path) -> dict[str, Any]:
    """{"problems": [...], figures}: an empty problems list is a consistent state."""
    from django.db.models import Count, Q, Sum

    from billing import usage
    from billing.models import BalanceEntry, EntryKind
    from documents.models import Document, DocumentVersion
    from partners.models import Partner
    from signing.models import SigningRequest, Status

    media = Path(media_root)
    problems: list[str] = []
    on_disk = {str(p.relative_to(media)) for p in media.rglob("*") if p.is_file() and p.name != "filler.bin"}
    known: set[str] = set()
    versions = DocumentVersion.objects.values_list(
        "storage_key", "preview_key", "size", "sha256", "deleted_at"
    )
    for key, preview, size, sha256, deleted_at in versions:
        known.update(k for k in (key, preview) if k)
        if deleted_at is not None:
            continue
        path = media / key
        if not path.is_file():
            problems.append(f"version row without its file: {key}")
        elif path.stat().st_size != size or _sha256(path) != sha256:
            problems.append(f"file {key} is not the version's bytes ({path.stat().st_size} of {size})")
    problems.extend(f"stored file without a row: {key}" for key in sorted(on_disk - known))

    actual = usage.bytes_by_partner()
    for partner in Partner.objects.all():
        if partner.storage_used_bytes != actual.get(partner.pk, 0):
            problems.append(
                f"partner {partner.pk}: storage counter {partner.storage_used_bytes}, "
                f"stored {actual.get(partner.pk, 0)}"
            )
        ledger = BalanceEntry.objects.filter(partner=partner)
        total = ledger.aggregate(total=Sum("amount"))["total"] or 0
        last = ledger.order_by("-created_at", "-id").values_list("balance_after", flat=True).first() or 0
        if not partner.signature_balance == total == last:
            problems.append(
                f"partner {partner.pk}: balance {partner.signature_balance}, ledger sum {total}, "
                f"last entry says {last}"
            )
    charges = BalanceEntry.objects.filter(kind=EntryKind.CHARGE).count()
    refunds = BalanceEntry.objects.filter(kind=EntryKind.REFUND).count()
    signings = SigningRequest.objects.aggregate(
        sent=Count("pk", filter=~Q(status=Status.DRAFT)),
        cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
    )
    if charges != signings["sent"]:
        problems.append(f"{signings['sent']} signings sent, {charges} charges")
    if refunds != signings["cancelled"]:
        problems.append(f"{signings['cancelled']} signings cancelled, {refunds} refunds")
    return {
        "problems": problems,
        "versions": len(known),
        "files": len(on_disk),
        "documents": sorted(Document.objects.filter(deleted_at__isnull=True).values_list("name", flat=True)),
        "signings": signings,
        "charges": charges,
        "refunds": refunds,
        "storage_used": {p.pk: p.storage_used_bytes for p in Partner.objects.all()},
    }


def main(argv: list[str]) -> None:
    import django

    django.setup()
    from django.conf import settings

    if argv[1:] == ["setup"]:  # a new database: migrated here, saving a process start
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        sys.stdout.write(json.dumps(setup()) + "\n")
    elif argv[1:] == ["check"]:
        sys.stdout.write(json.dumps(check(settings.MEDIA_ROOT), default=str) + "\n")
    else:
        sys.exit("usage: python -m tests.integration.fault_world setup|check")


if __name__ == "__main__":
    main(sys.argv)
