"""Every access decision about customers and collaborations.

An object of another tenant is a 404, never a 403, so that ids reveal nothing.
A same-tenant user without the right gets 403 where the page exists for them
but the action does not (staff on an admin-only action), else 404.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone

from customers.invitations import invitation_token_hash
from customers.models import (
    Collaboration,
    CollaborationStatus,
    CollaborationUserObjectPermission,
    CustomerMembership,
)
from customers.selectors import OPEN_STATUSES
from partners.models import PartnerMembership, PartnerRole
from portal.context import AuthedRequest, Organisation, OrganisationContext, org_context
from portal.models import User


def staff_is_assigned(user: User, collaboration: Collaboration) -> bool:
    """Whether partner staff `user` is assigned to the collaboration's customer (the guardian row)."""
    return CollaborationUserObjectPermission.objects.filter(
        content_object=collaboration, user=user, permission__codename="work_with_customer"
    ).exists()


def may_work_with(
    user: User, collaboration: Collaboration, *, orgs: OrganisationContext | None = None
) -> Organisation | None:
    """The one answer to "may this partner user work with this collaboration" (its folders,
    documents, signings, users tab and settings): the collaboration is open (invited or active) and
    the user is an account administrator of its partner, or staff of it assigned to it.

    Returns the user's partner as an Organisation (`is_admin`: account administrator) when they
    may, else None. Being a user of the customer gives no partner-side right. `orgs`, the request's
    organisation context (loaded anyway for the header), saves the membership query; without it
    the membership is read here.
    """
    if not user.is_authenticated or not user.is_active:
        return None
    if collaboration.status not in OPEN_STATUSES:
        return None
    if orgs is not None:
        org = orgs.find("partner", collaboration.partner_id)
    else:
        row = (
            PartnerMembership.objects.filter(partner_id=collaboration.partner_id, user=user)
            .values_list("partner__name", "role")
            .first()
        )
        org = (
            None
            if row is None
            else Organisation("partner", collaboration.partner_id, row[0], row[1] == PartnerRole.ADMIN)
        )
    if org is None or not (org.is_admin or staff_is_assigned(user, collaboration)):
        return None
    return org


def collaboration_for_partner_user(
    request: AuthedRequest, collaboration_id: int
) -> tuple[Collaboration, Organisation]:
    """A customer of one of the user's partners that they may work with (`may_work_with`); 404
    otherwise. Shows that partner in the header."""
    collaboration = get_object_or_404(
        Collaboration.objects.select_related("partner", "customer"), pk=collaboration_id
    )
    ctx = org_context(request)
    org = may_work_with(request.user, collaboration, orgs=ctx)
    if org is None:
        raise Http404
    ctx.activate("partner", org.id)
    return collaboration, org


def collaboration_for_partner_admin(request: AuthedRequest, collaboration_id: int) -> Collaboration:
    collaboration, org = collaboration_for_partner_user(request, collaboration_id)
    if not org.is_admin:
        raise PermissionDenied
    return collaboration


def customer_may_read(collaboration: Collaboration) -> bool:
    """Whether the customer's users may see the collaboration's files: while it is active, and
    read-only after it ended with its files kept, until `read_until`."""
    if collaboration.status == CollaborationStatus.ACTIVE:
        return True
    return ended_read_only(collaboration)


def ended_read_only(collaboration: Collaboration) -> bool:
    """An ended collaboration whose customer may still read (never write) its files."""
    return (
        collaboration.status == CollaborationStatus.ENDED
        and collaboration.read_until is not None
        and collaboration.read_until > timezone.now()
    )


def collaboration_for_customer_user(
    request: HttpRequest, collaboration_id: int, *, ended_read: bool = False
) -> tuple[Collaboration, Organisation]:
    """An active collaboration of one of the user's customers; with `ended_read`, also an ended
    one still in its read period (customer_may_read): the pages that only read its files."""
    collaboration = get_object_or_404(
        Collaboration.objects.select_related("partner", "customer"), pk=collaboration_id
    )
    if not (customer_may_read(collaboration) if ended_read else collaboration.is_active):
        raise Http404
    ctx = org_context(request)
    org = ctx.find("customer", collaboration.customer_id)
    if org is None:
        raise Http404
    ctx.activate("customer", org.id)
    return collaboration, org


def collaboration_for_ending_admin(request: AuthedRequest, collaboration_id: int) -> Collaboration:
    """A collaboration whose files an account administrator of its partner may still reach around
    its end: an open one (as collaboration_for_partner_admin: staff 403), or an ended one (its
    files-kept page and zip; 404 for anyone but the partner's account administrators)."""
    collaboration = get_object_or_404(
        Collaboration.objects.select_related("partner", "customer"), pk=collaboration_id
    )
    if collaboration.status != CollaborationStatus.ENDED:
        return collaboration_for_partner_admin(request, collaboration_id)
    ctx = org_context(request)
    org = ctx.find("partner", collaboration.partner_id)
    if org is None or not org.is_admin:
        raise Http404
    ctx.activate("partner", org.id)
    return collaboration


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
    token_hash = invitation_token_hash(token)
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
