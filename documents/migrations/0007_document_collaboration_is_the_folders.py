# Written by hand on 2026-12-04 (issue 16).

import django.db.models.deletion
from django.db import migrations, models

CONSTRAINT = "document_folder_collaboration_fk"


# On PostgreSQL the database itself holds a document's collaboration to its folder's: a foreign key
# of (folder_id, collaboration_id) to the folder's (id, collaboration_id). Django's models cannot
# say it, and SQLite (the embedded default) rebuilds tables from the model state on later
# migrations, so it is added here, on PostgreSQL only, like the trigram index of 0003.
def add_foreign_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE documents_document ADD CONSTRAINT {CONSTRAINT}"
            " FOREIGN KEY (folder_id, collaboration_id) REFERENCES documents_folder (id, collaboration_id)"
            " DEFERRABLE INITIALLY DEFERRED"
        )


def drop_foreign_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE documents_document DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0006_customer_account_name"),
        ("documents", "0006_document_collaboration"),
    ]

    operations = [
        migrations.AlterField(
            model_name="document",
            name="collaboration",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="customers.collaboration",
            ),
        ),
        migrations.AddConstraint(
            model_name="folder",
            constraint=models.UniqueConstraint(fields=("id", "collaboration"), name="folder_id_collaboration_unique"),
        ),
        migrations.RunPython(add_foreign_key, drop_foreign_key),
    ]
