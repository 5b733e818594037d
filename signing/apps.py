from __future__ import annotations

from django.apps import AppConfig


class SigningConfig(AppConfig):
    name = "signing"

    def ready(self) -> None:
        # Documents in a signing in progress, and sealed PDFs, are held against replacing and
        # deleting (documents.locks); documents cannot import signing, so signing says which.
        from customers.hooks import register_collaboration_ended, register_ending_summary
        from documents.locks import register_lock
        from signing.selectors import documents_signing_locks, ending_summary
        from signing.services import signings_cancel_for_ending

        register_lock(documents_signing_locks)
        # Ending a collaboration cancels its pending signings (customers cannot import signing).
        register_collaboration_ended(signings_cancel_for_ending)
        register_ending_summary(ending_summary)
        # Its badges on Mina samarbeten and its section on Samarbeten (customers cannot import signing).
        from customers.badges import register_customer_section, register_partner_column
        from signing.badges import ATTENTION, WAITING

        register_partner_column(ATTENTION)
        register_customer_section(WAITING)
