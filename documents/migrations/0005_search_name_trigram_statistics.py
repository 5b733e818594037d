# Written by hand on 2026-12-04 (issue 16): statistics, not a schema change Django models.

from django.db import migrations

# documents.trigrams.STATISTICS_NAME; a migration keeps its own copy.
NAME = "document_search_name_trigrams"


# How common each trigram of the search names is (ANALYZE's element statistics of show_trgm, kept
# up to date by autovacuum's ANALYZE), for choosing the rarest trigrams of a search to ask the
# index for. PostgreSQL 14 and later only; SQLite, the embedded default, has no trigram index.
def create_statistics(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return
    schema_editor.execute(f"CREATE STATISTICS IF NOT EXISTS {NAME} ON (show_trgm(search_name)) FROM documents_document")
    # Autovacuum analyses a table when a tenth of it has changed, which a large and settled one may
    # not do for days: the statistics are there from the start.
    schema_editor.execute("ANALYZE documents_document")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {NAME}")


class Migration(migrations.Migration):

    dependencies = [
        ("documents", "0004_trash_retention"),
    ]

    operations = [
        migrations.RunPython(create_statistics, drop_statistics),
    ]
