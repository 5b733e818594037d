from __future__ import annotations

from celery import shared_task
from django.core.management import call_command


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
