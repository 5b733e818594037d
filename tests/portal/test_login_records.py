"""django-axes keeps a row for every login (AccessLog), failed login (AccessFailureLog) and
failure count (AccessAttempt); a nightly task removes those older than PORTAL_AXES_LOG_DAYS, so
the tables do not grow for ever, and keeps the recent ones (and so any lock still running)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import tasks
from portal.celery import app
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

MODELS = (AccessLog, AccessFailureLog, AccessAttempt)


def _row(model: Any, username: str, days_old: float) -> None:
    extra = {"failures_since_start": 1} if model is AccessAttempt else {}
    row = model.objects.create(
        username=username, ip_address="10.0.0.1", user_agent="test", path_info="/", **extra
    )
    # attempt_time is auto_now_add: set the age afterwards.
    model.objects.filter(pk=row.pk).update(attempt_time=timezone.now() - timedelta(days=days_old))


def _usernames(model: Any) -> set[str]:
    return set(model.objects.values_list("username", flat=True))


def test_the_nightly_task_removes_old_login_records_and_keeps_recent_ones(settings: Any) -> None:
    settings.AXES_LOG_DAYS = 30
    for model in MODELS:
        _row(model, "old@example.com", days_old=31)
        _row(model, "recent@example.com", days_old=29)
    tasks.prune_login_records.delay()
    for model in MODELS:
        assert _usernames(model) == {"recent@example.com"}, model.__name__
    # Idempotent: a second run (or two at once) finds nothing more and fails nothing.
    tasks.prune_login_records()
    for model in MODELS:
        assert _usernames(model) == {"recent@example.com"}, model.__name__


def test_a_running_lockout_is_never_removed_however_short_the_keeping(client: Client, settings: Any) -> None:
    settings.AXES_LOG_DAYS = 0
    user = UserFactory.create()
    for _n in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": user.email, "password": "wrong"}, REMOTE_ADDR="10.0.0.5")
    assert AccessAttempt.objects.filter(username=user.email).exists()
    tasks.prune_login_records()
    assert AccessAttempt.objects.filter(username=user.email).exists()
    response = client.post(
        reverse("login"), {"username": user.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.5"
    )
    assert response.status_code == 429


def test_the_schedule_runs_it_every_night(settings: Any) -> None:
    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["prune-login-records"]
    assert entry["task"] == "portal.tasks.prune_login_records"
    assert entry["task"] in app.tasks


def test_the_default_keeps_ninety_days() -> None:
    from portal import settings as portal_settings

    assert portal_settings.AXES_LOG_DAYS == 90
