"""Log in with BankID (portal/bankid_views.py), against the simulator as a real server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from portal.bankid import flow
from portal.bankid.simulator import SimulatorServer
from portal.models import AuditEvent, BankIDOrder, User, UserSession
from tests import bankid_sim
from tests.bankid_sim import running_simulator
from tests.factories import UserFactory
from tests.portal.test_twofactor import enrolled

pytestmark = pytest.mark.django_db

KARIN = "198503122387"
BO = "197211056572"
FAILED = "The email address or password is wrong."


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    """The simulator as a real server on a free loopback port."""
    with running_simulator() as server:
        yield server


@pytest.fixture(autouse=True)
def bankid_settings(settings: Any, sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.BANKID_URL = sim.base_url + "/rp/v6.0/"
    settings.BANKID_RETRY_PAUSE_MS = 0
    monkeypatch.setattr(flow, "COLLECT_INTERVAL", timedelta(0))  # every poll collects


@pytest.fixture
def en(client: Client) -> Client:
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def start(client: Client, how: str = "qr", next_url: str = "") -> BankIDOrder:
    response = client.post(reverse("bankid_login_start"), {"flow": how, "next": next_url})
    assert response.status_code == 302, response.content[:500]
    order = BankIDOrder.objects.order_by("-started_at").first()
    assert order is not None and response["Location"] == reverse("bankid_login_wait", args=[order.pk])
    return order


def approve(server: SimulatorServer, order: BankIDOrder, number: str) -> None:
    bankid_sim.approve(server, order.order_ref, number)


def status(client: Client, order: BankIDOrder) -> Any:
    return client.get(reverse("bankid_login_status", args=[order.pk]))


def run_to_end(client: Client, server: SimulatorServer, order: BankIDOrder, number: str) -> Any:
    approve(server, order, number)
    assert status(client, order).status_code == 200  # userSign: the person types the code
    response = status(client, order)
    assert response.status_code == 204
    return response


def logged_in_user(client: Client) -> Any:
    return client.get(reverse("profile")).wsgi_request.user


def test_login_page_offers_bankid_only_when_configured(en: Client, settings: Any) -> None:
    page = en.get(reverse("login")).content.decode()
    assert (
        "Log in with BankID" in page and "BankID on another device" in page and 'value="same_device"' in page
    )
    settings.BANKID_URL = ""
    assert "BankID" not in en.get(reverse("login")).content.decode()
    assert en.post(reverse("bankid_login_start"), {"flow": "qr"}).status_code == 404


def test_happy_login_on_another_device(en: Client, sim: SimulatorServer) -> None:
    user = UserFactory.create(personnummer=KARIN)
    order = start(en, next_url="/account/")
    page = en.get(reverse("bankid_login_wait", args=[order.pk])).content.decode()
    assert "<svg" in page and "Start your BankID app." in page and "bankid.js" in page
    assert order.qr_start_secret not in page
    response = run_to_end(en, sim, order, KARIN)
    assert response["HX-Redirect"] == "/account/"
    assert logged_in_user(en) == user
    assert UserSession.objects.filter(user=user).count() == 1
    assert AuditEvent.objects.filter(action="login.bankid", actor=user).count() == 1
    order.refresh_from_db()
    assert order.consumed_at is not None
    # The completed order can't log anyone in again, from this browser or another.
    assert status(en, order).status_code == 404
    assert en.get(reverse("bankid_login_wait", args=[order.pk])).status_code == 404
    BankIDOrder.objects.filter(pk=order.pk).update(session_key=Client().session.session_key or "x")
    other = Client()
    assert status(other, order).status_code == 404


def test_replayed_complete_after_consume_logs_nobody_in(client: Client, sim: SimulatorServer) -> None:
    UserFactory.create(personnummer=KARIN)
    order = start(client)
    approve(sim, order, KARIN)
    status(client, order)
    order.refresh_from_db()
    flow.poll(order)
    order.refresh_from_db()
    assert order.status == "complete"
    assert flow.consume(order)  # someone else used it first
    assert status(client, order).status_code == 404
    assert not logged_in_user(client).is_authenticated


def test_unknown_personnummer_gets_the_password_failure_message(en: Client, sim: SimulatorServer) -> None:
    UserFactory.create(personnummer=KARIN)
    order = start(en)
    response = run_to_end(en, sim, order, BO)
    assert response["HX-Redirect"] == reverse("login")
    page = en.get(reverse("login")).content.decode()
    assert FAILED in page
    assert not logged_in_user(en).is_authenticated
    assert not User.objects.filter(personnummer=BO).exists()  # no account is made
    assert AuditEvent.objects.filter(action="login.bankid_refused").count() == 1


def test_inactive_user_is_refused_alike(en: Client, sim: SimulatorServer) -> None:
    UserFactory.create(personnummer=KARIN, is_active=False)
    order = start(en)
    response = run_to_end(en, sim, order, KARIN)
    assert response["HX-Redirect"] == reverse("login")
    assert FAILED in en.get(reverse("login")).content.decode()
    assert not logged_in_user(en).is_authenticated


def test_wait_page_logs_in_without_javascript(client: Client, sim: SimulatorServer) -> None:
    user = UserFactory.create(personnummer=KARIN)
    order = start(client)
    approve(sim, order, KARIN)
    wait = reverse("bankid_login_wait", args=[order.pk])
    assert client.get(wait).status_code == 200
    response = client.get(wait)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert logged_in_user(client) == user


def test_bankid_login_still_asks_for_the_enrolled_authenticator_code(
    client: Client,
    sim: SimulatorServer,
) -> None:
    user = UserFactory.create(personnummer=KARIN)
    enrolled(user)
    order = start(client)
    run_to_end(client, sim, order, KARIN)
    response = client.get(reverse("profile"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("twofactor_verify"))


def test_starting_again_cancels_the_earlier_order(en: Client, sim: SimulatorServer) -> None:
    first = start(en)
    second = start(en, how="same_device")
    first.refresh_from_db()
    assert first.status == "cancelled" and second.status == "pending"
    assert "Action cancelled. Please try again." in status(en, first).content.decode()
    page = en.get(reverse("bankid_login_wait", args=[second.pk])).content.decode()
    assert f"bankid:///?autostarttoken={second.auto_start_token}&amp;redirect=null" in page
    assert "<svg" not in page


def test_cancel_button_cancels_at_bankid(client: Client, sim: SimulatorServer) -> None:
    order = start(client)
    response = client.post(reverse("bankid_login_cancel", args=[order.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_another_sessions_order_is_404(client: Client, sim: SimulatorServer) -> None:
    order = start(client)
    stranger = Client()
    stranger.get(reverse("login"))
    for name in ("bankid_login_wait", "bankid_login_status"):
        assert stranger.get(reverse(name, args=[order.pk])).status_code == 404
    assert stranger.post(reverse("bankid_login_cancel", args=[order.pk])).status_code == 404
    order.refresh_from_db()
    assert order.status == "pending" and order.last_collect_at is None


def test_qr_changes_each_second_and_the_secret_never_leaves(client: Client, sim: SimulatorServer) -> None:
    order = start(client)
    bodies = []
    for _i in range(3):
        bodies.append(status(client, order).content.decode())
        BankIDOrder.objects.filter(pk=order.pk).update(started_at=order.started_at - timedelta(seconds=1))
        order.refresh_from_db()
    assert len(set(bodies)) == 3
    assert all("<svg" in body and order.qr_start_secret not in body for body in bodies)
    assert (
        order.qr_start_secret
        not in client.get(reverse("bankid_login_wait", args=[order.pk])).content.decode()
    )


def test_starts_are_rate_limited_per_address(client: Client, settings: Any, sim: SimulatorServer) -> None:
    settings.RATE_BANKID_START = "2/h"
    start(client)
    start(client)
    response = client.post(reverse("bankid_login_start"), {"flow": "qr"})
    assert response.status_code == 429
    assert BankIDOrder.objects.count() == 2


def test_bankid_unavailable_is_a_message_not_a_500(en: Client, settings: Any) -> None:
    settings.BANKID_URL = "http://127.0.0.1:9/rp/v6.0/"
    settings.BANKID_ATTEMPTS = 1
    response = en.post(reverse("bankid_login_start"), {"flow": "qr"}, follow=True)
    assert response.status_code == 200
    assert "The BankID service is temporarily unavailable" in response.content.decode()


def test_a_logged_in_person_starts_no_order(client: Client, sim: SimulatorServer) -> None:
    client.force_login(UserFactory.create())
    response = client.post(reverse("bankid_login_start"), {"flow": "qr"})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert not BankIDOrder.objects.exists()


def test_cancelled_in_the_app_offers_to_try_again(en: Client, sim: SimulatorServer) -> None:
    order = start(en)
    requests.post(f"{sim.base_url}/sim/orders/{order.order_ref}/cancel", timeout=5)
    page = status(en, order).content.decode()
    assert "Action cancelled." in page and "data-pending" not in page
    assert f'action="{reverse("bankid_login_start")}"' in page and 'value="qr"' in page
    again = start(en)
    assert again.pk != order.pk and again.status == "pending"
    assert not logged_in_user(en).is_authenticated
