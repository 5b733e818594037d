from __future__ import annotations

from celery import shared_task

from docrequests import services


@shared_task(acks_late=True)
def remind_docrequests() -> int:
    return services.docrequests_remind_due()
