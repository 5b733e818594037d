"""The documents' share of each partner's stored bytes, for billing (see billing.usage)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Sum

from documents.models import DocumentVersion

PARTNER = "document__folder__collaboration__partner_id"
CUSTOMER = "document__folder__collaboration__customer_id"


def stored_bytes(partner_id: int | None) -> Iterable[tuple[int, int, int]]:
    """(partner, customer, bytes) of every stored version (older ones and the trash included): one
    GROUP BY."""
    versions = DocumentVersion.objects.filter(purged_at__isnull=True)
    if partner_id is not None:
        versions = versions.filter(**{PARTNER: partner_id})
    return (
        versions.order_by()
        .values_list(PARTNER, CUSTOMER)
        .annotate(total=Sum("size"))
        .values_list(PARTNER, CUSTOMER, "total")
    )
