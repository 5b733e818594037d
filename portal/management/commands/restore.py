"""manage.py restore PATH: a backup into an empty database and empty storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal import backup


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into the configured database and default "
        "storage, which must both be empty (a newly created database without tables, an empty "
        "MEDIA_ROOT or bucket): anything else is refused, there is no --force. The backup is "
        "verified first (every file re-hashed against manifest.json, the database copy readable), "
        "so a damaged backup changes nothing; the database is then restored in one transaction "
        "(pg_restore --single-transaction --no-owner), the files written through the storage and "
        "every one re-read and re-hashed. Afterwards run `manage.py migrate` if this code is newer "
        "than the backup. A backup from newer code is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the backup directory")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = backup.backup_restore(options["path"], say=self.stdout.write)
        except backup.BackupError as error:
            raise CommandError(str(error)) from error
        for problem in result.problems:
            self.stderr.write(f"Recorded at backup time: {problem}")
        self.stdout.write(f"Restored the database and {result.files} files; every file matches the manifest.")
