"""Every access decision about partners. Another tenant's object is a 404, never a 403."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from partners.models import Partner, PartnerMembership
from portal.context import Organisation, org_context


def active_partner(request: HttpRequest) -> tuple[Partner, bool]:
    """The partner the user acts for and whether they are its account administrator.

    404 when the active organisation is not a partner: the page does not exist for them.
    """
    org = org_context(request).partner
    if org is None:
        raise Http404
    return Partner.objects.get(pk=org.id), org.is_admin


def active_partner_org(request: HttpRequest) -> Organisation:
    """The active organisation when it is a partner (404 otherwise)."""
    org = org_context(request).partner
    if org is None:
        raise Http404
    return org


def active_partner_for_admin(request: HttpRequest) -> Partner:
    """As active_partner, but staff without the administrator role get 403."""
    partner, is_admin = active_partner(request)
    if not is_admin:
        raise PermissionDenied
    return partner


def membership_for_admin(request: HttpRequest, membership_id: int) -> PartnerMembership:
    """A membership of the admin's own active partner; one of any other partner is a 404."""
    partner = active_partner_for_admin(request)
    return get_object_or_404(
        PartnerMembership.objects.select_related("user", "partner"), pk=membership_id, partner=partner
    )
