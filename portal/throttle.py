"""Rate limits and the login lockout's answer: one 429 page, in the person's language, audited.

Counters live in the cache (Redis in production, shared by every process) through
django-ratelimit; the login lockout is django-axes (settings.AXES_*), whose response is
`lockout_response` here. The rates are settings (PORTAL_RATE_*, see README.md) in
django-ratelimit's notation: "5/h" is five an hour, "60/m" sixty a minute, "100/15m" a hundred
in fifteen minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django_ratelimit import ALL
from django_ratelimit.core import is_ratelimited

from portal.audit import audit_record, client_ip

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 15 * 60  # what a refused client is told to wait when the window is unknown


def ip_key(group: str, request: HttpRequest) -> str:
    """The client's address as the audit log sees it (X-Real-IP only behind the proxy)."""
    return client_ip(request) or "unknown"


def user_key(group: str, request: HttpRequest) -> str:
    return str(request.user.pk)


def limited(
    request: HttpRequest, *, group: str, rate: str, key: str | Callable[[str, HttpRequest], str]
) -> bool:
    """Count this request against `group` per `key`; True once more than `rate` came in its window."""
    return bool(is_ratelimited(request, group=group, key=key, rate=rate, method=ALL, increment=True))


def _audit_refusal(request: HttpRequest, *, scope: str, **details: Any) -> None:
    user = request.user if getattr(request, "user", None) and request.user.is_authenticated else None
    audit_record(actor=user, action="throttle.refused", object_type="throttle", object_repr=scope, **details)
    logger.warning("throttled %s from %s", scope, client_ip(request))


def too_many_requests(request: HttpRequest, *, scope: str, as_json: bool = False) -> HttpResponse:
    """The refusal: status 429 with a page (or the uploader's JSON) saying to wait, and an audit row."""
    _audit_refusal(request, scope=scope)
    message = _("Too many attempts in a short time. Wait a while and try again.")
    response = (
        JsonResponse({"ok": False, "error": message}, status=429)
        if as_json
        else render(request, "429.html", {"message": message}, status=429)
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _lockout_lifts_at(request: HttpRequest, username: str) -> datetime:
    """When the lock on `username` from this address lifts: the cool-off after the last failure
    counted (a try during the lock is not counted, AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT)."""
    from axes.models import AccessAttempt

    last = (
        AccessAttempt.objects.filter(username=username, ip_address=client_ip(request))
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    cool_off: timedelta = settings.AXES_COOLOFF_TIME
    return (last or timezone.now()) + cool_off


def login_records_prune(*, days: int) -> int:
    """Delete django-axes' records of logins, failed logins and failure counts older than `days`
    days (settings.AXES_LOG_DAYS); returns how many rows went. A failure count is kept while the
    lockout it may hold (AXES_COOLOFF_TIME since its last failure) could still run, whatever
    `days` says. Idempotent: a second run finds nothing more."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    cutoff = timezone.now() - timedelta(days=days)
    lock_cutoff = min(cutoff, timezone.now() - settings.AXES_COOLOFF_TIME)
    removed = 0
    for queryset in (
        AccessLog.objects.filter(attempt_time__lt=cutoff),
        AccessFailureLog.objects.filter(attempt_time__lt=cutoff),
        AccessAttempt.objects.filter(attempt_time__lt=lock_cutoff),
    ):
        removed += queryset.delete()[0]
    return removed


def login_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """AXES_USERNAME_CALLABLE: the email as the login looks it up (case does not matter), so
    changing the case does not give five more tries."""
    raw = (credentials or {}).get("username") or request.POST.get("username") or ""
    return str(raw).strip().lower()


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login page's refusal once an email has failed
    AXES_FAILURE_LIMIT times from one address."""
    username = login_username(request, credentials)
    lifts_at = timezone.localtime(_lockout_lifts_at(request, username))
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    _audit_refusal(request, scope="login", username=username[:254])
    message = _(
        "Too many failed logins for this email address. For your security, logging in is locked "
        "for %(minutes)s minutes, until %(time)s. An administrator can lift the lock sooner."
    ) % {"minutes": minutes, "time": lifts_at.strftime("%H:%M")}
    seconds = max(1, int((lifts_at - timezone.now()).total_seconds()))
    response = render(
        request, "429.html", {"message": message, "lifts_at": lifts_at, "login_lockout": True}, status=429
    )
    response["Retry-After"] = str(seconds)
    return response
