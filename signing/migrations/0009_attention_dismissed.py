# Dismissed "declined" and "expired" badges on Mina samarbeten, per user and customer.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_customeraccount_taken_over_at"),
        ("signing", "0008_prepared_copy"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AttentionSeen",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("declined", "Declined"), ("expired", "Expired")], max_length=10
                    ),
                ),
                ("seen_at", models.DateTimeField()),
                (
                    "collaboration",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="customers.collaboration",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "dismissed signing badge",
                "verbose_name_plural": "dismissed signing badges",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "collaboration", "kind"), name="attention_seen_once_per_kind"
                    )
                ],
            },
        ),
    ]
