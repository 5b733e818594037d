"""Reads for the inbox, the bell and the preferences page. Each takes the person reading."""

from __future__ import annotations

from django.db.models import QuerySet

from customers import selectors as customers
from customers.models import Collaboration
from notifications.events import DEFAULTS
from notifications.models import Mute, Notification, Preference
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
