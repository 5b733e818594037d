"""Enqueue Celery tasks only once the surrounding transaction has committed, and never let an
unreachable broker turn a committed change into an error for the user.

Tasks are named ("customers.tasks.send_customer_welcome"), so that services need not import their
app's tasks module (which imports the services): work that must happen goes through the outbox
(portal.outbox), the rest through `enqueue_on_commit` or `publish` by name."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction

from portal.celery import app

logger = logging.getLogger(__name__)


def task_named(name: str) -> Task[Any, Any]:
    """The Celery task called `name`. Its module is imported first: a web process (or a test) has
    not necessarily loaded it, and only the worker autodiscovers the tasks modules."""
    importlib.import_module(name.rpartition(".")[0])
    return app.tasks[name]


def publish(task: Task[Any, Any] | str, calls: Sequence[tuple[Any, ...]], *, countdown: int = 0) -> bool:
    """Send `task` once per argument tuple in `calls`, over one broker connection. If the broker
    cannot be reached right now, log it and return False at once: kombu would otherwise keep
    trying for seconds per message while the user waits. Whatever has a sweeper (the outbox,
    notification emails, sealing) is sent later by it; the rest is in the log. With eager tasks
    (tests) it just runs them.
    """
    if isinstance(task, str):
        task = task_named(task)
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


def enqueue_on_commit(task: Task[Any, Any] | str, *args: Any) -> None:
    """Send `task` with `args` after commit, so a worker never sees rows that were rolled back
    and nothing is sent for a change that did not happen. Outside a transaction it sends at once."""
    transaction.on_commit(partial(publish, task, [args]))
