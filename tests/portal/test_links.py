"""Links in emails: built from PORTAL_BASE_URL, never from the request's Host header; a reset
link lives a day, a set-password link a week, and neither opens the other's page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.test import Client
from django.urls import reverse

from portal.links import set_password_url
from portal.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BASE_URL = "https://portal.example.se"


@pytest.fixture(autouse=True)
def _base_url(settings: Any) -> None:
    settings.PORTAL_BASE_URL = BASE_URL


@contextmanager
def made_ago(monkeypatch: pytest.MonkeyPatch, age: dt.timedelta) -> Iterator[None]:
    """Tokens made inside were made `age` ago (every Django-style token generator asks _now())."""
    past = dt.datetime.now() - age  # noqa: DTZ005 (Django's token clock is naive local time)
    with monkeypatch.context() as patch:
        patch.setattr(PasswordResetTokenGenerator, "_now", lambda self: past)
        yield


def _reset_link(client: Client, mailoutbox: list[Any], email: str, **extra: Any) -> str:
    client.post(reverse("password_reset"), {"email": email}, **extra)
    assert len(mailoutbox) == 1
    match = re.search(r"(\S+/accounts/reset/\S+/)", mailoutbox[0].body)
    assert match is not None, mailoutbox[0].body
    return match.group(1)


def _opens(client: Client, url: str) -> bool:
    """Whether a reset or set-password link leads to its form (Django redirects a good token to
    the form's own URL and shows the invalid-link page for a bad one)."""
    response = client.get(url.removeprefix(BASE_URL))
    if response.status_code == 302:
        return str(response["Location"]).endswith("/set-password/")
    assert response.status_code == 200
    assert response.context["validlink"] is False
    return False


def test_reset_email_links_to_the_base_url_whatever_the_host_header(
    client: Client, mailoutbox: list[Any], settings: Any
) -> None:
    # A proxy that passes any Host on (or ALLOWED_HOSTS too wide) must not let a visitor choose
    # where the victim's reset link points.
    settings.ALLOWED_HOSTS = ["*"]
    user = UserFactory.create(email="eve@example.com")
    link = _reset_link(client, mailoutbox, user.email, HTTP_HOST="attacker.example")
    assert link.startswith(f"{BASE_URL}/accounts/reset/")
    assert "attacker.example" not in mailoutbox[0].body
    html = mailoutbox[0].alternatives[0][0]
    assert "attacker.example" not in html
    assert f"{BASE_URL}/accounts/reset/" in html


def test_reset_link_works_for_a_day_and_not_longer(
    client: Client, mailoutbox: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = UserFactory.create(email="eve@example.com")
    with made_ago(monkeypatch, dt.timedelta(hours=23)):
        fresh = _reset_link(client, mailoutbox, user.email)
    mailoutbox.clear()
    with made_ago(monkeypatch, dt.timedelta(hours=25)):
        stale = _reset_link(client, mailoutbox, user.email)
    assert _opens(Client(), fresh)
    assert not _opens(Client(), stale)


def test_set_password_link_works_for_a_week_and_not_longer(monkeypatch: pytest.MonkeyPatch) -> None:
    user = User.objects.create_user(email="invited@example.com", name="Ida Invited")
    with made_ago(monkeypatch, dt.timedelta(days=6, hours=23)):
        fresh = set_password_url(user)
    with made_ago(monkeypatch, dt.timedelta(days=7, hours=1)):
        stale = set_password_url(user)
    assert fresh.startswith(f"{BASE_URL}/accounts/set-password/")
    assert _opens(Client(), fresh)
    assert not _opens(Client(), stale)


def test_set_password_token_does_not_open_the_reset_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Otherwise a week-old welcome token would reset a password where only a day is allowed."""
    user = User.objects.create_user(email="invited@example.com", name="Ida Invited")
    link = set_password_url(user)
    match = re.search(r"/accounts/set-password/([^/]+)/([^/]+)/$", link)
    assert match is not None
    uid, token = match.groups()
    reset_url = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    assert not _opens(Client(), reset_url)
    assert _opens(Client(), link)  # the same token on its own page still works


def test_reset_token_does_not_open_the_set_password_page(client: Client, mailoutbox: list[Any]) -> None:
    user = UserFactory.create(email="eve@example.com")
    link = _reset_link(client, mailoutbox, user.email)
    match = re.search(r"/accounts/reset/([^/]+)/([^/]+)/$", link)
    assert match is not None
    uid, token = match.groups()
    assert not _opens(Client(), reverse("set_password", kwargs={"uidb64": uid, "token": token}))
    assert _opens(Client(), link)
