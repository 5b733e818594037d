"""Writes for customers, their users and collaborations. Each function holds its rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from django.db.models import Case, Q, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm

from customers import selectors
from customers.hooks import collaboration_ended, membership_removed
from customers.invitations import invitation_token, invitation_token_hash, new_invitation_nonce
from customers.models import (
    Collaboration,
    CollaborationStatus,
    CollaborationUserObjectPermission,
    CustomerAccount,
    CustomerKind,
    CustomerMembership,
)
from partners.models import Partner, PartnerMembership, PartnerRole
from portal.audit import audit_record
from portal.errors import ServiceError
from portal.models import Language, User
from portal.outbox import outbox_add
from portal.services import user_get_or_create
from portal.sessions import sessions_end_without_organisation
from portal.validators import normalize_orgnr

WORK_WITH_CUSTOMER = "customers.work_with_customer"


@dataclass(frozen=True)
class NewCustomerUser:
    name: str
    email: str
    language: str = Language.SWEDISH
    send_welcome: bool = True
    personnummer: str = ""  # 12 digits (the form normalises it), or ""


def _enqueue_welcome(membership: CustomerMembership, partner: Partner | None) -> None:
    outbox_add("customers.tasks.send_customer_welcome", membership.pk, partner.pk if partner else None)


def _add_member(
    *,
    customer: CustomerAccount,
    spec: NewCustomerUser,
    is_primary_contact: bool = False,
    is_admin: bool = False,
    by_partner: Partner | None = None,
) -> CustomerMembership:
    """Make the person with `spec.email` a user of `customer`. `by_partner`: the partner doing it
    (the partner side), whose own people are never made users of a customer: they would act as
    the customer and read what other partners share with it."""
    if by_partner is not None:
        _refuse_partner_member(partner=by_partner, email=spec.email)
    user, created = user_get_or_create(email=spec.email, name=spec.name, language=spec.language)
    if spec.personnummer:
        _set_personnummer(user, spec.personnummer, created=created)
    if CustomerMembership.objects.filter(customer=customer, user=user).exists():
        raise ServiceError(
            _("%(email)s is already a user at %(customer)s.")
            % {"email": user.email, "customer": customer.name},
            field="email",
        )
    return CustomerMembership.objects.create(
        customer=customer,
        user=user,
        is_primary_contact=is_primary_contact,
        is_admin=is_admin or is_primary_contact,
    )


def _set_personnummer(user: User, personnummer: str, *, created: bool) -> None:
    """Give a new user the personnummer they will log in with by BankID. Someone who already has an
    account sets theirs in My account: nobody else may tie a BankID to their account. Two users
    never share one (a unique constraint, so two forms at once cannot both take it)."""
    if not created:
        if user.personnummer == personnummer:
            return
        raise ServiceError(
            _("%(email)s already has an account: only they can set its personal identity number.")
            % {"email": user.email},
            field="personnummer",
        )
    taken = ServiceError(
        _("%(email)s: another user already has this personal identity number.") % {"email": user.email},
        field="personnummer",
    )
    if User.objects.filter(personnummer=personnummer).exists():
        raise taken
    try:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(personnummer=personnummer)
    except IntegrityError:
        raise taken from None
    user.personnummer = personnummer


def _refuse_partner_member(*, partner: Partner, email: str) -> None:
    email = email.strip().lower()
    if PartnerMembership.objects.filter(partner=partner, user__email__iexact=email).exists():
        raise ServiceError(
            _("%(email)s works at %(partner)s: a firm cannot make its own people users of its customers.")
            % {"email": email, "partner": partner.name},
            field="email",
        )


@transaction.atomic
def customer_create(
    *,
    partner: Partner,
    actor: User,
    name: str,
    org_number: str,
    primary_contact: NewCustomerUser,
    users: Sequence[NewCustomerUser] = (),
) -> Collaboration:
    """Create a free Documents customer with its users, collaborating with `partner` at once.

    Welcome emails (with a set-password link for people new to the portal) go out after
    commit for each user whose `send_welcome` is set. Staff who create a customer are
    assigned to it, or they could not see what they just made.
    """
    org_number = normalize_orgnr(org_number)
    emails = [primary_contact.email.strip().lower()] + [u.email.strip().lower() for u in users]
    if len(set(emails)) != len(emails):
        raise ServiceError(_("Each user needs their own email address; one appears twice."), field="email")
    if Collaboration.objects.filter(
        partner=partner,
        customer__org_number=org_number,
        status__in=[CollaborationStatus.ACTIVE, CollaborationStatus.INVITED],
    ).exists():
        raise ServiceError(
            _("You already have a customer with organisation number %(org)s.") % {"org": org_number},
            field="org_number",
        )
    customer = CustomerAccount.objects.create(
        name=name.strip(), org_number=org_number, kind=CustomerKind.DOCUMENTS, created_by_partner=partner
    )
    members = [
        _add_member(customer=customer, spec=primary_contact, is_primary_contact=True, by_partner=partner)
    ]
    members += [_add_member(customer=customer, spec=spec, by_partner=partner) for spec in users]
    collaboration = Collaboration.objects.create(
        partner=partner, customer=customer, status=CollaborationStatus.ACTIVE, created_by=actor
    )
    _assign_creator(collaboration=collaboration, actor=actor)
    for spec, membership in zip([primary_contact, *users], members, strict=True):
        if spec.send_welcome:
            _enqueue_welcome(membership, partner)
    return collaboration


def _assign_creator(*, collaboration: Collaboration, actor: User) -> None:
    if PartnerMembership.objects.filter(
        partner_id=collaboration.partner_id, user=actor, role=PartnerRole.STAFF
    ).exists():
        assign_perm(WORK_WITH_CUSTOMER, actor, collaboration)


@transaction.atomic
def customer_invite(
    *, partner: Partner, actor: User, org_number: str, email: str
) -> tuple[Collaboration, str]:
    """Invite an existing customer account to collaborate, by its org number and an admin's email.

    Both must match, and the refusal does not say which did not: the form is no way to
    learn who is a customer of the portal. Returns the collaboration and the raw token
    (only its hash is stored); the invitation email goes out after commit.
    """
    org_number = normalize_orgnr(org_number)
    email = email.strip().lower()
    membership = (
        CustomerMembership.objects.filter(customer__org_number=org_number, user__email__iexact=email)
        .filter(Q(is_admin=True) | Q(is_primary_contact=True))
        .select_related("customer")
        # A company's own subscription before a Documents account ("documents" sorts first by name).
        .order_by(Case(When(customer__kind=CustomerKind.SUBSCRIPTION, then=0), default=1), "customer_id")
        .first()
    )
    if membership is None:
        raise ServiceError(
            _("No customer account with that organisation number has an administrator with that email.")
        )
    customer = _lock_customer(membership.customer_id)
    existing = Collaboration.objects.filter(
        partner=partner,
        customer=customer,
        status__in=[CollaborationStatus.ACTIVE, CollaborationStatus.INVITED],
    ).first()
    if existing is not None:
        if existing.status == CollaborationStatus.INVITED:
            raise ServiceError(_("%(customer)s has already been invited.") % {"customer": customer.name})
        raise ServiceError(_("You already collaborate with %(customer)s.") % {"customer": customer.name})
    nonce = new_invitation_nonce()  # the outbox row holds the nonce, never the token
    token = invitation_token(nonce)
    try:
        with transaction.atomic():
            collaboration = Collaboration.objects.create(
                partner=partner,
                customer=customer,
                status=CollaborationStatus.INVITED,
                created_by=actor,
                invitation_token_hash=invitation_token_hash(token),
                invited_email=email,
            )
    except IntegrityError:  # a parallel invitation won the race
        raise ServiceError(
            _("%(customer)s has already been invited.") % {"customer": customer.name}
        ) from None
    _assign_creator(collaboration=collaboration, actor=actor)
    if customer.created_by_partner_id != partner.pk:
        # A second partner: whatever the answer, the creating partner manages the users no more.
        _mark_taken_over(customer)
    outbox_add("customers.tasks.send_collaboration_invitation", collaboration.pk, membership.user_id, nonce)
    _notify_invitation(collaboration=collaboration, actor=actor, invited=membership.user)
    return collaboration, token


def _notify_invitation(*, collaboration: Collaboration, actor: User, invited: User) -> None:
    """The customer's other administrators hear of the invitation in the portal (and by email, as
    they choose); the invited administrator has the invitation email with its link."""
    from notifications.models import Event
    from notifications.services import notifications_add

    admins = User.objects.filter(
        Q(customer_memberships__is_admin=True) | Q(customer_memberships__is_primary_contact=True),
        customer_memberships__customer_id=collaboration.customer_id,
    ).exclude(pk=invited.pk)
    notifications_add(
        event=Event.INVITATION,
        recipients=admins.distinct(),
        actor=actor,
        collaboration=collaboration,
        url=reverse("customers:collaboration_list"),
        params={"partner": collaboration.partner.name, "customer": collaboration.customer.name},
    )


@transaction.atomic
def invitation_respond(*, collaboration: Collaboration, actor: User, accept: bool) -> Collaboration:
    """Accept or decline an invitation once. The caller has checked that `actor` administers the customer."""
    _lock_customer(collaboration.customer_id)
    collaboration = Collaboration.objects.select_for_update().get(pk=collaboration.pk)
    if collaboration.status != CollaborationStatus.INVITED:
        raise ServiceError(_("This invitation has already been answered."))
    _customer_acts(customer_id=collaboration.customer_id, actor=actor)
    collaboration.status = CollaborationStatus.ACTIVE if accept else CollaborationStatus.DECLINED
    collaboration.responded_by = actor
    collaboration.responded_at = timezone.now()
    # The token hash stays, so that opening the link again says "already answered" instead of 404.
    collaboration.save(update_fields=["status", "responded_by", "responded_at"])
    return collaboration


@transaction.atomic
def collaboration_end(
    *, collaboration: Collaboration, actor: User, delete_files: bool = False, confirm: str = ""
) -> Collaboration:
    """End a collaboration. The caller checked that `actor` is an account administrator of its
    partner (or a site operator).

    Keeping the files: the customer's users keep read-only access until `read_until`
    (settings.PORTAL_ENDED_READ_DAYS from now); then documents.tasks.purge_ended_collaborations
    deletes them. Deleting them: `confirm` must be the customer's name, and the files go at once,
    in this transaction. Either way documents under a retention rule stay (read-only, for the
    partner, still counted) until their retention ends. Pending signings and open document requests
    are cancelled with notice (the apps' hooks, customers.hooks.collaboration_ended), and the
    customer's administrators are told by email after commit.
    """
    # FOR NO KEY UPDATE: an upload committing meanwhile takes a key-share lock on it for its audit
    # row while holding its partner's row, which the refunds and the purge below lock too.
    collaboration = (
        Collaboration.objects.select_for_update(no_key=True, of=("self",))
        .select_related("customer")
        .get(pk=collaboration.pk)
    )
    if collaboration.status == CollaborationStatus.ENDED:
        raise ServiceError(_("This collaboration has already ended."))
    if delete_files and confirm.strip().casefold() != collaboration.customer.name.strip().casefold():
        raise ServiceError(
            _("Type the customer's name, %(name)s, to delete everything now.")
            % {"name": collaboration.customer.name},
            field="confirm",
        )
    was_active = collaboration.status == CollaborationStatus.ACTIVE
    now = timezone.now()
    collaboration.status = CollaborationStatus.ENDED
    collaboration.ended_at = now
    collaboration.invitation_token_hash = ""
    # The customer reads on only what it could read: an invitation never answered gives no read
    # period, and whatever the firm filed for it goes with the next nightly purge.
    read_days = dt.timedelta(days=settings.PORTAL_ENDED_READ_DAYS)
    collaboration.read_until = None if delete_files or not was_active else now + read_days
    collaboration.save(update_fields=["status", "ended_at", "invitation_token_hash", "read_until"])
    CollaborationUserObjectPermission.objects.filter(content_object=collaboration).delete()
    collaboration_ended(collaboration=collaboration, actor=actor, delete_now=delete_files)
    audit_record(
        actor=actor,
        action="collaboration.end",
        obj=collaboration,
        collaboration_id=collaboration.pk,
        files="deleted" if delete_files else "kept",
    )
    if was_active:
        # One task per person, so that a failed send is retried for that person alone.
        told = CustomerMembership.objects.filter(customer_id=collaboration.customer_id).filter(
            Q(is_admin=True) | Q(is_primary_contact=True)
        )
        for user_id in told.order_by("user_id").values_list("user_id", flat=True):
            outbox_add("customers.tasks.send_collaboration_ended", collaboration.pk, user_id, actor.pk)
    return collaboration


def _work_permission() -> Permission:
    app_label, codename = WORK_WITH_CUSTOMER.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def staff_assign(*, collaboration: Collaboration, actor: User, user_ids: Iterable[int]) -> None:
    """Make exactly `user_ids` the staff assigned to the collaboration.

    Only staff of the collaboration's partner can be assigned; admins see every customer
    anyway, so they need no assignment.
    """
    wanted = set(user_ids)
    staff_ids = set(
        PartnerMembership.objects.filter(
            partner_id=collaboration.partner_id, role=PartnerRole.STAFF, user_id__in=wanted
        ).values_list("user_id", flat=True)
    )
    if wanted - staff_ids:
        raise ServiceError(
            _("Only staff members of %(partner)s can be assigned.") % {"partner": collaboration.partner.name}
        )
    permission = _work_permission()
    current = set(
        CollaborationUserObjectPermission.objects.filter(
            content_object=collaboration, permission=permission
        ).values_list("user_id", flat=True)
    )
    CollaborationUserObjectPermission.objects.filter(
        content_object=collaboration, permission=permission, user_id__in=current - wanted
    ).delete()
    CollaborationUserObjectPermission.objects.bulk_create(
        [
            CollaborationUserObjectPermission(
                content_object=collaboration, permission=permission, user_id=uid
            )
            for uid in wanted - current
        ]
    )


def staff_unassign_all(*, partner: Partner, user: User) -> None:
    CollaborationUserObjectPermission.objects.filter(content_object__partner=partner, user=user).delete()


def all_users_group_get_or_create(*, customer: CustomerAccount) -> Group:
    """The group that stands for "all users at the customer" in folder permissions, made on first
    use (under the customer's row lock, so two first uses make one)."""
    if customer.all_users_group_id is not None:
        return customer.all_users_group  # type: ignore[return-value]
    with transaction.atomic():
        locked = _lock_customer(customer.pk)
        if locked.all_users_group_id is None:
            locked.all_users_group = Group.objects.create(name=f"customer-{customer.pk}-all-users")
            locked.save(update_fields=["all_users_group"])
    customer.all_users_group = locked.all_users_group
    return locked.all_users_group  # type: ignore[return-value]


# --- Customer users, managed by the customer's primary contact and admins -----------------
#
# ...and, for a free Documents account, by the partner that created it until the account is taken
# over (partner_manages_users). Lock order: the customer row first, then its memberships.


def _lock_customer(customer_id: int) -> CustomerAccount:
    return CustomerAccount.objects.select_for_update().get(pk=customer_id)


def _mark_taken_over(customer: CustomerAccount) -> None:
    """Precondition: the customer row is locked (or was just created) in this transaction."""
    if customer.taken_over_at is None:
        customer.taken_over_at = timezone.now()
        customer.save(update_fields=["taken_over_at"])


def _customer_acts(*, customer_id: int, actor: User) -> None:
    """The customer's own user changed its users or answered an invitation: the account is the
    customer's from now on. A site operator in the Django admin is not the customer and takes
    nothing over. Precondition: the customer row is locked."""
    if CustomerMembership.objects.filter(customer_id=customer_id, user=actor).exists():
        _mark_taken_over(CustomerAccount.objects.get(pk=customer_id))


@transaction.atomic
def customer_user_add_by_partner(
    *, collaboration: Collaboration, actor: User, spec: NewCustomerUser, is_admin: bool = False
) -> CustomerMembership:
    """The partner adds a user to a customer whose users it manages (`partner_manages_users`,
    decided again under the customer's lock). Never one of the partner's own people."""
    customer = _lock_customer(collaboration.customer_id)
    collaboration = Collaboration.objects.select_related("partner").get(pk=collaboration.pk)
    collaboration.customer = customer
    if not selectors.partner_manages_users(collaboration=collaboration):
        raise ServiceError(_("%(name)s manages its own users.") % {"name": customer.name})
    membership = _add_member(
        customer=customer, spec=spec, is_admin=is_admin, by_partner=collaboration.partner
    )
    if spec.send_welcome:
        _enqueue_welcome(membership, collaboration.partner)
    return membership


@transaction.atomic
def customer_user_add(
    *, customer: CustomerAccount, actor: User, spec: NewCustomerUser, is_admin: bool = False
) -> CustomerMembership:
    """The customer's primary contact or an administrator adds a user (the caller checked the right)."""
    _lock_customer(customer.pk)
    _customer_acts(customer_id=customer.pk, actor=actor)
    membership = _add_member(customer=customer, spec=spec, is_admin=is_admin)
    if spec.send_welcome:
        _enqueue_welcome(membership, None)
    return membership


@transaction.atomic
def customer_user_set_admin(
    *, membership: CustomerMembership, actor: User, is_admin: bool
) -> CustomerMembership:
    _lock_customer(membership.customer_id)
    membership = CustomerMembership.objects.get(pk=membership.pk)
    if membership.is_primary_contact and not is_admin:
        raise ServiceError(_("The primary contact is always an administrator."))
    _customer_acts(customer_id=membership.customer_id, actor=actor)
    membership.is_admin = is_admin
    membership.save(update_fields=["is_admin"])
    return membership


@transaction.atomic
def customer_primary_contact_transfer(*, membership: CustomerMembership, actor: User) -> CustomerMembership:
    """Make `membership` the customer's one primary contact. The previous one stays an admin.

    Within the customer only the current primary contact hands the role over; another
    administrator may not take it, nor give it away. A site operator (no user of the customer)
    may, in the Django admin.
    """
    _lock_customer(membership.customer_id)
    acting = CustomerMembership.objects.filter(customer_id=membership.customer_id, user=actor).first()
    if acting is not None and not acting.is_primary_contact:
        raise ServiceError(_("Only the primary contact can hand over the role."))
    _customer_acts(customer_id=membership.customer_id, actor=actor)
    CustomerMembership.objects.filter(customer_id=membership.customer_id, is_primary_contact=True).exclude(
        pk=membership.pk
    ).update(is_primary_contact=False, is_admin=True)
    CustomerMembership.objects.filter(pk=membership.pk).update(is_primary_contact=True, is_admin=True)
    return CustomerMembership.objects.get(pk=membership.pk)


@transaction.atomic
def customer_user_remove(*, membership: CustomerMembership, actor: User) -> None:
    """Remove a user from the customer, with everything that gave them access there: their own
    grants on the customer's folders go in this transaction (membership_removed), so that adding
    them again later starts from nothing."""
    _lock_customer(membership.customer_id)
    membership = CustomerMembership.objects.select_related("user").get(pk=membership.pk)
    if membership.is_primary_contact:
        raise ServiceError(
            _("Make someone else the primary contact before removing %(name)s.")
            % {"name": membership.user.get_full_name()}
        )
    _customer_acts(customer_id=membership.customer_id, actor=actor)
    membership.delete()
    membership_removed(customer_id=membership.customer_id, user_id=membership.user_id)
    sessions_end_without_organisation(user=membership.user, actor=actor)


@transaction.atomic
def welcome_resend(*, membership: CustomerMembership, actor: User, partner: Partner | None = None) -> None:
    CustomerMembership.objects.filter(pk=membership.pk).update(welcome_sent_at=None)
    _enqueue_welcome(membership, partner)
