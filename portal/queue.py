"""Enqueue Celery tasks only once the surrounding transaction has committed, and never let an
unreachable broker turn a committed change into an error for the user."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def publish(task: Task[Any, Any], calls: Sequence[tuple[Any, ...]], *, countdown: int = 0) -> bool:
    """Send `task` once per argument tuple in `calls`, over one broker connection. If the broker
    cannot be reached right now, log it and return False at once: kombu would otherwise keep
    trying for seconds per message while the user waits. Whatever has a sweeper (notification
    emails) is sent later by it; the rest is in the log. With eager tasks (tests) it just runs them.
    """
    if task.app.conf.task_always_eager:
        for args in calls:
            task.apply_async(args, countdown=countdown)
        return True
    try:
        with task.app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            for args in calls:
                task.apply_async(args, countdown=countdown, retry=False, connection=connection)  # type: ignore[call-arg]  # celery-types lacks it
    except Exception:
        logger.error(
            "could not send %s for %s: the broker is unreachable", task.name, list(calls), exc_info=True
        )
        return False
    return True


def enqueue_on_commit(task: Task[Any, Any], *args: Any) -> None:
    """Send `task` with `args` after commit, so a worker never sees rows that were rolled back
    and nothing is sent for a change that did not happen. Outside a transaction it sends at once."""
    transaction.on_commit(partial(publish, task, [args]))
