"""Enqueue Celery tasks only once the surrounding transaction has committed."""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import Task
from django.db import transaction


def enqueue_on_commit(task: Task[Any, Any], *args: Any) -> None:
    """Send `task` with `args` after commit, so a worker never sees rows that were rolled back
    and nothing is sent for a change that did not happen. Outside a transaction it sends at once."""
    transaction.on_commit(partial(task.delay, *args))
