# Written by hand on 2026-12-04 (issue 16): statistics, not a schema change Django models.

from django.db import migrations

# documents.trigrams.WORDS_STATISTICS_NAME and WORD_SEPARATOR; a migration keeps its own copy.
NAME = "document_search_name_words"
SEPARATOR = "[^[:alnum:]]+"


# How common each word of the search names is (ANALYZE's element statistics of the names split
# into words), beside 0005's trigrams: whether asking the index for a word whole keeps out enough
# rows to pay for reading all its trigrams' lists ("0004": each trigram in a fifth of the names,
# the word in one in fifty). PostgreSQL 14 and later only, as 0005.
def create_statistics(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return
    schema_editor.execute(
        f"CREATE STATISTICS IF NOT EXISTS {NAME} ON (regexp_split_to_array(search_name, '{SEPARATOR}'))"
        " FROM documents_document"
    )
    schema_editor.execute("ANALYZE documents_document")  # as 0005: there from the start


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {NAME}")


class Migration(migrations.Migration):

    dependencies = [
        ("documents", "0007_document_collaboration_is_the_folders"),
    ]

    operations = [
        migrations.RunPython(create_statistics, drop_statistics),
    ]
