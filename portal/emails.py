"""Emails rendered from subject / text / HTML templates in the recipient's language."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from portal.links import absolute_url
from portal.models import User

logger = logging.getLogger(__name__)


def send_templated_email(*, to: User, template: str, context: dict[str, Any]) -> None:
    """Render `templates/emails/<template>_subject.txt`, `.txt` and `.html` in `to.language` and send.

    Raises whatever the email backend raises, so a Celery task can retry.
    """
    send_templated_email_to(
        to.email, language=to.language, template=template, context={"recipient": to, **context}
    )
    logger.info("sent email %s to user %s", template, to.pk)


def send_templated_email_to(
    address: str,
    *,
    language: str,
    template: str,
    context: dict[str, Any],
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> None:
    """The same for an address that is no user's (support's mailbox, a signing party), with
    optional attachments as (file name, bytes, content type)."""
    with translation.override(language or settings.LANGUAGE_CODE):
        ctx = {"portal_url": absolute_url(reverse("home")), **context}
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", ctx).split())
        text = render_to_string(f"emails/{template}.txt", ctx)
        html = render_to_string(f"emails/{template}.html", ctx)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[address])
    message.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send()
