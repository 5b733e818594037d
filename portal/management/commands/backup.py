"""manage.py backup: the database and every stored file it points to, in one directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal import backup


class Command(BaseCommand):
    help = (
        "Write a backup directory (portal-backup-<UTC time>) holding the database (pg_dump "
        "--format=custom of PostgreSQL, or an online-backup copy of SQLite), every stored file "
        "the database points to (document versions, sealed signing PDFs, previews; read through "
        "the default storage, filesystem or S3) and manifest.json with the time, app version, "
        "migration state and every file's key, size and sha256. The file list is read from the "
        "same database snapshot as the dump (an exported REPEATABLE READ snapshot passed to "
        "pg_dump --snapshot; on SQLite, the copy itself), so files uploaded meanwhile are in "
        "neither. A file missing from storage or differing from the sha256 the database "
        "recorded is listed in the manifest and makes the command exit with an error after "
        "writing the backup. Redis (cache and queue) is not backed up. The path of the backup "
        "is the last line printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output-dir",
            type=Path,
            default=Path(settings.VAR_DIR) / "backups",
            help="where the backup directory is created (default: PORTAL_VAR_DIR/backups)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = backup.backup_create(output_dir=options["output_dir"], say=self.stderr.write)
        except backup.BackupError as error:
            raise CommandError(str(error)) from error
        self.stderr.write(f"{result.files} files, {result.bytes} bytes.")
        if result.problems:
            for problem in result.problems:
                self.stderr.write(f"PROBLEM {problem}")
            self.stdout.write(str(result.path))
            raise CommandError(
                f"backup written to {result.path}, but {len(result.problems)} stored files are missing "
                "or differ from what the database recorded (listed above and in its manifest)"
            )
        self.stdout.write(str(result.path))
