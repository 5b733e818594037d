"""Partners (the accounting firms), their plans and their staff memberships."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.validators import validate_orgnr


class Plan(models.TextChoices):
    PORTAL = "portal", _("Partner Portal (free)")
    BYRA = "byra", _("Byrå")


class Partner(models.Model):
    """An accounting or consulting firm (a byrå)."""

    name = models.CharField(_("name"), max_length=200)
    org_number = models.CharField(
        _("organisation number"), max_length=11, unique=True, validators=[validate_orgnr]
    )
    plan = models.CharField(_("plan"), max_length=10, choices=Plan.choices, default=Plan.PORTAL)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Kept by billing.services only, under a lock on this row, in the transaction that changes
    # what they count: the bytes of every stored file (reconciled nightly against the sizes) and
    # the sum of the signature ledger.
    storage_used_bytes = models.BigIntegerField(_("storage used (bytes)"), default=0)
    signature_balance = models.IntegerField(_("signature balance"), default=0)
    # The most paid storage blocks the account administrators allow; None: no cap.
    storage_cap_blocks = models.PositiveIntegerField(_("storage cap (paid blocks)"), null=True, blank=True)
    # The account administrators hear when a charge leaves this many signatures; None: never.
    signature_low_threshold = models.PositiveIntegerField(
        _("warn at signatures left"), null=True, blank=True, default=3
    )
    # Set by an account administrator: every member of the firm must use two-factor
    # authentication, and is walked through enrolling at their next page (portal/twofactor.py).
    require_two_factor = models.BooleanField(_("require two-factor authentication"), default=False)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(signature_balance__gte=0), name="partner_signature_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(storage_used_bytes__gte=0), name="partner_storage_used_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PartnerRole(models.TextChoices):
    ADMIN = "admin", _("Account administrator")
    STAFF = "staff", _("Staff")


class PartnerMembership(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_memberships"
    )
    role = models.CharField(_("role"), max_length=10, choices=PartnerRole.choices, default=PartnerRole.STAFF)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Set when the invitation email was claimed for sending: the task sends at most once.
    invitation_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("partner membership")
        verbose_name_plural = _("partner memberships")
        ordering = ["partner", "user__name"]
        constraints = [models.UniqueConstraint(fields=["partner", "user"], name="partner_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.partner} ({self.role})"

    def get_absolute_url(self) -> str:
        return reverse("partners:staff_list")

    @property
    def is_admin(self) -> bool:
        return self.role == PartnerRole.ADMIN
