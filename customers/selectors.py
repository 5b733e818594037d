"""Reads that always take the acting user and return permission-filtered querysets."""

from __future__ import annotations

from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from customers.models import (
    Collaboration,
    CollaborationStatus,
    CollaborationUserObjectPermission,
    CustomerKind,
    CustomerMembership,
)
from partners.models import PartnerMembership, PartnerRole
from portal import sql
from portal.context import Organisation
from portal.models import User

OPEN_STATUSES = [CollaborationStatus.ACTIVE, CollaborationStatus.INVITED]


def customer_organisations(user: User) -> list[Organisation]:
    """The customers `user` belongs to, for the organisation switcher; one query."""
    rows = CustomerMembership.objects.filter(user=user).values_list(
        "customer_id", "customer__name", "is_admin", "is_primary_contact"
    )
    return [
        Organisation("customer", customer_id, name, is_admin or is_primary, is_primary)
        for customer_id, name, is_admin, is_primary in sorted(rows, key=lambda row: row[1].lower())
    ]


def staff_assignment_exists(*, user: User) -> Exists:
    """True for collaborations `user` is assigned to, as one subquery over the direct permission table."""
    return Exists(
        CollaborationUserObjectPermission.objects.filter(
            content_object=OuterRef("pk"),
            user=user,
            permission__codename="work_with_customer",
            permission__content_type__app_label="customers",
        )
    )


def partner_user_scope(
    *, user: User, partner: Organisation, include_ended: bool = False
) -> QuerySet[Collaboration]:
    """The partner's customers this user may see: all for an account administrator, the assigned
    ones for staff; open ones, and ended ones too with `include_ended`. Neither annotated nor
    ordered: the rule itself, for collaborations_for_partner_user and for a subquery. The partner
    search keeps the rule compiled per (partner.id, partner.is_admin, user.pk)
    (documents.selectors.FoundAtPartner): a rule that came to depend on anything else must be
    keyed by it there too."""
    statuses = [*OPEN_STATUSES, CollaborationStatus.ENDED] if include_ended else OPEN_STATUSES
    qs = Collaboration.objects.filter(partner_id=partner.id, status__in=statuses)
    if not partner.is_admin:
        qs = qs.filter(staff_assignment_exists(user=user))
    return qs


def collaborations_for_partner_user(
    *, user: User, partner: Organisation, search: str = "", include_ended: bool = False
) -> QuerySet[Collaboration]:
    """The partner's customers this user may see (partner_user_scope), annotated with the
    customer's primary contact, in a constant number of queries."""
    qs = partner_user_scope(user=user, partner=partner, include_ended=include_ended)
    if search.strip():
        term = search.strip()
        qs = qs.filter(Q(customer__name__icontains=term) | Q(customer__org_number__icontains=term))
    # The primary contact's name and email as SQL subqueries (portal.sql: cheaper to build).
    primary = (
        f"FROM {sql.table(CustomerMembership)} m JOIN {sql.table(User)} u ON u.id = m.user_id"
        f" WHERE m.customer_id = {sql.outer(Collaboration, 'customer_id')} AND m.is_primary_contact"
        " ORDER BY u.id LIMIT 1"
    )
    return (
        qs.select_related("customer")
        .annotate(
            primary_contact_name=sql.scalar(f"SELECT u.name {primary}", [], CharField()),
            primary_contact_email=sql.scalar(f"SELECT u.email {primary}", [], CharField()),
        )
        .order_by("customer__name", "pk")
    )


def collaborations_for_customer_user(*, customer: Organisation) -> QuerySet[Collaboration]:
    """The active collaborations of the customer the user acts for: the partners under Samarbeten,
    with those ended whose files the customer may still read (read_until not passed)."""
    ended_readable = Q(status=CollaborationStatus.ENDED, read_until__gt=timezone.now())
    return (
        Collaboration.objects.filter(customer_id=customer.id)
        .filter(Q(status=CollaborationStatus.ACTIVE) | ended_readable)
        .select_related("partner")
        .order_by("partner__name", "pk")
    )


def invitations_for_customer_admin(*, customer: Organisation) -> QuerySet[Collaboration]:
    if not customer.is_admin:
        return Collaboration.objects.none()
    return (
        Collaboration.objects.filter(customer_id=customer.id, status=CollaborationStatus.INVITED)
        .select_related("partner", "created_by")
        .order_by("created_at")
    )


def customer_users(*, customer_id: int) -> QuerySet[CustomerMembership]:
    """The users of a customer; the caller has checked that the acting user may see them."""
    return (
        CustomerMembership.objects.filter(customer_id=customer_id)
        .select_related("user")
        .order_by("-is_primary_contact", "user__name", "user__email")
    )


def customer_users_for_partner(*, collaboration: Collaboration) -> QuerySet[CustomerMembership]:
    """The customer's users as its partner sees them: only once the collaboration is active, so
    that an invitation alone reveals nothing about the people of the invited company."""
    if not collaboration.is_active:
        return CustomerMembership.objects.none()
    return customer_users(customer_id=collaboration.customer_id)


def partner_staff_for_assignment(*, collaboration: Collaboration) -> QuerySet[PartnerMembership]:
    """Staff members of the collaboration's partner, each annotated with whether they are assigned."""
    assigned = CollaborationUserObjectPermission.objects.filter(
        content_object=collaboration, user=OuterRef("user_id"), permission__codename="work_with_customer"
    )
    return (
        PartnerMembership.objects.filter(partner_id=collaboration.partner_id, role=PartnerRole.STAFF)
        .select_related("user")
        .annotate(is_assigned=Exists(assigned))
        .order_by("user__name")
    )


def partner_manages_users(*, collaboration: Collaboration) -> bool:
    """Whether the collaboration's partner adds users to the customer (README, Customers).

    Only the partner that created a free Documents account, while that collaboration is active,
    and until the account is taken over, for good: when another partner has a collaboration with
    it (invited, active, declined or ended), or its own primary contact or administrators have
    changed its users or answered an invitation (`taken_over_at`). From then on only they manage
    its users. A customer with its own subscription always manages its users itself.
    """
    customer = collaboration.customer
    return (
        customer.kind == CustomerKind.DOCUMENTS
        and customer.created_by_partner_id == collaboration.partner_id
        and collaboration.status == CollaborationStatus.ACTIVE
        and customer.taken_over_at is None
        and not Collaboration.objects.filter(customer_id=customer.pk)
        .exclude(partner_id=collaboration.partner_id)
        .exists()
    )
