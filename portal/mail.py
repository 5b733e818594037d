"""The embedded default's email backend: print to the console and keep the last ones.

Without PORTAL_EMAIL_HOST nothing leaves the machine; a developer reads what would have been
sent in the console, or later under Site administration > Sent emails (development).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.console import EmailBackend as ConsoleBackend

logger = logging.getLogger(__name__)

KEEP = 200


class ConsoleKeepingBackend(ConsoleBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = super().send_messages(email_messages)
        try:
            self._keep(email_messages)
        except Exception:  # keeping a copy must never stop an email from "going out"
            logger.exception("could not keep a copy of the sent emails")
        return sent

    def _keep(self, email_messages: Sequence[EmailMessage]) -> None:
        from portal.models import SentEmail

        rows = []
        for message in email_messages:
            html = ""
            if isinstance(message, EmailMultiAlternatives):
                html = next((str(c) for c, mime in message.alternatives if mime == "text/html"), "")
            rows.append(
                SentEmail(
                    to=", ".join(message.to)[:500],
                    subject=str(message.subject)[:300],
                    body=str(message.body),
                    html=html,
                )
            )
        SentEmail.objects.bulk_create(rows)
        stale = SentEmail.objects.order_by("-sent_at", "-id").values_list("pk", flat=True)[KEEP:]
        SentEmail.objects.filter(pk__in=list(stale)).delete()
