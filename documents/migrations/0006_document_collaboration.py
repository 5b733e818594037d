# Written by hand on 2026-12-04 (issue 16). Two migrations, so that the deferred foreign key checks
# of the rows filled here run when this one commits, before 0007 alters the table.

import django.db.models.deletion
from django.db import migrations, models


def fill_collaborations(apps, schema_editor):
    """Each document's collaboration is its folder's."""
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    documents = quote(apps.get_model("documents", "Document")._meta.db_table)
    folders = quote(apps.get_model("documents", "Folder")._meta.db_table)
    if connection.vendor == "postgresql":
        sql = (
            f"UPDATE {documents} d SET collaboration_id = f.collaboration_id FROM {folders} f"
            " WHERE f.id = d.folder_id AND d.collaboration_id IS NULL"
        )
    else:
        sql = (
            f"UPDATE {documents} SET collaboration_id = (SELECT f.collaboration_id FROM {folders} f"
            f" WHERE f.id = {documents}.folder_id) WHERE collaboration_id IS NULL"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0006_customer_account_name"),
        ("documents", "0005_search_name_trigram_statistics"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="collaboration",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="customers.collaboration",
            ),
        ),
        migrations.RunPython(fill_collaborations, migrations.RunPython.noop),
    ]
