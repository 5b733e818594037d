"""Issue 11: five failed logins for one email from one address lock that pair for 15 minutes
(django-axes); the page says so and until when; an admin lifts the lock in Django admin; a person
who gets it right within the five is not hindered."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

EMAIL = "anna.berg@example.com"
HOME = "10.0.0.1"


def _english(client: Client) -> Client:
    client.post(reverse("set_language"), {"language": "en"})
    return client


def _login(client: Client, password: str, *, email: str = EMAIL, ip: str = HOME, **extra: Any) -> Any:
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip, **extra)


def _fail(client: Client, times: int, **kwargs: Any) -> list[int]:
    return [_login(client, "wrong-password", **kwargs).status_code for _n in range(times)]


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def anna() -> User:
    return UserFactory.create(email=EMAIL)


def test_a_correct_login_after_four_failures_works_and_starts_the_count_again(
    client: Client, anna: User
) -> None:
    assert _fail(client, 4) == [200, 200, 200, 200]
    response = _login(client, PASSWORD)
    assert response.status_code == 302 and _logged_in(client)
    client.logout()
    # The success reset the count: four more failures still leave the door open.
    assert _fail(client, 4) == [200, 200, 200, 200]
    assert _login(client, PASSWORD).status_code == 302 and _logged_in(client)
    assert not AuditEvent.objects.filter(action="throttle.refused").exists()


def test_the_fifth_failure_locks_and_the_page_says_until_when(client: Client, anna: User) -> None:
    _english(client)
    assert _fail(client, 4) == [200, 200, 200, 200]
    response = _login(client, "wrong-password")
    assert response.status_code == 429
    last_failure = AccessAttempt.objects.get(username=EMAIL, ip_address=HOME).attempt_time
    lifts_at = timezone.localtime(last_failure + dt.timedelta(minutes=15))
    page = response.content.decode()
    assert "<title>Too many attempts" in page and "<h1>Too many attempts</h1>" in page
    assert f"locked for 15 minutes, until {lifts_at:%H:%M}" in page
    assert 14 * 60 <= int(response["Retry-After"]) <= 15 * 60
    # Locked: even the right password is refused, and the lock is not extended by trying.
    response = _login(client, PASSWORD)
    assert response.status_code == 429 and not _logged_in(client)
    assert f"until {lifts_at:%H:%M}" in response.content.decode()
    assert AccessAttempt.objects.get(username=EMAIL, ip_address=HOME).attempt_time == last_failure
    refusals = AuditEvent.objects.filter(action="throttle.refused", object_repr="login")
    assert refusals.count() == 2
    assert {(event.ip, event.details["username"]) for event in refusals} == {(HOME, EMAIL)}


def test_the_lock_is_per_email_and_address_and_case_does_not_matter(client: Client, anna: User) -> None:
    bob = UserFactory.create(email="bob@example.com")
    _fail(client, 5)
    # Another case of the same email counts as the same email.
    assert _login(client, PASSWORD, email=EMAIL.upper()).status_code == 429
    # Anna from another address, and Bob from the same one, are not hindered.
    assert _login(client, PASSWORD, ip="10.0.0.2").status_code == 302
    client.logout()
    assert _login(client, PASSWORD, email=bob.email).status_code == 302


def test_the_lock_lifts_after_15_minutes(client: Client, anna: User) -> None:
    _fail(client, 5)
    assert _login(client, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=15, seconds=5))
    assert _login(client, PASSWORD).status_code == 302 and _logged_in(client)


def test_an_admin_lifts_the_lock_in_django_admin(client: Client, anna: User, settings: Any) -> None:
    settings.TWO_FACTOR_FOR_ADMIN = False  # this test is about the lock, not the admin's second factor
    _fail(client, 5)
    assert _login(client, PASSWORD).status_code == 429
    attempt = AccessAttempt.objects.get(username=EMAIL)
    operator = Client()
    operator.force_login(UserFactory.create(email="ops@example.com", is_staff=True, is_superuser=True))
    changelist = operator.get(reverse("admin:axes_accessattempt_changelist"))
    assert changelist.status_code == 200 and EMAIL in changelist.content.decode()
    delete_url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert operator.post(delete_url, {"post": "yes"}).status_code == 302
    assert not AccessAttempt.objects.filter(username=EMAIL).exists()
    assert _login(client, PASSWORD).status_code == 302 and _logged_in(client)


def test_behind_the_proxy_the_lock_follows_the_clients_address(
    client: Client, anna: User, settings: Any
) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # PORTAL_BEHIND_PROXY
    proxy = "172.18.0.5"  # every request arrives from nginx
    _fail(client, 5, ip=proxy, HTTP_X_REAL_IP="203.0.113.5")
    assert AccessAttempt.objects.get(username=EMAIL).ip_address == "203.0.113.5"
    assert _login(client, PASSWORD, ip=proxy, HTTP_X_REAL_IP="203.0.113.5").status_code == 429
    assert _login(client, PASSWORD, ip=proxy, HTTP_X_REAL_IP="203.0.113.6").status_code == 302


def test_the_lockout_page_is_in_the_visitors_language(client: Client, anna: User) -> None:
    _fail(client, 5)  # no language chosen: Swedish, the portal's default
    response = _login(client, PASSWORD)
    assert response.status_code == 429
    match = re.search(r'<html lang="([^"]*)">', response.content.decode())
    assert match is not None and match.group(1) == "sv"
    _english(client)
    assert 'lang="en"' in _login(client, PASSWORD).content.decode()
