"""manage.py verify_backup PATH: check a backup without restoring it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal import backup


class Command(BaseCommand):
    help = (
        "Check a backup made by `manage.py backup` without restoring it: every file is re-hashed "
        "against manifest.json (size and sha256), the database copy too, and the database copy "
        "must be readable (pg_restore --list, or SQLite's integrity_check). Fails naming every "
        "missing or differing file, and also when the backup recorded problems at backup time. "
        "Changes nothing and needs no database, only (for PostgreSQL) a pg_restore of the "
        "dumping server's major version or newer, so a backup can be checked on any machine."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the backup directory")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = backup.backup_verify(options["path"], say=self.stdout.write)
        except backup.BackupError as error:
            raise CommandError(str(error)) from error
        if result.problems:
            raise CommandError(
                "the backup is intact, but it recorded problems when it was taken:\n  "
                + "\n  ".join(result.problems)
            )
        self.stdout.write("OK")
