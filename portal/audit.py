"""The audit log: services call `audit_record` in the transaction of the change they make.

The request's IP address and user agent reach it through a context variable set by
`AuditContextMiddleware`, so services need not pass the request around.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponse

from portal.models import AuditEvent, User


@dataclass(frozen=True)
class RequestOrigin:
    ip: str | None
    user_agent: str


_origin: ContextVar[RequestOrigin | None] = ContextVar("audit_origin", default=None)


def client_ip(request: HttpRequest) -> str | None:
    # Behind nginx (PORTAL_BEHIND_PROXY) the proxy's X-Real-IP is the client; Django's
    # SECURE_PROXY_SSL_HEADER already trusts the same proxy.
    from django.conf import settings

    if settings.SECURE_PROXY_SSL_HEADER and request.META.get("HTTP_X_REAL_IP"):
        return str(request.META["HTTP_X_REAL_IP"])
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _origin.set(RequestOrigin(client_ip(request), request.META.get("HTTP_USER_AGENT", "")[:300]))
        try:
            return self.get_response(request)
        finally:
            _origin.reset(token)


def current_origin() -> RequestOrigin | None:
    return _origin.get()


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_repr: str = "",
    collaboration_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    origin = _origin.get()
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        collaboration_id=collaboration_id,
        object_type=object_type or ((obj._meta.model_name or "") if obj is not None else ""),
        object_id=obj.pk if obj is not None else None,
        object_repr=(object_repr or str(obj or ""))[:300],
        details=details,
        ip=origin.ip if origin else None,
        user_agent=origin.user_agent if origin else "",
    )
