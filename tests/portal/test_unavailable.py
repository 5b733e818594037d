"""The 503 page of an unreachable database (portal/unavailable.py), through Django's handler500."""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from portal import urls as portal_urls


def _lost_connection(request: HttpRequest) -> HttpResponse:
    try:
        raise ConnectionResetError("server closed the connection unexpectedly")
    except ConnectionResetError as error:
        raise OperationalError("the connection is lost") from error


def _wrapped(request: HttpRequest) -> HttpResponse:
    try:
        _lost_connection(request)
    except OperationalError as error:
        raise RuntimeError("while rendering") from error
    return HttpResponse()


def _driver(request: HttpRequest) -> HttpResponse:
    """The driver's own error, as code that speaks to psycopg's connection directly would see it
    when the server shuts down (pg_ctl stop -m fast)."""
    raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")


def _bug(request: HttpRequest) -> HttpResponse:
    raise ValueError("a plain bug")


urlpatterns = [
    path("lost/", _lost_connection),
    path("wrapped/", _wrapped),
    path("driver/", _driver),
    path("bug/", _bug),
]
handler500 = portal_urls.handler500


def test_the_portal_uses_it() -> None:
    assert portal_urls.handler500 == "portal.unavailable.server_error"


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/lost/", "/wrapped/", "/driver/"])
def test_a_database_error_is_a_503_asking_to_try_again(url: str) -> None:
    client = Client(raise_request_exception=False)
    # The page speaks the visitor's language (their cookie; Swedish by default), like every page.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(url, data=b"x" * 100_000, content_type="application/octet-stream")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    html = response.content.decode()
    assert "<h1>Briefly unavailable</h1>" in html
    assert "Please try again in a moment." in html


@pytest.mark.urls(__name__)
def test_the_503_page_is_swedish_by_default() -> None:
    response = Client(raise_request_exception=False).get("/lost/")
    assert response.status_code == 503
    html = response.content.decode()
    assert '<html lang="sv">' in html
    assert "Försök igen om en liten stund." in html


@pytest.mark.urls(__name__)
def test_any_other_error_stays_a_500() -> None:
    response = Client(raise_request_exception=False).get("/bug/")
    assert response.status_code == 500
    assert "Briefly unavailable" not in response.content.decode()
