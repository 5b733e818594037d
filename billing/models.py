"""What a partner pays for: the signature ledger, storage usage over time, and monthly statements.

Every row here is written by billing.services. The ledger is append-only: a mistake is corrected
by an adjustment entry, never by editing one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import CustomerAccount
from partners.models import Partner, Plan


class EntryKind(models.TextChoices):
    GRANT = "grant", _("Free signatures")
    PURCHASE = "purchase", _("Purchase")
    CHARGE = "charge", _("Signing sent")
    REFUND = "refund", _("Refund")
    ADJUSTMENT = "adjustment", _("Adjustment")


class BalanceEntry(models.Model):
    """One change of a partner's signature balance. The balance is the sum of `amount`."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="balance_entries")
    kind = models.CharField(_("kind"), max_length=12, choices=EntryKind.choices)
    amount = models.IntegerField(_("signatures"))  # + adds, - takes
    balance_after = models.PositiveIntegerField(_("balance after"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # What the entry is for, e.g. "signing:42": a charge or refund for the same thing happens once.
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("balance entry")
        verbose_name_plural = _("balance entries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["partner", "-created_at"], name="balance_entry_partner_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "kind", "reference"],
                condition=~models.Q(reference=""),
                name="balance_entry_once_per_reference",
            ),
            models.CheckConstraint(condition=~models.Q(amount=0), name="balance_entry_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.amount:+d} ({self.get_kind_display()})"


class InvoiceLine(models.Model):
    """Something billed to a partner in a month besides storage: a signature package so far.
    The month's statement lists the lines of its month."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="invoice_lines")
    period = models.DateField(_("month"))  # the first day of the month
    description = models.CharField(_("description"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"))
    amount_ore = models.PositiveBigIntegerField(_("amount (öre)"))
    entry = models.OneToOneField(
        BalanceEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_line"
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["partner", "period"], name="invoice_line_partner_month")]

    def __str__(self) -> str:
        return f"{self.partner} {self.period:%Y-%m}: {self.description}"


class Statement(models.Model):
    """A partner's bill for one month, made on the first of the next. One per partner and month."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="statements")
    period = models.DateField(_("month"))  # the first day of the month
    plan = models.CharField(_("plan"), max_length=10, choices=Plan.choices)
    included_bytes = models.BigIntegerField(_("included storage (bytes)"))
    peak_bytes = models.BigIntegerField(_("peak usage (bytes)"))
    cap_blocks = models.PositiveIntegerField(_("storage cap (paid blocks)"), null=True, blank=True)
    extra_blocks = models.PositiveIntegerField(_("paid storage blocks"))
    block_price_ore = models.PositiveIntegerField(_("price per block (öre)"))
    storage_amount_ore = models.PositiveBigIntegerField(_("storage (öre)"))
    signatures_amount_ore = models.PositiveBigIntegerField(_("signatures (öre)"))
    total_ore = models.PositiveBigIntegerField(_("total (öre)"))
    created_at = models.DateTimeField(_("made"), default=timezone.now)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-period", "partner__name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "period"], name="statement_once_per_month"),
        ]

    def __str__(self) -> str:
        return f"{self.partner} {self.period:%Y-%m}"

    def lines(self) -> models.QuerySet[InvoiceLine]:
        return InvoiceLine.objects.filter(partner_id=self.partner_id, period=self.period)


class UsageSnapshot(models.Model):
    """A partner's stored bytes at the end of a day: in all (customer None) and per customer."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="usage_snapshots")
    customer = models.ForeignKey(
        CustomerAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    day = models.DateField(_("day"))
    bytes_used = models.BigIntegerField(_("bytes"))

    class Meta:
        verbose_name = _("usage snapshot")
        verbose_name_plural = _("usage snapshots")
        ordering = ["-day", "partner_id", "customer_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "day"],
                condition=models.Q(customer__isnull=True),
                name="usage_snapshot_partner_day",
            ),
            models.UniqueConstraint(
                fields=["partner", "customer", "day"],
                condition=models.Q(customer__isnull=False),
                name="usage_snapshot_customer_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} {self.day}: {self.bytes_used}"


class StoragePeak(models.Model):
    """The highest usage a partner reached in a month, raised with every upload under the partner's
    row lock: the statement bills the month's peak, which daily snapshots could miss."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="storage_peaks")
    period = models.DateField(_("month"))
    peak_bytes = models.BigIntegerField(_("peak usage (bytes)"))

    class Meta:
        verbose_name = _("monthly storage peak")
        verbose_name_plural = _("monthly storage peaks")
        constraints = [models.UniqueConstraint(fields=["partner", "period"], name="storage_peak_once")]

    def __str__(self) -> str:
        return f"{self.partner} {self.period:%Y-%m}: {self.peak_bytes}"


class QuoteRequest(models.Model):
    """A "large volumes" request from a partner, emailed to support once after commit."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="quote_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    signatures_per_year = models.PositiveIntegerField(_("signatures per year"))
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("quote request")
        verbose_name_plural = _("quote requests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.partner}: {self.signatures_per_year}/year"
