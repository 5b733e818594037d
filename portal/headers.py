"""Security headers Django itself does not set.

The Content-Security-Policy comes from django-csp (settings.CONTENT_SECURITY_POLICY); HSTS,
nosniff and Referrer-Policy from Django's SecurityMiddleware; X-Frame-Options from its
clickjacking middleware. What is left is the Permissions-Policy.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


class PermissionsPolicyMiddleware:
    """Every answer switches off the browser features no page of the portal uses
    (settings.PERMISSIONS_POLICY), unless the view set a policy of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
