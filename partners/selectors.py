from __future__ import annotations

from django.db.models import QuerySet

from partners.models import Partner, PartnerMembership, PartnerRole
from portal.context import Organisation
from portal.models import User


def partner_organisations(user: User) -> list[Organisation]:
    """The partners `user` works for, for the organisation switcher; one query."""
    rows = PartnerMembership.objects.filter(user=user).values_list(
        "partner_id", "partner__name", "role", "partner__require_two_factor"
    )
    return [
        Organisation("partner", partner_id, name, role == PartnerRole.ADMIN, requires_two_factor=required)
        for partner_id, name, role, required in sorted(rows, key=lambda row: row[1].lower())
    ]


def staff_of(*, partner: Partner) -> QuerySet[PartnerMembership]:
    """The partner's members, for a user who is a member of it (access checked by the caller)."""
    return (
        PartnerMembership.objects.filter(partner=partner)
        .select_related("user")
        .order_by("user__name", "user__email")
    )
