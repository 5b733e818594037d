from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.models import F, Min, Q


def mark_taken_over(apps: Any, schema_editor: Any) -> None:
    """An account another partner has collaborated with, or been invited by, is the customer's own
    from the first such collaboration: its creating partner manages its users no more."""
    CustomerAccount = apps.get_model("customers", "CustomerAccount")
    accounts = (
        CustomerAccount.objects.filter(taken_over_at__isnull=True)
        .annotate(
            first_other=Min(
                "collaborations__created_at",
                filter=Q(created_by_partner__isnull=True)
                | ~Q(collaborations__partner=F("created_by_partner")),
            )
        )
        .filter(first_other__isnull=False)
    )
    for pk, first_other in accounts.values_list("pk", "first_other"):
        CustomerAccount.objects.filter(pk=pk).update(taken_over_at=first_other)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_customeraccount_all_users_group"),
    ]

    operations = [
        migrations.AddField(
            model_name="customeraccount",
            name="taken_over_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="managed by the customer since"),
        ),
        migrations.RunPython(mark_taken_over, migrations.RunPython.noop),
    ]
