"""The portal's answer when its database cannot be reached (restarting, failing over, out of
connections): a 503 page asking to try again in a moment, instead of a bare 500.

It is Django's handler500 (portal/urls.py), so it sees every uncaught error, whichever middleware
or view raised it; anything but a database error stays Django's own 500. With DEBUG on, Django
shows its technical page instead, as for every error.
"""

from __future__ import annotations

import sys

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views.defaults import server_error as django_server_error

RETRY_AFTER_SECONDS = 5
DRAIN_LIMIT = 64 * 1024 * 1024
# Django's errors, and psycopg's own: what code that speaks to the driver's connection directly
# (portal.sql.Prepared's PREPARE) would raise if it did not wrap them as Django does.
_UNREACHABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    if database_unreachable(sys.exc_info()[1]):
        _drain(request)
        # Rendered without the request: its context processors would ask the database again.
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return django_server_error(request)


def database_unreachable(error: BaseException | None) -> bool:
    """Whether `error`, or what caused it, is the database failing rather than the code: a lost
    or refused connection, a server shutting down or starting up, a deadlock victim."""
    for _ in range(10):  # the chain of causes, bounded
        if error is None:
            return False
        if isinstance(error, _UNREACHABLE):
            return True
        error = error.__cause__ or error.__context__
    return False


def _drain(request: HttpRequest) -> None:
    """Read what is left of the request body (an upload the database failed before), up to
    DRAIN_LIMIT: closing the connection on unread bytes resets it, and the browser would show a
    network error instead of this page."""
    stream = getattr(request, "_stream", None)
    left = DRAIN_LIMIT
    try:
        while stream is not None and left > 0:
            chunk = stream.read(min(left, 1024 * 1024))
            if not chunk:
                return
            left -= len(chunk)
    except OSError:  # the client went away: nobody to answer
        return
