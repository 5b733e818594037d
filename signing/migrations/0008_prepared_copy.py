# What sending changed in the files to make them fit for signing (signing.prepare).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("signing", "0007_drafts"),
    ]

    operations = [
        migrations.AddField(
            model_name="signingrequest",
            name="prepared",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
