"""Claiming a row for one Celery task, so that its work (an email, a seal) happens once.

The claim is a conditional UPDATE that records the task id: a second task for the same row finds
it claimed and stops; the same task, redelivered after its worker died (acks_late), may carry on;
a claim older than `stale` (its worker died and nothing redelivered it) is taken over.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from celery import Task
from django.db.models import Q, QuerySet
from django.utils import timezone


def task_id_of(task: Task[Any, Any]) -> str:
    """The running task's id (a fresh one when called outside a worker)."""
    return str(task.request.id or uuid.uuid4())


def claim(rows: QuerySet[Any], task_id: str, *, field: str, at: str, stale: dt.timedelta) -> int:
    """Claim `rows` for `task_id`: the free ones, ones this same task claimed, and stale claims.
    `field` holds the task id, `at` when it was claimed. Returns how many rows were claimed."""
    now = timezone.now()
    free = Q(**{field: ""}) | Q(**{field: task_id}) | Q(**{f"{at}__lt": now - stale})
    return rows.filter(free).update(**{field: task_id, at: now})


def release(rows: QuerySet[Any], task_id: str, *, field: str, at: str) -> None:
    """Give this task's claim back, so that a retry (or a sweeper) can do the work."""
    rows.filter(**{field: task_id}).update(**{field: "", at: None})
