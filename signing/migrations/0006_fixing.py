# Fixing a sent signing: when a party was last reminded by hand, and the links that were replaced
# or whose party was removed (their pages answer 410, not 404).

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("signing", "0005_customer_side"),
    ]

    operations = [
        migrations.AddField(
            model_name="party",
            name="reminded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="RetiredLink",
            fields=[
                (
                    "id",
                    models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                ),
                ("token_hash", models.CharField(max_length=64, unique=True)),
                (
                    "reason",
                    models.CharField(
                        choices=[("replaced", "Replaced by a new link"), ("removed", "The party was removed")],
                        max_length=10,
                    ),
                ),
                ("retired_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "party",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="retired_links",
                        to="signing.party",
                    ),
                ),
                (
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="signing.signingrequest",
                    ),
                ),
            ],
            options={
                "verbose_name": "retired link",
                "verbose_name_plural": "retired links",
            },
        ),
    ]
