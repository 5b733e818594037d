"""portal.bankid.flow against the simulator as a real server."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.db import connection
from django.utils import timezone
from django.utils.translation import override

from portal.bankid import flow, qr
from portal.bankid.errors import BankIDError
from portal.bankid.simulator import SimulatorServer
from portal.models import BankIDOrder
from tests import bankid_sim
from tests.bankid_sim import calls, scenario

pytestmark = pytest.mark.django_db

KARIN = "198503122387"


@pytest.fixture(autouse=True)
def bankid_settings(settings: Any, api_url: str) -> None:
    settings.BANKID_URL = api_url
    settings.BANKID_RETRY_PAUSE_MS = 0


def approve(server: SimulatorServer, order: BankIDOrder, number: str = KARIN) -> None:
    bankid_sim.approve(server, order.order_ref, number)


def collect_now(order: BankIDOrder) -> flow.PollState:
    """Poll as if the last collect was long ago."""
    BankIDOrder.objects.filter(pk=order.pk).update(last_collect_at=timezone.now() - timedelta(seconds=10))
    order.refresh_from_db()
    return flow.poll(order)


def test_login_order_completes_once(simulator: SimulatorServer) -> None:
    order = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s1")
    with override("en"):
        first = flow.poll(order)
    assert first.status == "pending"
    assert first.message == "Start your BankID app."
    assert first.qr_svg.startswith("<svg") and order.qr_start_secret not in first.qr_svg
    assert not flow.consume(order)  # not complete yet
    approve(simulator, order)
    assert collect_now(order).hint_code == "userSign"
    done = collect_now(order)
    assert done.status == "complete" and done.qr_svg == ""
    order.refresh_from_db()
    assert flow.personal_number(order) == KARIN
    assert flow.consume(order) is True
    assert flow.consume(order) is False
    assert flow.consume(BankIDOrder.objects.get(pk=order.pk)) is False


def test_collect_at_most_every_interval(simulator: SimulatorServer) -> None:
    order = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s1")
    for _i in range(5):
        flow.poll(order)
        order.refresh_from_db()
    assert calls(simulator).get("collect") == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_polls_make_one_collect(simulator: SimulatorServer) -> None:
    order = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s1")
    barrier = threading.Barrier(8)
    states: list[str] = []

    def worker() -> None:
        try:
            barrier.wait()
            states.append(flow.poll(BankIDOrder.objects.get(pk=order.pk)).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert states == ["pending"] * 8
    assert calls(simulator).get("collect") == 1


def test_qr_changes_each_second_and_hides_the_secret(simulator: SimulatorServer) -> None:
    order = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s1")
    t0 = order.started_at
    first = flow.qr_content_now(order, t0 + timedelta(seconds=1, milliseconds=100))
    second = flow.qr_content_now(order, t0 + timedelta(seconds=2, milliseconds=100))
    assert first != second
    assert first == qr.qr_content(order.qr_start_token, order.qr_start_secret, 1)
    assert order.qr_start_secret not in first + second
    assert (
        flow.state(order, t0 + timedelta(seconds=1)).qr_svg
        != flow.state(order, t0 + timedelta(seconds=2)).qr_svg
    )


def test_starting_again_cancels_the_open_order(simulator: SimulatorServer) -> None:
    first = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s1")
    other_session = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s2")
    second = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s1")
    first.refresh_from_db()
    other_session.refresh_from_db()
    assert first.status == "cancelled" and second.status == "pending"
    assert other_session.status == "pending"
    assert calls(simulator).get("cancel") == 1
    with override("en"):
        assert flow.poll(first).message == "Action cancelled. Please try again."


def test_user_cancel_in_app_fails_with_message(simulator: SimulatorServer) -> None:
    order = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s1")
    requests.post(f"{simulator.base_url}/sim/orders/{order.order_ref}/cancel", timeout=5)
    with override("en"):
        state = flow.poll(order)
    assert state.status == "failed" and state.message == "Action cancelled."
    assert not flow.consume(order)


def test_errors_become_messages_not_exceptions(simulator: SimulatorServer) -> None:
    scenario(simulator, error="maintenance", times=5, endpoint="auth")
    with pytest.raises(BankIDError) as caught, override("en"):
        flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s1")
    with override("en"):
        assert "temporarily unavailable" in caught.value.user_message
    assert not BankIDOrder.objects.exists()
    order = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s1")
    scenario(simulator, error="unauthorized", times=1, endpoint="collect")
    with override("en"):
        state = flow.poll(order)
    assert state.status == "failed" and state.message == "Unknown error. Please try again."


def test_unreachable_service_keeps_the_order_pending(simulator: SimulatorServer, settings: Any) -> None:
    order = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s1")
    settings.BANKID_URL = "http://127.0.0.1:9/rp/v6.0/"
    with override("en"):
        state = flow.poll(order)
    assert state.status == "pending"
    flow.cancel(order)  # no exception either
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_owned_refuses_another_session_or_party(simulator: SimulatorServer) -> None:
    order = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s1")
    assert flow.owned(order_id=order.pk, purpose="login", session_key="s1") == order
    for kwargs in ({"session_key": "s2"}, {"party_id": 1}, {}, {"session_key": "s1", "purpose": "sign"}):
        args: dict[str, Any] = {"order_id": order.pk, "purpose": "login", **kwargs}
        with pytest.raises(BankIDOrder.DoesNotExist):
            flow.owned(**args)


def test_sign_order_for_a_party(simulator: SimulatorServer) -> None:
    order = flow.start(
        purpose="sign",
        end_user_ip="127.0.0.1",
        user_visible_data="Avtal 1",
        user_non_visible_data=b"portal-signing:7:42:abc",
        requirement={"personalNumber": KARIN},
        party_id=42,
    )
    assert order.session_key == "" and order.party_id == 42
    seen = requests.get(simulator.base_url + "/sim/orders", timeout=5).json()
    assert seen[0]["kind"] == "sign" and seen[0]["requirement"] == {"personalNumber": KARIN}
    assert base64.b64decode(seen[0]["userNonVisibleData"]) == b"portal-signing:7:42:abc"
    approve(simulator, order)
    collect_now(order)
    assert collect_now(order).status == "complete"
    order.refresh_from_db()
    assert order.completion_data is not None and order.completion_data["signature"]


def test_secret_blanked_once_the_order_ends_and_old_orders_pruned(simulator: SimulatorServer) -> None:
    order = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s1")
    approve(simulator, order)
    collect_now(order)
    collect_now(order)
    order.refresh_from_db()
    assert order.status == "complete" and order.qr_start_secret == ""
    cancelled = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s2")
    flow.cancel(cancelled)
    assert cancelled.qr_start_secret == ""
    fresh = flow.start(purpose="login", end_user_ip="127.0.0.1", session_key="s3")
    BankIDOrder.objects.exclude(pk=fresh.pk).update(started_at=timezone.now() - timedelta(days=2))
    assert flow.prune() == 2
    assert flow.prune() == 0
    assert list(BankIDOrder.objects.all()) == [fresh]
