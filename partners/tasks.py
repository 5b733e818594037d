from __future__ import annotations

from celery import shared_task
from django.urls import reverse
from django.utils import timezone

from partners.models import PartnerMembership
from portal.emails import send_templated_email
from portal.links import absolute_url, set_password_url


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_staff_invitation(membership_id: int) -> None:
    """Email a new staff member their invitation and note when (invitation_sent_at). Run through
    the outbox (portal.outbox), which keeps it to once. A deleted membership is a normal exit."""
    membership = (
        PartnerMembership.objects.select_related("user", "partner", "invited_by")
        .filter(pk=membership_id)
        .first()
    )
    if membership is None:
        return
    user = membership.user
    send_templated_email(
        to=user,
        template="staff_invitation",
        context={
            "partner": membership.partner,
            "inviter": membership.invited_by,
            "set_password_url": None if user.has_usable_password() else set_password_url(user),
            "login_url": absolute_url(reverse("login")),
        },
    )
    PartnerMembership.objects.filter(pk=membership_id).update(invitation_sent_at=timezone.now())
