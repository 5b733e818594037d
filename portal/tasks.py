"""The portal's background work: running the outbox and pruning sessions, login records and BankID orders."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from portal import claims, outbox
from portal.models import OutboxMessage
from portal.queue import task_named

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def run_outbox(self: Task[Any, Any], message_id: int) -> None:
    """Do one outbox message's work (portal.outbox), once: claim the row by this task's id, run the
    named task's body with the stored arguments, mark it done. Done, gone or claimed by another
    live task: a normal exit. A failure gives the claim back and is noted on the row; the retry, or
    else the sweeper, runs it again."""
    task_id = claims.task_id_of(self)
    rows = OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True)
    if not claims.claim(rows, task_id, field="claimed_by", at="claimed_at", stale=outbox.claim_stale_after()):
        return
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        task_named(message.task).run(*message.args)
    except Exception as error:
        claims.release(rows, task_id, field="claimed_by", at="claimed_at")
        OutboxMessage.objects.filter(pk=message_id).update(
            attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:300]
        )
        raise
    OutboxMessage.objects.filter(pk=message_id).update(
        done_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
    )


@shared_task(acks_late=True)
def sweep_outbox() -> int:
    """Every minute (beat): publish again the outbox messages not done whose publish was lost (the
    broker was down at commit) or whose worker died holding the claim."""
    due = outbox.sweep()
    if due:
        logger.warning("re-sent %d outbox messages", len(due))
    return len(due)


@shared_task
def clear_expired_sessions() -> None:
    call_command("clearsessions")
    from portal.sessions import sessions_prune

    sessions_prune()


@shared_task
def prune_login_records() -> None:
    """Nightly: django-axes' login records older than settings.AXES_LOG_DAYS."""
    from django.conf import settings

    from portal.throttle import login_records_prune

    login_records_prune(days=settings.AXES_LOG_DAYS)


@shared_task
def prune_bankid_orders() -> None:
    """Nightly: BankID orders (login and signing) started more than a day ago."""
    from portal.bankid.flow import prune

    prune()
