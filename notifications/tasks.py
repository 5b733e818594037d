"""Delivery of notifications by email: at most once each, whatever runs twice or dies half-way.

An immediate email is claimed with a conditional UPDATE that records the Celery task id: a second
task for the same notification finds it claimed and stops, while the same task redelivered after
its worker died (acks_late) may carry on. A claim nobody finished is stale after a while and the
sweeper sends a new task. A digest claims each row the same way, per run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation

from notifications import selectors, services
from notifications.events import describe, names_line
from notifications.models import EmailMode, Notification
from portal import claims
from portal.emails import send_templated_email
from portal.links import absolute_url
from portal.models import User

logger = logging.getLogger(__name__)


def claim_stale_after() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "NOTIFICATION_CLAIM_STALE_SECONDS", 600)))


def sweep_after() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "NOTIFICATION_SWEEP_AFTER_SECONDS", 120)))


def _claim(rows: QuerySet[Notification], task_id: str) -> int:
    return claims.claim(rows, task_id, field="email_claim", at="email_claimed_at", stale=claim_stale_after())


def _release(rows: QuerySet[Notification], task_id: str) -> None:
    claims.release(rows, task_id, field="email_claim", at="email_claimed_at")


def _item(notification: Notification) -> dict[str, Any]:
    """What the email templates show of one notification, in the active language."""
    return {
        "text": describe(notification.event, notification.params, notification.count),
        "names": names_line(notification.params, notification.count),
        # Through the inbox's "open", which marks it read and then goes to the object (whose page
        # checks access again).
        "url": absolute_url(reverse("notifications:open", args=[notification.pk])),
        "collaboration": notification.collaboration,
        "when": notification.updated_at,
    }


def _preferences_url() -> str:
    return absolute_url(reverse("notifications:preferences"))


@shared_task(bind=True, acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def deliver_email(self: Task[Any, Any], notification_id: int) -> None:
    """Email one notification now. A deleted notification, or one already emailed or claimed by
    another live task, is a normal exit."""
    task_id = claims.task_id_of(self)
    rows = Notification.objects.filter(
        pk=notification_id, email_mode=EmailMode.IMMEDIATELY, emailed_at__isnull=True
    )
    if not _claim(rows, task_id):
        return
    notification = Notification.objects.select_related(
        "recipient", "collaboration__partner", "collaboration__customer"
    ).get(pk=notification_id)
    recipient = notification.recipient
    try:
        with translation.override(recipient.language or settings.LANGUAGE_CODE):
            item = _item(notification)
        send_templated_email(
            to=recipient,
            template="notification",
            context={"item": item, "preferences_url": _preferences_url()},
        )
    except Exception:
        _release(rows, task_id)
        raise
    Notification.objects.filter(pk=notification_id).update(emailed_at=timezone.now())


@shared_task(acks_late=True)
def sweep_undelivered() -> int:
    """Every minute (beat): re-send what should have been emailed by now and was not (the broker
    was down when it was raised, or a worker died holding the claim)."""
    due = selectors.due_for_email(older_than=sweep_after(), claim_stale_after=claim_stale_after())
    services.notification_emails_enqueue(due)
    if due:
        logger.warning("re-sent %d undelivered notification emails", len(due))
    return len(due)


@shared_task(acks_late=True)
def send_digests() -> int:
    """Daily (beat): one email per person with everything set to digest since their last one."""
    users = (
        Notification.objects.filter(email_mode=EmailMode.DIGEST, digested_at__isnull=True)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    count = 0
    for user_id in users:
        send_digest.delay(user_id)
        count += 1
    return count


@shared_task(bind=True, acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_digest(self: Task[Any, Any], user_id: int) -> int:
    """One digest for one person: claim their waiting digest rows for this task, send one email
    grouped by collaboration, mark them sent. Nothing waiting: no email."""
    task_id = claims.task_id_of(self)
    waiting = Notification.objects.filter(
        recipient_id=user_id, email_mode=EmailMode.DIGEST, digested_at__isnull=True
    )
    if not _claim(waiting, task_id):
        return 0
    rows = list(
        waiting.filter(email_claim=task_id)
        .select_related("collaboration__partner", "collaboration__customer")
        .order_by("collaboration_id", "created_at")
    )
    recipient = User.objects.get(pk=user_id)
    try:
        with translation.override(recipient.language or settings.LANGUAGE_CODE):
            groups: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
            titles: dict[int | None, str] = {}
            for n in rows:
                groups[n.collaboration_id].append(_item(n))
                titles[n.collaboration_id] = str(n.collaboration) if n.collaboration else ""
            sections = [{"title": titles[key], "items": items} for key, items in groups.items()]
        send_templated_email(
            to=recipient,
            template="notification_digest",
            context={"sections": sections, "total": len(rows), "preferences_url": _preferences_url()},
        )
    except Exception:
        _release(waiting, task_id)
        raise
    Notification.objects.filter(pk__in=[n.pk for n in rows]).update(digested_at=timezone.now())
    return len(rows)
