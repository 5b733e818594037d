"""Celery beat's schedule names tasks that exist, so a typo cannot silently stop a nightly job."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from portal.celery import app


def test_every_scheduled_task_is_registered(settings: Any) -> None:
    app.loader.import_default_modules()
    names = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "billing.tasks.reconcile_storage" in names
    assert "billing.tasks.make_statements" in names
    assert "documents.tasks.sweep_unfinished_uploads" in names
    missing = [name for name in names if name not in app.tasks]
    assert missing == []


def test_statements_are_made_on_the_first_of_the_month(settings: Any) -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE["monthly-statements"]["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule.day_of_month == {1}  # type: ignore[attr-defined]
