from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        from billing.usage import register_trash_source, register_usage_source
        from customers.hooks import register_membership_cleanup
        from documents.grants import customer_user_grants_revoke
        from documents.trash import trash_held
        from documents.usage import stored_bytes

        register_usage_source(stored_bytes)
        register_trash_source(trash_held)
        register_membership_cleanup(customer_user_grants_revoke)
        # Ending a collaboration deletes its files when the firm chose so (customers cannot import
        # documents).
        from customers.hooks import register_collaboration_ended, register_ending_summary
        from documents.ending import ending_summary, on_collaboration_ended

        register_collaboration_ended(on_collaboration_ended)
        register_ending_summary(ending_summary)
        # Backups copy every stored file (portal cannot import documents).
        from documents.backup import stored_files
        from portal.backup import register_stored_files

        register_stored_files(stored_files)
