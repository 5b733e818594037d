"""Telling a signing's sender that it needs their attention: in the portal and by email."""

from __future__ import annotations

from django.urls import reverse

from notifications.models import Event as NotificationEvent
from notifications.services import notifications_add
from portal.models import User
from signing.models import SigningRequest


def sender_alert(signing: SigningRequest, *, actor: User | None, **params: str) -> None:
    """A notification to the sender linking to the signing's page; `params` (with the document's
    title) fill its text: `party` for a party's trouble, `changed_by` for someone else's change.
    `signing` comes with its collaboration and created_by."""
    notifications_add(
        event=NotificationEvent.SIGNING_ATTENTION,
        recipients=[signing.created_by],
        actor=actor,
        collaboration=signing.collaboration,
        url=reverse("signing:partner_detail", args=[signing.collaboration_id, signing.pk]),
        params={"document": signing.title, **params},
    )
