"""Partners made before billing existed: the welcome grant of free signatures, and the usage
counter set from what they store (the nightly reconcile would find the same)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import migrations
from django.db.models import Sum


def forwards(apps: Any, schema_editor: Any) -> None:
    Partner = apps.get_model("partners", "Partner")
    BalanceEntry = apps.get_model("billing", "BalanceEntry")
    DocumentVersion = apps.get_model("documents", "DocumentVersion")
    grant = int(settings.WELCOME_SIGNATURES)
    for partner in Partner.objects.all():
        used = (
            DocumentVersion.objects.filter(
                deleted_at__isnull=True, document__folder__collaboration__partner_id=partner.pk
            ).aggregate(s=Sum("size"))["s"]
            or 0
        )
        fields = {"storage_used_bytes": used}
        if grant > 0 and not BalanceEntry.objects.filter(partner_id=partner.pk, reference="welcome").exists():
            balance = partner.signature_balance + grant
            BalanceEntry.objects.create(
                partner_id=partner.pk,
                kind="grant",
                amount=grant,
                balance_after=balance,
                reason="Welcome: free signatures to start with",
                reference="welcome",
            )
            fields["signature_balance"] = balance
        Partner.objects.filter(pk=partner.pk).update(**fields)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("documents", "0002_document_version_count"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
