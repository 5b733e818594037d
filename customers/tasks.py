"""Customers' background emails: the welcome, the collaboration invitation and the notice of its end."""

from __future__ import annotations

from celery import shared_task
from django.urls import reverse
from django.utils import timezone

from customers.invitations import invitation_token
from customers.models import Collaboration, CollaborationStatus, CustomerMembership
from partners.models import Partner
from portal.emails import send_templated_email
from portal.links import absolute_url, set_password_url
from portal.models import User


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_customer_welcome(membership_id: int, partner_id: int | None = None) -> None:
    """Welcome a customer user, with a set-password link if they have no password yet, and note
    when (welcome_sent_at). Run through the outbox (portal.outbox), which keeps it to once.
    A deleted membership is a normal exit."""
    membership = (
        CustomerMembership.objects.select_related("user", "customer").filter(pk=membership_id).first()
    )
    if membership is None:
        return
    user = membership.user
    send_templated_email(
        to=user,
        template="customer_welcome",
        context={
            "customer": membership.customer,
            "partner": Partner.objects.filter(pk=partner_id).first() if partner_id else None,
            "set_password_url": None if user.has_usable_password() else set_password_url(user),
            "login_url": absolute_url(reverse("login")),
        },
    )
    CustomerMembership.objects.filter(pk=membership_id).update(welcome_sent_at=timezone.now())


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_collaboration_invitation(collaboration_id: int, user_id: int, nonce: str) -> None:
    """Email the customer's administrator the invitation link, while the collaboration is still
    an invitation, and note when (invitation_sent_at). Run through the outbox, which keeps it to
    once. The link's token is made here from the nonce the outbox row holds
    (customers.invitations), so the table never holds a token that opens the invitation."""
    collaboration = (
        Collaboration.objects.select_related("partner", "customer", "created_by")
        .filter(pk=collaboration_id, status=CollaborationStatus.INVITED)
        .first()
    )
    user = User.objects.filter(pk=user_id).first()
    if collaboration is None or user is None:
        return
    token = invitation_token(nonce)
    send_templated_email(
        to=user,
        template="collaboration_invitation",
        context={
            "collaboration": collaboration,
            "invitation_url": absolute_url(reverse("customers:invitation_by_token", args=[token])),
        },
    )
    Collaboration.objects.filter(pk=collaboration_id).update(invitation_sent_at=timezone.now())


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_collaboration_ended(collaboration_id: int, user_id: int, actor_id: int | None) -> None:
    """Tell an administrator (or the primary contact) of the customer that the firm ended the
    collaboration: until when they can read and download their files, or that the files were
    deleted. In the recipient's language. A user or collaboration that is gone: nothing to say."""
    collaboration = (
        Collaboration.objects.select_related("partner", "customer")
        .filter(pk=collaboration_id, status=CollaborationStatus.ENDED)
        .first()
    )
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if collaboration is None or user is None:
        return
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    send_templated_email(
        to=user,
        template="collaboration_ended",
        context={
            "collaboration": collaboration,
            "actor_name": actor.get_full_name() if actor is not None else "",
            "read_until": collaboration.read_until,
            "files_url": absolute_url(reverse("customers:collaboration_detail", args=[collaboration.pk])),
        },
    )
