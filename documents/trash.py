"""The trash: deleted folders, documents and versions wait here (still stored, still counted)
until restored or purged. Purging is the one place a document's file leaves storage.

`purge_versions` is the primitive every purge goes through (the trash's own purge, ending a
collaboration): the rows first, with the storage counter in the same transaction, and the files
only after commit, so a failure leaves an orphan file, never a row without its file.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from billing import services as billing
from documents import storage
from documents.models import DocumentVersion

PARTNER = "document__folder__collaboration__partner_id"


def purge_versions(versions: QuerySet[DocumentVersion]) -> int:
    """Purge the stored versions of `versions` (those not purged yet): mark them purged, count
    their bytes off their partners, and remove their files after commit. Returns how many.

    Precondition: inside a transaction that holds the row locks of the versions' documents, so a
    second purge of the same rows (a redelivered task, two beats) finds them purged and does
    nothing.
    """
    pending = versions.filter(purged_at__isnull=True)
    rows = list(pending.values_list("pk", "storage_key", "preview_key"))
    if not rows:
        return 0
    by_partner = (
        DocumentVersion.objects.filter(pk__in=[pk for pk, _key, _preview in rows])
        .order_by()
        .values_list(PARTNER)
        .annotate(total=Sum("size"))
    )
    freed = {partner_id: int(total or 0) for partner_id, total in by_partner}
    DocumentVersion.objects.filter(pk__in=[pk for pk, _key, _preview in rows]).update(
        purged_at=timezone.now(), trash=None
    )
    for partner_id, nbytes in sorted(freed.items()):
        billing.storage_remove(partner_id=partner_id, nbytes=nbytes)
    keys = [key for _pk, key, preview in rows for key in (key, preview) if key]
    transaction.on_commit(lambda: storage.delete_quietly(keys))
    return len(rows)
