"""Billing's Celery tasks: ids in, idempotent, a deleted row is a normal exit."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billing import plans, services
from billing.models import QuoteRequest
from partners.models import Partner
from portal.emails import send_templated_email_to

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def reconcile_storage() -> int:
    """Nightly: fix any drift between the usage counters and the stored sizes."""
    return len(services.storage_reconcile())


@shared_task(acks_late=True)
def snapshot_usage() -> int:
    """Daily: the day's usage per partner and per customer (a second run replaces the first)."""
    return services.usage_snapshot()


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
def send_quote_request(request_id: int) -> None:
    """Email a "large volumes" request to support and note when (sent_at). Run through the outbox
    (portal.outbox), which keeps it to once. A deleted request is a normal exit."""
    quote = QuoteRequest.objects.select_related("partner", "requested_by").filter(pk=request_id).first()
    if quote is None:
        return
    send_templated_email_to(
        settings.SUPPORT_EMAIL,
        language=settings.LANGUAGE_CODE,
        template="billing_quote_request",
        context={"quote": quote, "partner": quote.partner, "person": quote.requested_by},
    )
    QuoteRequest.objects.filter(pk=request_id).update(sent_at=timezone.now())
