# Placeholder in the chain of this signing migrations: its owner fills in the operations.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("signing", "0008_prepared_copy"),
    ]

    operations: list[migrations.operations.base.Operation] = []
