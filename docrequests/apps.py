from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocrequestsConfig(AppConfig):
    name = "docrequests"
    verbose_name = _("Document requests")

    def ready(self) -> None:
        # Ending a collaboration cancels its open requests (customers cannot import docrequests).
        from customers.hooks import register_collaboration_ended, register_ending_summary
        from docrequests.selectors import ending_summary
        from docrequests.services import docrequests_cancel_for_ending

        register_collaboration_ended(docrequests_cancel_for_ending)
        register_ending_summary(ending_summary)
        # Its badges on Mina samarbeten and its section on Samarbeten (customers cannot import
        # docrequests, which imports documents).
        from customers.badges import register_customer_section, register_partner_column
        from docrequests.badges import OPEN_REQUESTS, REQUESTED

        register_partner_column(OPEN_REQUESTS)
        register_customer_section(REQUESTED)
