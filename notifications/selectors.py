"""Reads for the inbox, the bell and the preferences page (each takes the person reading), and the
sweep's list of emails overdue."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from customers import selectors as customers
from customers.models import Collaboration
from notifications.events import DEFAULTS
from notifications.models import EmailMode, Mute, Notification, Preference
from portal.context import Organisation
from portal.models import User


def inbox_for(user: User) -> QuerySet[Notification]:
    """The user's own in-app notifications, newest first (a batch that grew counts as new)."""
    return (
        Notification.objects.filter(recipient=user, in_app=True)
        .select_related("collaboration__partner", "collaboration__customer")
        .order_by("-updated_at", "-id")
    )


def unread_count(user: User) -> int:
    """The number on the bell: one COUNT over the inbox index."""
    return Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).count()


def muted_collaboration_ids(user: User) -> set[int]:
    return set(Mute.objects.filter(user=user).values_list("collaboration_id", flat=True))


def collaborations_to_mute(*, user: User, organisations: list[Organisation]) -> list[Collaboration]:
    """The collaborations `user` may see in any of their organisations, by the same rules as the
    lists they work from: a partner's open ones (all for an account administrator, the assigned
    ones for staff) and a customer's active ones. One query per organisation."""
    found: dict[int, Collaboration] = {}
    for org in organisations:
        if org.is_partner:
            rows: QuerySet[Collaboration] = customers.collaborations_for_partner_user(user=user, partner=org)
        else:
            rows = customers.collaborations_for_customer_user(customer=org)
        for collaboration in rows.select_related("partner", "customer"):
            found.setdefault(collaboration.pk, collaboration)
    return sorted(found.values(), key=lambda c: (str(c).lower(), c.pk))


def preferences_for(user: User) -> dict[str, tuple[str, bool]]:
    """event -> (email mode, in-app) for `user`, defaults filled in."""
    chosen = {p.event: (p.email, p.in_app) for p in Preference.objects.filter(user=user)}
    return {event: chosen.get(event, (d.email, d.in_app)) for event, d in DEFAULTS.items()}


def due_for_email(*, older_than: dt.timedelta, claim_stale_after: dt.timedelta) -> list[int]:
    """Immediate notifications whose email has not gone out after `older_than`: never claimed, or
    claimed by a task that has not finished within `claim_stale_after` (a worker died)."""
    now = timezone.now()
    return list(
        Notification.objects.filter(
            email_mode=EmailMode.IMMEDIATELY, emailed_at__isnull=True, created_at__lt=now - older_than
        )
        .filter(Q(email_claim="") | Q(email_claimed_at__lt=now - claim_stale_after))
        .values_list("pk", flat=True)[:1000]
    )
