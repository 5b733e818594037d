"""The files documents stores, for portal.backup (registered in DocumentsConfig.ready())."""

from __future__ import annotations

from typing import Any

from documents.models import DocumentVersion


def stored_files(cursor: Any) -> list[tuple[str, int | None, str]]:
    """Every live version's file (with its size and sha256) and its preview, in version order, read
    with the backup's DB-API cursor on its snapshot."""
    table = DocumentVersion._meta.db_table
    cursor.execute(
        f"SELECT storage_key, size, sha256, preview_key FROM {table} "  # noqa: S608 -- model's own table
        "WHERE deleted_at IS NULL ORDER BY id"
    )
    files: list[tuple[str, int | None, str]] = []
    for storage_key, size, sha256, preview_key in cursor.fetchall():
        files.append((storage_key, size, sha256))
        if preview_key:
            files.append((preview_key, None, ""))
    return files
