"""A development sealing certificate: manage.py signing_dev_cert [--force]."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from signing.devkeys import DEV_SUBJECT, ensure_dev_sealing_key, seal_key_paths


class Command(BaseCommand):
    help = (
        "Make a development CA and a sealing certificate and private key (RSA 3072, subject "
        f'"{DEV_SUBJECT}") in the files SIGNING_SEAL_KEY_FILE, SIGNING_SEAL_CERT_FILE and '
        "SIGNING_SEAL_CA_FILE point at (default VAR_DIR/signing/), the key encrypted with "
        "SIGNING_SEAL_KEY_PASSPHRASE when that is set. Existing files are kept unless --force. "
        "For development and tests only: the CA is trusted by nobody but this portal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace the CA, certificate and key even when all three files exist.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        made = ensure_dev_sealing_key(force=options["force"])
        key_file, cert_file, ca_file = seal_key_paths()
        if made:
            self.stdout.write(f"Wrote {key_file}, {cert_file} and {ca_file}")
        else:
            self.stdout.write(
                f"Kept the existing {key_file}, {cert_file} and {ca_file} (--force replaces them)"
            )
