"""Billing's Celery tasks: ids in, idempotent, a deleted row is a normal exit."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from billing import plans, services
from billing.models import BillingNotice, QuoteRequest
from partners.models import Partner, PartnerMembership, PartnerRole
from portal.emails import send_templated_email, send_templated_email_to
from portal.links import absolute_url
from portal.units import format_sek, human_size

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def reconcile_storage() -> int:
    """Nightly: fix any drift between the usage counters and the stored sizes."""
    return len(services.reconcile_storage())


@shared_task(acks_late=True)
def snapshot_usage() -> int:
    """Daily: the day's usage per partner and per customer (a second run replaces the first)."""
    return services.snapshot_usage()


@shared_task(acks_late=True)
def make_statements() -> int:
    """On the first of the month: last month's statement for every partner (made once each)."""
    period = plans.previous_month(timezone.localdate())
    made = 0
    for partner in Partner.objects.all().iterator():
        services.statement_make(partner=partner, period=period)
        made += 1
    return made


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_billing_notice(notice_id: int) -> None:
    """Email a storage notice to the partner's account administrators, once."""
    claimed = BillingNotice.objects.filter(pk=notice_id, sent_at__isnull=True).update(sent_at=timezone.now())
    if not claimed:
        return
    notice = BillingNotice.objects.select_related("partner").get(pk=notice_id)
    partner = notice.partner
    terms = plans.StorageTerms.of(partner)
    admins = PartnerMembership.objects.filter(partner=partner, role=PartnerRole.ADMIN).select_related("user")
    context = {
        "partner": partner,
        "notice": notice,
        "used": human_size(notice.bytes_used),
        "included": human_size(terms.included),
        "block_size": human_size(plans.block_bytes()),
        "monthly_cost": format_sek(
            plans.extra_blocks(notice.bytes_used, included=terms.included) * plans.block_price_ore()
        ),
        "storage_url": absolute_url(reverse("billing:storage")),
    }
    try:
        for membership in admins:
            send_templated_email(to=membership.user, template="billing_storage_notice", context=context)
    except Exception:
        BillingNotice.objects.filter(pk=notice_id).update(sent_at=None)
        raise


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_quote_request(request_id: int) -> None:
    """Email a "large volumes" request to support, once."""
    claimed = QuoteRequest.objects.filter(pk=request_id, sent_at__isnull=True).update(sent_at=timezone.now())
    if not claimed:
        return
    quote = QuoteRequest.objects.select_related("partner", "requested_by").get(pk=request_id)
    try:
        send_templated_email_to(
            settings.SUPPORT_EMAIL,
            language=settings.LANGUAGE_CODE,
            template="billing_quote_request",
            context={"quote": quote, "partner": quote.partner, "person": quote.requested_by},
        )
    except Exception:
        QuoteRequest.objects.filter(pk=request_id).update(sent_at=None)
        raise
