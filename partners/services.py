"""Writes for partners and their staff. Each function holds its rule and is atomic."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from partners.models import Partner, PartnerMembership, PartnerRole, Plan
from portal.errors import ServiceError
from portal.models import Language, User
from portal.outbox import outbox_add
from portal.services import user_get_or_create
from portal.sessions import sessions_end_without_organisation
from portal.validators import normalize_orgnr


@transaction.atomic
def partner_create(*, name: str, org_number: str, plan: str = Plan.PORTAL, admin: User) -> Partner:
    """Create a partner with `admin` as its first account administrator."""
    org_number = normalize_orgnr(org_number)
    if Partner.objects.filter(org_number=org_number).exists():
        raise ServiceError(_("A partner with this organisation number already exists."), field="org_number")
    partner = Partner.objects.create(name=name.strip(), org_number=org_number, plan=plan)
    PartnerMembership.objects.create(partner=partner, user=admin, role=PartnerRole.ADMIN)
    # billing depends on partners, not the other way round: import at call time.
    from billing.services import signature_welcome_grant

    signature_welcome_grant(partner=partner)
    return partner


@transaction.atomic
def staff_invite(
    *,
    partner: Partner,
    actor: User,
    email: str,
    name: str,
    role: str = PartnerRole.STAFF,
    language: str = Language.SWEDISH,
) -> PartnerMembership:
    """Add a person to the partner's staff and email them an invitation after commit."""
    user, _created = user_get_or_create(email=email, name=name, language=language)
    if PartnerMembership.objects.filter(partner=partner, user=user).exists():
        raise ServiceError(
            _("%(email)s is already a member of %(partner)s.")
            % {"email": user.email, "partner": partner.name},
            field="email",
        )
    membership = PartnerMembership.objects.create(partner=partner, user=user, role=role, invited_by=actor)
    outbox_add("partners.tasks.send_staff_invitation", membership.pk)
    return membership


def _lock_partner(partner_id: int) -> Partner:
    # Every change to who the admins are takes this lock, so two admins demoting each
    # other at the same moment cannot leave the partner with none.
    return Partner.objects.select_for_update().get(pk=partner_id)


def _admin_count(partner: Partner) -> int:
    return PartnerMembership.objects.filter(partner=partner, role=PartnerRole.ADMIN).count()


@transaction.atomic
def membership_change_role(*, membership: PartnerMembership, actor: User, role: str) -> PartnerMembership:
    if role not in PartnerRole.values:
        raise ServiceError(_("Unknown role."), field="role")
    partner = _lock_partner(membership.partner_id)
    membership = PartnerMembership.objects.get(pk=membership.pk)
    if membership.role == role:
        return membership
    if membership.role == PartnerRole.ADMIN and _admin_count(partner) <= 1:
        raise ServiceError(
            _("%(partner)s must keep at least one account administrator.") % {"partner": partner.name}
        )
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: PartnerMembership, actor: User) -> None:
    """Remove a person from the partner, with their customer assignments. Never the last admin."""
    from customers.services import staff_unassign_all  # customers builds on partners

    partner = _lock_partner(membership.partner_id)
    membership = PartnerMembership.objects.get(pk=membership.pk)
    if membership.role == PartnerRole.ADMIN and _admin_count(partner) <= 1:
        raise ServiceError(
            _("%(partner)s must keep at least one account administrator.") % {"partner": partner.name}
        )
    staff_unassign_all(partner=partner, user=membership.user)
    membership.delete()
    sessions_end_without_organisation(user=membership.user, actor=actor)


@transaction.atomic
def partner_set_two_factor_requirement(*, partner: Partner, actor: User, required: bool) -> Partner:
    """Require (or stop requiring) two-factor authentication of every member of `partner`."""
    partner = _lock_partner(partner.pk)
    if partner.require_two_factor != required:
        partner.require_two_factor = required
        partner.save(update_fields=["require_two_factor"])
    return partner
