"""Writes for billing: the signature ledger, storage accounting, caps, snapshots and statements.

The two counters on the partner row (`signature_balance`, `storage_used_bytes`) change only here,
only while that row is locked (SELECT ... FOR UPDATE), in the transaction that changes what they
count. Lock order: content rows (folders, documents) first, the partner row last.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing import plans, selectors, usage
from billing.models import (
    BalanceEntry,
    EntryKind,
    InvoiceLine,
    QuoteRequest,
    Statement,
    StoragePeak,
    UsageSnapshot,
)
from partners.models import Partner, PartnerMembership, PartnerRole
from portal.audit import audit_record
from portal.errors import ServiceError
from portal.models import User
from portal.outbox import outbox_add
from portal.units import format_sek, human_size

logger = logging.getLogger(__name__)

MAX_REASON = 300


class BalanceEmpty(ServiceError):
    """No signatures left: nothing was charged."""


class StorageCapReached(ServiceError):
    """The upload would take the partner past its storage cap: nothing was stored."""


def _lock(partner_id: int) -> Partner:
    return Partner.objects.select_for_update().get(pk=partner_id)


def _is_admin(user: User, partner_id: int) -> bool:
    return PartnerMembership.objects.filter(partner_id=partner_id, user=user, role=PartnerRole.ADMIN).exists()


def _require_admin(user: User, partner_id: int) -> None:
    if not _is_admin(user, partner_id):
        raise ServiceError(_("Only an account administrator can do this."))


# --- Signature ledger ------------------------------------------------------------------------


def _append(
    partner: Partner, *, kind: str, amount: int, actor: User | None, reason: str, reference: str = ""
) -> BalanceEntry:
    """Precondition: `partner` was read with select_for_update in this transaction."""
    new_balance = partner.signature_balance + amount
    if new_balance < 0:
        raise BalanceEmpty(
            _("%(partner)s has no signatures left. An account administrator can buy more under Balances.")
            % {"partner": partner.name}
        )
    Partner.objects.filter(pk=partner.pk).update(signature_balance=new_balance)
    partner.signature_balance = new_balance
    entry = BalanceEntry.objects.create(
        partner=partner,
        kind=kind,
        amount=amount,
        balance_after=new_balance,
        actor=actor,
        reason=reason[:MAX_REASON],
        reference=reference,
    )
    audit_record(
        actor=actor,
        action=f"balance.{kind}",
        obj=partner,
        amount=amount,
        balance=new_balance,
        reason=reason[:MAX_REASON],
        reference=reference,
    )
    return entry


@transaction.atomic
def signature_grant(*, partner: Partner, amount: int, reason: str, actor: User | None = None) -> BalanceEntry:
    """Free signatures (the welcome grant of every new partner)."""
    if amount <= 0:
        raise ServiceError(_("A grant must be at least one signature."))
    return _append(_lock(partner.pk), kind=EntryKind.GRANT, amount=amount, actor=actor, reason=reason)


@transaction.atomic
def signature_welcome_grant(*, partner: Partner) -> BalanceEntry | None:
    """The free signatures a new partner starts with; once per partner."""
    amount = int(settings.WELCOME_SIGNATURES)
    if amount <= 0:
        return None
    locked = _lock(partner.pk)
    if BalanceEntry.objects.filter(partner=locked, kind=EntryKind.GRANT, reference="welcome").exists():
        return None
    return _append(
        locked,
        kind=EntryKind.GRANT,
        amount=amount,
        actor=None,
        reason=_("Welcome: free signatures to start with"),
        reference="welcome",
    )


@transaction.atomic
def signature_purchase(*, partner: Partner, actor: User, signatures: int) -> BalanceEntry:
    """Buy one of the packages in settings.SIGNATURE_PACKAGES: the signatures are added at once and
    an invoice line goes on this month's statement. Account administrators only."""
    prices = plans.packages()
    if signatures not in prices:
        raise ServiceError(_("Choose one of the packages on offer."), field="package")
    _require_admin(actor, partner.pk)
    locked = _lock(partner.pk)
    description = ngettext("Package of %(n)d signature", "Package of %(n)d signatures", signatures) % {
        "n": signatures
    }
    entry = _append(locked, kind=EntryKind.PURCHASE, amount=signatures, actor=actor, reason=description)
    InvoiceLine.objects.create(
        partner=locked,
        period=plans.month_start(timezone.localdate()),
        description=description,
        quantity=signatures,
        amount_ore=prices[signatures],
        entry=entry,
        created_at=entry.created_at,
    )
    return entry


@transaction.atomic
def signature_charge(
    *, partner: Partner, actor: User | None, reference: str, reason: str = ""
) -> BalanceEntry:
    """Charge one signature for `reference` (e.g. "signing:42"). Raises BalanceEmpty at zero.
    Charging the same reference again returns the first charge and takes nothing more."""
    if not reference:
        raise ValueError("a charge needs a reference")
    locked = _lock(partner.pk)
    earlier = BalanceEntry.objects.filter(partner=locked, kind=EntryKind.CHARGE, reference=reference).first()
    if earlier is not None:
        return earlier
    entry = _append(locked, kind=EntryKind.CHARGE, amount=-1, actor=actor, reason=reason, reference=reference)
    threshold = locked.signature_low_threshold
    if threshold is not None and entry.balance_after <= threshold < entry.balance_after + 1:
        from notifications.models import Event
        from notifications.services import notifications_add

        notifications_add(
            event=Event.BALANCE_LOW,
            recipients=_admins(locked.pk),
            actor=None,  # the admins want to hear it even when one of them sent the signing
            collaboration=None,
            url=reverse("billing:balances"),
            params={"partner": locked.name, "balance": entry.balance_after},
        )
    return entry


@transaction.atomic
def signature_refund(
    *, partner: Partner, actor: User | None, reference: str, reason: str = ""
) -> BalanceEntry | None:
    """Give back the signature charged for `reference`, once. None when nothing was charged for it
    or it was already refunded."""
    locked = _lock(partner.pk)
    charged = BalanceEntry.objects.filter(partner=locked, kind=EntryKind.CHARGE, reference=reference).exists()
    refunded = BalanceEntry.objects.filter(
        partner=locked, kind=EntryKind.REFUND, reference=reference
    ).exists()
    if not charged or refunded:
        return None
    return _append(locked, kind=EntryKind.REFUND, amount=1, actor=actor, reason=reason, reference=reference)


@transaction.atomic
def balance_adjust(*, partner: Partner, actor: User, amount: int, reason: str) -> BalanceEntry:
    """A top-up or correction by site staff (Django admin). The reason is required; the balance
    never goes below zero."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ServiceError(_("Give a reason for the adjustment."), field="reason")
    if amount == 0:
        raise ServiceError(_("The adjustment must add or remove at least one signature."), field="amount")
    locked = _lock(partner.pk)
    if locked.signature_balance + amount < 0:
        raise ServiceError(
            _("The balance is %(balance)d: it cannot go below zero.") % {"balance": locked.signature_balance},
            field="amount",
        )
    return _append(locked, kind=EntryKind.ADJUSTMENT, amount=amount, actor=actor, reason=reason)


@transaction.atomic
def balance_threshold_set(*, partner: Partner, actor: User, threshold: int | None) -> Partner:
    """When a charge leaves the balance at `threshold`, the account administrators hear of it
    (None: never). Account administrators only."""
    if threshold is not None and threshold < 0:
        raise ServiceError(_("The threshold cannot be negative."), field="threshold")
    _require_admin(actor, partner.pk)
    locked = _lock(partner.pk)
    Partner.objects.filter(pk=locked.pk).update(signature_low_threshold=threshold)
    locked.signature_low_threshold = threshold
    audit_record(actor=actor, action="balance.threshold", obj=locked, threshold=threshold)
    return locked


@transaction.atomic
def quote_request(*, partner: Partner, actor: User, signatures_per_year: int, message: str) -> QuoteRequest:
    """Ask support for a price on large volumes; emailed to settings.SUPPORT_EMAIL after commit."""
    if signatures_per_year <= 0:
        raise ServiceError(_("Give the number of signatures per year."), field="signatures_per_year")
    if not PartnerMembership.objects.filter(partner=partner, user=actor).exists():
        raise ServiceError(_("Only the partner's own users can ask for a quote."))
    request = QuoteRequest.objects.create(
        partner=partner, requested_by=actor, signatures_per_year=signatures_per_year, message=message.strip()
    )
    outbox_add("billing.tasks.send_quote_request", request.pk)
    return request


# --- Storage ---------------------------------------------------------------------------------


def _cap_message(partner: Partner, terms: plans.StorageTerms, nbytes: int) -> str:
    limit = terms.limit or 0
    return _(
        "%(partner)s has reached its storage cap of %(limit)s (%(blocks)s). This file needs "
        "%(size)s and %(free)s is left. An account administrator of %(partner)s can raise the cap "
        "under Settings > Storage."
    ) % {
        "partner": partner.name,
        "limit": human_size(limit),
        "blocks": ngettext("%(n)d paid block", "%(n)d paid blocks", terms.cap_blocks or 0)
        % {"n": terms.cap_blocks or 0},
        "size": human_size(nbytes),
        "free": human_size(max(0, limit - terms.used)),
    }


def storage_check(*, partner_id: int, nbytes: int) -> None:
    """Refuse early, before a file is stored, when it cannot fit under the cap. Not a guarantee:
    `storage_add` decides, under the lock."""
    partner = Partner.objects.get(pk=partner_id)
    terms = plans.StorageTerms.of(partner)
    if terms.limit is not None and terms.used + nbytes > terms.limit:
        raise StorageCapReached(_cap_message(partner, terms, nbytes))


def _raise_peak(partner_id: int, value: int) -> None:
    """Precondition: the partner row is locked. Keep the month's highest usage."""
    period = plans.month_start(timezone.localdate())
    if not StoragePeak.objects.filter(partner_id=partner_id, period=period, peak_bytes__lt=value).update(
        peak_bytes=value
    ):
        StoragePeak.objects.get_or_create(
            partner_id=partner_id, period=period, defaults={"peak_bytes": value}
        )


def _admins(partner_id: int) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            partner_memberships__partner_id=partner_id,
            partner_memberships__role=PartnerRole.ADMIN,
        )
    )


def _storage_notices(partner: Partner, before: int, after: int, actor: User | None) -> None:
    """Tell the account administrators when usage crosses 80 % or 100 % of the included storage,
    or a new paid block starts. Precondition: in the transaction that changed the usage."""
    from notifications.models import Event
    from notifications.services import notifications_add

    included = plans.included_bytes(partner.plan)
    url = reverse("billing:storage")
    admins: list[User] | None = None
    for percent in settings.STORAGE_WARNING_PERCENTS:
        threshold = included * percent // 100
        if before < threshold <= after:
            admins = admins if admins is not None else _admins(partner.pk)
            notifications_add(
                event=Event.STORAGE_WARNING,
                recipients=admins,
                actor=actor,
                collaboration=None,
                url=url,
                params={"partner": partner.name, "percent": percent, "used": after, "included": included},
            )
    blocks_before = plans.extra_blocks(before, included=included)
    blocks_after = plans.extra_blocks(after, included=included)
    if blocks_after > blocks_before:
        notifications_add(
            event=Event.STORAGE_BLOCK,
            recipients=admins if admins is not None else _admins(partner.pk),
            actor=actor,
            collaboration=None,
            url=url,
            params={"partner": partner.name, "blocks": blocks_after, "used": after},
        )


def storage_add(*, partner_id: int, nbytes: int, actor: User | None = None) -> Partner:
    """Count `nbytes` more stored for the partner, or raise StorageCapReached (nothing changed).

    Precondition: called inside the transaction that writes the document row, so the counter and
    the row commit together. Locks the partner row until that transaction ends.
    """
    if nbytes < 0:
        raise ValueError("storage_add takes a size; use storage_remove")
    partner = _lock(partner_id)
    terms = plans.StorageTerms.of(partner)
    if terms.limit is not None and terms.used + nbytes > terms.limit:
        raise StorageCapReached(_cap_message(partner, terms, nbytes))
    before, after = partner.storage_used_bytes, partner.storage_used_bytes + nbytes
    Partner.objects.filter(pk=partner_id).update(storage_used_bytes=after)
    partner.storage_used_bytes = after
    _raise_peak(partner_id, after)
    _storage_notices(partner, before, after, actor)
    return partner


def storage_remove(*, partner_id: int, nbytes: int) -> None:
    """Count `nbytes` fewer. Precondition: inside the transaction that deletes the rows. The month's
    peak keeps the level reached before the removal."""
    if nbytes <= 0:
        return
    partner = _lock(partner_id)
    _raise_peak(partner_id, partner.storage_used_bytes)
    # Never below zero, even if the counter had drifted low (the nightly reconcile puts it right).
    Partner.objects.filter(pk=partner_id).update(
        storage_used_bytes=max(0, partner.storage_used_bytes - nbytes)
    )


@transaction.atomic
def storage_set_cap(*, partner: Partner, actor: User, cap_blocks: int | None) -> Partner:
    """Set the most paid blocks the partner may use (None: no cap). Account administrators only; a
    cap below the current usage is refused."""
    if cap_blocks is not None and cap_blocks < 0:
        raise ServiceError(_("The cap cannot be negative."), field="cap_blocks")
    _require_admin(actor, partner.pk)
    locked = _lock(partner.pk)
    terms = plans.StorageTerms(locked.storage_used_bytes, plans.included_bytes(locked.plan), cap_blocks)
    if terms.limit is not None and terms.used > terms.limit:
        raise ServiceError(
            ngettext(
                "%(used)s is already stored, more than a cap of %(blocks)d paid block allows (%(limit)s).",
                "%(used)s is already stored, more than a cap of %(blocks)d paid blocks allows (%(limit)s).",
                cap_blocks or 0,
            )
            % {"used": human_size(terms.used), "blocks": cap_blocks or 0, "limit": human_size(terms.limit)}
            + " "
            + ngettext(
                "Choose at least %(needed)d block, or delete files first.",
                "Choose at least %(needed)d blocks, or delete files first.",
                terms.blocks,
            )
            % {"needed": terms.blocks},
            field="cap_blocks",
        )
    Partner.objects.filter(pk=locked.pk).update(storage_cap_blocks=cap_blocks)
    locked.storage_cap_blocks = cap_blocks
    audit_record(actor=actor, action="storage.cap", obj=locked, cap_blocks=cap_blocks)
    return locked


@dataclass(frozen=True)
class Drift:
    partner_id: int
    counted: int
    actual: int


def storage_reconcile() -> list[Drift]:
    """Put every partner's usage counter right against the stored sizes; returns what it fixed.

    One aggregate query per usage source over all partners finds the drift; a drifting partner is
    then locked and summed again alone, so an upload committing meanwhile is not mistaken for drift.
    """
    actual = usage.bytes_by_partner()
    fixed = []
    for partner_id, counted in Partner.objects.values_list("pk", "storage_used_bytes"):
        if counted == actual.get(partner_id, 0):
            continue
        with transaction.atomic():
            partner = _lock(partner_id)
            now_actual = usage.bytes_by_partner(partner_id).get(partner_id, 0)
            if partner.storage_used_bytes == now_actual:
                continue
            Partner.objects.filter(pk=partner_id).update(storage_used_bytes=now_actual)
            _raise_peak(partner_id, now_actual)
            drift = Drift(partner_id, partner.storage_used_bytes, now_actual)
            audit_record(
                actor=None,
                action="storage.reconcile",
                obj=partner,
                counted=drift.counted,
                actual=drift.actual,
            )
        logger.warning(
            "storage usage of partner %s was %s bytes, stored files sum to %s: fixed",
            partner_id,
            drift.counted,
            drift.actual,
        )
        fixed.append(drift)
    return fixed


@transaction.atomic
def usage_snapshot(*, day: dt.date | None = None) -> int:
    """Record each partner's usage, in all and per customer, for `day` (today). Running it again
    the same day replaces that day's rows. Returns the number of rows written."""
    day = day or timezone.localdate()
    per_customer = usage.bytes_by_customer()
    rows = [
        UsageSnapshot(partner_id=partner_id, customer=None, day=day, bytes_used=used)
        for partner_id, used in Partner.objects.values_list("pk", "storage_used_bytes")
    ]
    rows += [
        UsageSnapshot(partner_id=partner_id, customer_id=customer_id, day=day, bytes_used=size)
        for (partner_id, customer_id), size in per_customer.items()
    ]
    UsageSnapshot.objects.filter(day=day).delete()
    UsageSnapshot.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def statement_make(*, partner: Partner, period: dt.date) -> Statement:
    """The statement of `period` (a month's first day) for `partner`; made once, then returned."""
    if period.day != 1:
        raise ValueError("a statement period is the first day of a month")
    existing = Statement.objects.filter(partner=partner, period=period).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            statement = Statement.objects.create(
                partner=partner, period=period, **selectors.statement_figures(partner=partner, period=period)
            )
    except IntegrityError:  # made by a concurrent run
        return Statement.objects.get(partner=partner, period=period)
    logger.info(
        "statement %s for partner %s: %s",
        period.strftime("%Y-%m"),
        partner.pk,
        format_sek(statement.total_ore),
    )
    return statement
