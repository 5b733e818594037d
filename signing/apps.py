from __future__ import annotations

from django.apps import AppConfig


class SigningConfig(AppConfig):
    name = "signing"

    def ready(self) -> None:
        # Documents in a signing in progress, and sealed PDFs, are held against replacing and
        # deleting (documents.locks); documents cannot import signing, so signing says which.
        from documents.locks import register_lock
        from signing.selectors import documents_signing_locks

        register_lock(documents_signing_locks)
