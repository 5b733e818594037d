"""Customer accounts, their users (memberships) and the collaboration between a partner and a customer."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from partners.models import Partner
from portal.validators import validate_orgnr


class CustomerKind(models.TextChoices):
    DOCUMENTS = "documents", _("Documents account (free)")
    SUBSCRIPTION = "subscription", _("Own subscription")


class CustomerAccount(models.Model):
    """A company that is a customer of one or more partners."""

    name = models.CharField(_("name"), max_length=200)
    org_number = models.CharField(_("organisation number"), max_length=11, validators=[validate_orgnr])
    kind = models.CharField(
        _("kind"), max_length=20, choices=CustomerKind.choices, default=CustomerKind.DOCUMENTS
    )
    created_by_partner = models.ForeignKey(
        Partner, on_delete=models.SET_NULL, null=True, blank=True, related_name="created_customers"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # When the account became the customer's own to manage (see selectors.partner_manages_users):
    # another partner invited it, or its own administrators managed its users or answered an
    # invitation. Never cleared: from then on only the customer's admins manage its users.
    taken_over_at = models.DateTimeField(_("managed by the customer since"), null=True, blank=True)
    # "All users at the customer" as one guardian group, so a folder shared with everyone is one
    # permission row. Who is in it is read from CustomerMembership (see documents.selectors), so
    # a user removed from the customer loses access at once; the group holds no users itself.
    all_users_group = models.OneToOneField(
        Group,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customer_account",
        editable=False,
    )

    class Meta:
        verbose_name = _("customer account")
        verbose_name_plural = _("customer accounts")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["org_number"]),
            # Mina samarbeten lists a firm's customers by name, 25 a page: with this index
            # PostgreSQL walks the names in order and stops after the page, where it joined and
            # sorted all of the firm's customers (2.4 -> 0.4 ms at 1,000 customers).
            models.Index(fields=["name"], name="customer_account_name"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomerMembership(models.Model):
    """A user at a customer. Exactly one membership per customer is the primary contact."""

    customer = models.ForeignKey(CustomerAccount, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_memberships"
    )
    is_primary_contact = models.BooleanField(_("primary contact"), default=False)
    is_admin = models.BooleanField(_("administrator"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Set when the welcome email was claimed for sending: the task sends at most once.
    welcome_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("customer user")
        verbose_name_plural = _("customer users")
        ordering = ["customer", "-is_primary_contact", "user__name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "user"], name="customer_membership_unique"),
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_primary_contact=True),
                name="customer_one_primary_contact",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.customer}"

    @property
    def manages_users(self) -> bool:
        return self.is_primary_contact or self.is_admin


class CollaborationStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    ACTIVE = "active", _("Active")
    DECLINED = "declined", _("Declined")
    ENDED = "ended", _("Ended")


class Collaboration(models.Model):
    """A partner working with a customer. Folders and signings hang off this."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="collaborations")
    customer = models.ForeignKey(CustomerAccount, on_delete=models.CASCADE, related_name="collaborations")
    status = models.CharField(
        _("status"), max_length=10, choices=CollaborationStatus.choices, default=CollaborationStatus.ACTIVE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Invitations of an existing customer account: only the sha256 of the emailed token is stored.
    invitation_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    invited_email = models.EmailField(_("invited email"), blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Ending: the customer's users keep read access until `read_until` (None: the files were deleted
    # when it ended); `files_deleted_at` is when its files were deleted (all but those under a
    # retention rule, which the partner keeps read-only until their retention ends).
    read_until = models.DateTimeField(null=True, blank=True)
    files_deleted_at = models.DateTimeField(null=True, blank=True)
    invitation_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("collaboration")
        verbose_name_plural = _("collaborations")
        ordering = ["customer__name"]
        constraints = [
            # One open collaboration per partner and customer; ended and declined ones are history.
            models.UniqueConstraint(
                fields=["partner", "customer"],
                condition=models.Q(status__in=["invited", "active"]),
                name="collaboration_one_open_per_pair",
            )
        ]
        indexes = [models.Index(fields=["partner", "status"]), models.Index(fields=["customer", "status"])]
        permissions = [("work_with_customer", "Can work with this customer (assigned partner staff)")]

    def __str__(self) -> str:
        return f"{self.partner} ↔ {self.customer}"

    def get_absolute_url(self) -> str:
        return reverse("customers:customer_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status == CollaborationStatus.ACTIVE


# Direct foreign-key permission tables (guardian's "performance tuning"): staff assignments are rows
# here, joined by integer key, instead of the generic table's varchar object_pk.
class CollaborationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Collaboration, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("staff assignment")
        verbose_name_plural = _("staff assignments")


class CollaborationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Collaboration, on_delete=models.CASCADE)
