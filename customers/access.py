"""Every access decision about customers and collaborations.

An object of another tenant is a 404, never a 403, so that ids reveal nothing.
A same-tenant user without the right gets 403 where the page exists for them
but the action does not (staff on an admin-only action), else 404.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from customers.models import (
    Collaboration,
    CollaborationStatus,
    CollaborationUserObjectPermission,
    CustomerMembership,
)
from customers.selectors import OPEN_STATUSES
from customers.services import hash_token
from portal.context import AuthedRequest, Organisation, org_context
from portal.models import User


def staff_is_assigned(user: User, collaboration: Collaboration) -> bool:
    """Whether partner staff `user` is assigned to the collaboration's customer (the guardian row)."""
    return CollaborationUserObjectPermission.objects.filter(
        content_object=collaboration, user=user, permission__codename="work_with_customer"
    ).exists()


def collaboration_for_partner_user(
    request: AuthedRequest, collaboration_id: int
) -> tuple[Collaboration, Organisation]:
    """A customer of one of the user's partners that they may work with (admin, or assigned staff)."""
    collaboration = get_object_or_404(
        Collaboration.objects.select_related("partner", "customer"),
        pk=collaboration_id,
        status__in=OPEN_STATUSES,
    )
    ctx = org_context(request)
    org = ctx.find("partner", collaboration.partner_id)
    if org is None or not (org.is_admin or staff_is_assigned(request.user, collaboration)):
        raise Http404
    ctx.activate("partner", org.id)
    return collaboration, org


def collaboration_for_partner_admin(request: AuthedRequest, collaboration_id: int) -> Collaboration:
    collaboration, org = collaboration_for_partner_user(request, collaboration_id)
    if not org.is_admin:
        raise PermissionDenied
    return collaboration


def collaboration_for_customer_user(
    request: HttpRequest, collaboration_id: int
) -> tuple[Collaboration, Organisation]:
    """An active collaboration of one of the user's customers."""
    collaboration = get_object_or_404(
        Collaboration.objects.select_related("partner", "customer"),
        pk=collaboration_id,
        status=CollaborationStatus.ACTIVE,
    )
    ctx = org_context(request)
    org = ctx.find("customer", collaboration.customer_id)
    if org is None:
        raise Http404
    ctx.activate("customer", org.id)
    return collaboration, org


def invitation_for_customer_admin(request: HttpRequest, collaboration_id: int) -> Collaboration:
    """An invitation to one of the user's customers; only its admins and primary contact may answer."""
    collaboration = get_object_or_404(
        Collaboration.objects.select_related("partner", "customer"), pk=collaboration_id
    )
    org = org_context(request).find("customer", collaboration.customer_id)
    if org is None:
        raise Http404
    if not org.is_admin:
        raise PermissionDenied
    return collaboration


def invitation_by_token(request: HttpRequest, token: str) -> Collaboration:
    """The invitation an emailed link points at. Someone else's token is a 404: the link is
    bound to the invited customer, and only its admins may open it."""
    token_hash = hash_token(token)
    collaboration = (
        Collaboration.objects.select_related("partner", "customer")
        .filter(invitation_token_hash=token_hash)
        .exclude(invitation_token_hash="")
        .first()
    )
    if collaboration is None:
        raise Http404
    return invitation_for_customer_admin(request, collaboration.pk)


def active_customer(request: HttpRequest) -> Organisation:
    org = org_context(request).customer
    if org is None:
        raise Http404
    return org


def active_customer_manager(request: HttpRequest) -> Organisation:
    """The customer the user acts for, if they are its primary contact or an admin (else 403)."""
    org = active_customer(request)
    if not org.is_admin:
        raise PermissionDenied
    return org


def customer_membership_for_manager(request: HttpRequest, membership_id: int) -> CustomerMembership:
    org = active_customer_manager(request)
    return get_object_or_404(
        CustomerMembership.objects.select_related("user", "customer"), pk=membership_id, customer_id=org.id
    )
