"""The outbox: background work that must happen (emails, previews), exactly once.

A service calls `outbox_add("customers.tasks.send_customer_welcome", membership.pk)` inside its
transaction. That writes an OutboxMessage row, which commits (or rolls back) with the change, and
publishes portal.tasks.run_outbox for it after commit. run_outbox claims the row by its Celery task
id (portal.claims): a second run of the same message finds it claimed or done and stops, the same
task redelivered after its worker died carries on. It then runs the named task's body with the
stored arguments and marks the row done. The sweeper (beat, every minute) publishes again the rows
not done whose publish was lost (the broker was down at commit) or whose claim went stale (a
worker died holding it).

The named task's body is the work itself, without a claim of its own: run it through the outbox,
not on its own, or nothing keeps it to once. Arguments are ids and plain values (JSON), never a
secret: the table is readable by whoever reads the database.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.models import OutboxMessage
from portal.queue import publish

RUN_TASK = "portal.tasks.run_outbox"


def claim_stale_after() -> dt.timedelta:
    """A claim older than this is a worker that died: longer than any outbox task runs."""
    return dt.timedelta(seconds=int(getattr(settings, "OUTBOX_CLAIM_STALE_SECONDS", 600)))


def sweep_after() -> dt.timedelta:
    """How long after its last publish a message not done is published again."""
    return dt.timedelta(seconds=int(getattr(settings, "OUTBOX_SWEEP_AFTER_SECONDS", 120)))


# Done messages are kept this long (to look into a complaint), then deleted by the sweeper.
KEEP_DONE = dt.timedelta(days=7)


def max_attempts() -> int:
    """After this many failed runs the sweeper leaves a message alone (its last_error says why)."""
    return int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 20))


def outbox_add(task: str, *args: Any) -> OutboxMessage:
    """Record that `task` must run with `args` once the current transaction commits, and publish it
    then. Call inside the transaction of the change; outside one it is published at once."""
    message = OutboxMessage.objects.create(task=task, args=list(args))
    transaction.on_commit(partial(publish, RUN_TASK, [(message.pk,)]))
    return message


def due_for_sweep() -> list[int]:
    """Messages not done, published longer than `sweep_after` ago, that nobody holds (never
    claimed, released after a failure, or claimed by a task that has not finished within
    `claim_stale_after`), oldest first."""
    now = timezone.now()
    return list(
        OutboxMessage.objects.filter(
            done_at__isnull=True, published_at__lt=now - sweep_after(), attempts__lt=max_attempts()
        )
        .filter(Q(claimed_by="") | Q(claimed_at__lt=now - claim_stale_after()))
        .order_by("published_at")
        .values_list("pk", flat=True)[:1000]
    )


def sweep() -> list[int]:
    """Publish again what is due (see due_for_sweep) and delete what was done more than KEEP_DONE
    ago; returns the ids published."""
    OutboxMessage.objects.filter(done_at__lt=timezone.now() - KEEP_DONE).delete()
    due = due_for_sweep()
    if due:
        OutboxMessage.objects.filter(pk__in=due).update(published_at=timezone.now())
        publish(RUN_TASK, [(pk,) for pk in due])
    return due
