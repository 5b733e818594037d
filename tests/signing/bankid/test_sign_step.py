"""The party's BankID step on the signing page (signing/views.py bankid_*), against the simulator
running as a real server and approved through its own page, as a person would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from django.test import Client
from django.urls import reverse

from portal.bankid import flow
from portal.bankid.simulator import SimulatorServer
from portal.models import BankIDOrder
from signing import selectors, services
from signing.models import Method, Party, SigningRequest, Status
from signing.services import PartyInput
from tests.bankid_sim import press as _press
from tests.conftest import World
from tests.signing.test_services import document, parties_of, send

pytestmark = pytest.mark.django_db

KARIN = "198503122387"
BO = "197211056572"


@pytest.fixture(autouse=True)
def _bankid(settings: Any, api_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.BANKID_URL = api_url
    settings.BANKID_RETRY_PAUSE_MS = 0
    monkeypatch.setattr(flow, "COLLECT_INTERVAL", timedelta(0))  # every poll collects


def _signing(
    world: World, folder: Any, *parties: PartyInput, name: str = "Avtal.pdf", **options: Any
) -> SigningRequest:
    return send(world, document(folder, world.admin, name), list(parties), language="en", **options)


def karin() -> PartyInput:
    return PartyInput("Karin Karlsson", "k@example.com", method=Method.BANKID, personnummer=KARIN)


def start(browser: Client, token: str, how: str = "qr", **form: str) -> BankIDOrder:
    response = browser.post(reverse("signing:bankid_start", args=[token]), {"flow": how, **form})
    assert response.status_code == 302, response.content[:300]
    order = BankIDOrder.objects.order_by("-started_at").first()
    assert order is not None
    assert response["Location"] == reverse("signing:bankid_wait", args=[token, order.pk])
    return order


def status(browser: Client, token: str, order: BankIDOrder) -> Any:
    return browser.get(reverse("signing:bankid_status", args=[token, order.pk]))


def until_done(browser: Client, token: str, order: BankIDOrder) -> str:
    """Poll the status endpoint as bankid.js does until it says where to go."""
    for _ in range(6):
        response = status(browser, token, order)
        if response.status_code == 204:
            return str(response["HX-Redirect"])
        assert response.status_code == 200
    raise AssertionError("the order did not complete")


def test_a_party_signs_with_bankid_and_the_request_is_sealed(
    funded: World,
    folder: Any,
    simulator: SimulatorServer,
    seal_keys: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    request = _signing(funded, folder, karin())
    party = parties_of(request)["Karin Karlsson"]
    token = selectors.party_token(party)
    browser = Client()
    page = browser.get(reverse("signing:sign", args=[token])).content.decode()
    assert "BankID on another device" in page and "BankID on this device" in page
    assert "Send me a code" not in page and 'name="code"' not in page

    order = start(browser, token)
    wait = browser.get(reverse("signing:bankid_wait", args=[token, order.pk])).content.decode()
    assert "<svg" in wait and reverse("signing:bankid_status", args=[token, order.pk]) in wait
    assert "js/bankid.js" in wait
    pending = status(browser, token, order)
    assert pending.status_code == 200 and b"data-pending" in pending.content
    assert _press(simulator, order.order_ref, "open").status_code == 303
    assert _press(simulator, order.order_ref, "approve", personalNumber=KARIN).status_code == 303
    with django_capture_on_commit_callbacks(execute=True):
        assert until_done(browser, token, order) == reverse("signing:sign", args=[token])

    party.refresh_from_db()
    request.refresh_from_db()
    assert party.action == "signed" and party.bankid_order_ref == order.order_ref
    assert party.bankid_evidence["user"]["personalNumber"] == KARIN
    assert request.status == Status.COMPLETED and request.sealed_version is not None
    done = browser.get(reverse("signing:sign", args=[token]))
    assert done.status_code == 200 and b"Thank you: you have signed." in done.content
    # The order is used once: polling it again, or consuming it, does nothing more.
    assert status(browser, token, order).status_code in (404, 410)
    order.refresh_from_db()
    assert not flow.consume(order)


def test_a_completed_order_is_consumed_once(funded: World, folder: Any, simulator: SimulatorServer) -> None:
    request = _signing(funded, folder, karin(), PartyInput("Bo", "bo@example.com"))
    party = parties_of(request)["Karin Karlsson"]
    token = selectors.party_token(party)
    browser = Client()
    order = start(browser, token)
    assert _press(simulator, order.order_ref, "approve", personalNumber=KARIN).status_code == 303
    assert until_done(browser, token, order) == reverse("signing:sign", args=[token])
    assert status(browser, token, order).status_code == 404
    assert browser.get(reverse("signing:bankid_wait", args=[token, order.pk])).status_code == 404
    party.refresh_from_db()
    assert party.action == "signed"
    assert SigningRequest.objects.get(pk=request.pk).status == Status.PENDING  # Bo has yet to sign


def test_someone_else_s_bankid_is_refused_with_the_method_s_message(
    funded: World, folder: Any, simulator: SimulatorServer
) -> None:
    request = _signing(funded, folder, karin())
    party = parties_of(request)["Karin Karlsson"]
    token = selectors.party_token(party)
    browser = Client()
    order = start(browser, token)
    # BankID itself refuses another person for the order's requirement...
    refused = _press(simulator, order.order_ref, "approve", personalNumber=BO)
    assert status(browser, token, order).status_code == 200
    assert refused.status_code != 303 or BankIDOrder.objects.get(pk=order.pk).status == "pending"
    # ...and the portal checks again: the party's number changed after the order was started.
    Party.objects.filter(pk=party.pk).update(personnummer=BO)
    assert _press(simulator, order.order_ref, "approve", personalNumber=KARIN).status_code == 303
    target = until_done(browser, token, order)
    page = browser.get(target).content.decode()
    assert "someone other than the person this signature is for" in page
    party.refresh_from_db()
    assert party.acted_at is None and party.code_failures == 1
    assert SigningRequest.objects.get(pk=request.pk).status == Status.PENDING


def test_cancel_and_starting_again(funded: World, folder: Any, simulator: SimulatorServer) -> None:
    request = _signing(funded, folder, karin())
    token = selectors.party_token(parties_of(request)["Karin Karlsson"])
    browser = Client()
    first = start(browser, token, "same_device")
    wait = browser.get(reverse("signing:bankid_wait", args=[token, first.pk])).content.decode()
    assert f"bankid:///?autostarttoken={first.auto_start_token}&amp;redirect=null" in wait
    second = start(browser, token)
    first.refresh_from_db()
    assert first.status == BankIDOrder.Status.CANCELLED  # starting again cancels the earlier order
    response = browser.post(reverse("signing:bankid_cancel", args=[token, second.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("signing:sign", args=[token])
    second.refresh_from_db()
    assert second.status == BankIDOrder.Status.CANCELLED
    # The app's own cancel shows BankID's message and offers to try again.
    third = start(browser, token)
    assert _press(simulator, third.order_ref, "cancel").status_code == 303
    ended = status(browser, token, third).content.decode()
    assert "data-pending" not in ended and "Try again" in ended and "cancel" in ended.lower()


def test_declining_needs_bankid_and_a_reason(funded: World, folder: Any, simulator: SimulatorServer) -> None:
    request = _signing(funded, folder, karin())
    party = parties_of(request)["Karin Karlsson"]
    token = selectors.party_token(party)
    browser = Client()
    # The code step's decline is not open to a BankID party.
    browser.post(reverse("signing:sign", args=[token]), {"action": "decline", "reason": "Fel pris"})
    assert SigningRequest.objects.get(pk=request.pk).status == Status.PENDING
    response = browser.post(
        reverse("signing:bankid_start", args=[token]), {"intent": "decline", "reason": " "}
    )
    assert response.status_code == 302 and not BankIDOrder.objects.exists()
    order = start(browser, token, intent="decline", reason="Fel pris")
    seen = requests.get(simulator.base_url + "/sim/orders", timeout=5).json()[0]
    assert seen["userVisibleData"].startswith("I decline to sign")
    # The person cancels in the app; "Try again" (a POST with the flow only) declines again.
    assert _press(simulator, order.order_ref, "cancel").status_code == 303
    assert "Try again" in status(browser, token, order).content.decode()
    again = start(browser, token)
    seen = requests.get(simulator.base_url + "/sim/orders", timeout=5).json()
    assert next(o for o in seen if o["orderRef"] == again.order_ref)["userVisibleData"].startswith(
        "I decline"
    )
    assert _press(simulator, again.order_ref, "approve", personalNumber=KARIN).status_code == 303
    until_done(browser, token, again)
    party.refresh_from_db()
    assert party.action == "declined" and party.decline_reason == "Fel pris"
    assert SigningRequest.objects.get(pk=request.pk).status == Status.DECLINED


def test_another_party_cannot_reach_the_order(funded: World, folder: Any, simulator: SimulatorServer) -> None:
    mine = parties_of(_signing(funded, folder, karin()))["Karin Karlsson"]
    other_request = _signing(
        funded,
        folder,
        PartyInput("Bo Bengtsson", "bo@example.com", method=Method.BANKID, personnummer=BO),
        name="Hyresavtal.pdf",
    )
    theirs = parties_of(other_request)["Bo Bengtsson"]
    token = selectors.party_token(mine)
    browser = Client()
    order = start(browser, token)
    other_token = selectors.party_token(theirs)
    wrong = token[:-1] + ("1" if token[-1] != "1" else "2")
    for bad in (other_token, wrong):
        assert status(browser, bad, order).status_code == 404
        assert browser.get(reverse("signing:bankid_wait", args=[bad, order.pk])).status_code == 404
        assert browser.post(reverse("signing:bankid_cancel", args=[bad, order.pk])).status_code == 404
    order.refresh_from_db()
    assert order.status == BankIDOrder.Status.PENDING


def test_an_email_code_party_has_no_bankid_step(
    funded: World, folder: Any, simulator: SimulatorServer
) -> None:
    party = parties_of(_signing(funded, folder, PartyInput("A", "a@example.com")))["A"]
    token = selectors.party_token(party)
    assert Client().post(reverse("signing:bankid_start", args=[token]), {"flow": "qr"}).status_code == 404
    assert not BankIDOrder.objects.exists()


def test_a_cancelled_signing_answers_410(funded: World, folder: Any, simulator: SimulatorServer) -> None:
    request = _signing(funded, folder, karin())
    token = selectors.party_token(parties_of(request)["Karin Karlsson"])
    browser = Client()
    order = start(browser, token)
    services.signing_cancel(signing=request, actor=funded.staff)
    assert browser.post(reverse("signing:bankid_start", args=[token]), {"flow": "qr"}).status_code == 410
    assert browser.get(reverse("signing:bankid_wait", args=[token, order.pk])).status_code == 410
    assert status(browser, token, order).status_code == 410
    assert browser.post(reverse("signing:bankid_cancel", args=[token, order.pk])).status_code == 410


def test_starts_are_rate_limited_per_address(
    funded: World, folder: Any, simulator: SimulatorServer, settings: Any
) -> None:
    settings.RATE_BANKID_START = "2/h"
    token = selectors.party_token(parties_of(_signing(funded, folder, karin()))["Karin Karlsson"])
    browser = Client()
    start(browser, token)
    start(browser, token)
    assert browser.post(reverse("signing:bankid_start", args=[token]), {"flow": "qr"}).status_code == 429
    assert BankIDOrder.objects.count() == 2


def test_a_new_sign_order_after_a_decline_order_signs(
    funded: World, folder: Any, simulator: SimulatorServer
) -> None:
    request = _signing(funded, folder, karin(), PartyInput("Bo", "bo@example.com"))
    party = parties_of(request)["Karin Karlsson"]
    token = selectors.party_token(party)
    browser = Client()
    start(browser, token, intent="decline", reason="Fel pris")
    order = start(browser, token, intent="sign")  # changed her mind: the choice's own buttons
    assert _press(simulator, order.order_ref, "approve", personalNumber=KARIN).status_code == 303
    until_done(browser, token, order)
    party.refresh_from_db()
    assert party.action == "signed" and party.decline_reason == ""


def test_the_new_endpoints_count_against_the_signing_link_limit(
    funded: World, folder: Any, simulator: SimulatorServer, settings: Any
) -> None:
    settings.RATE_SIGNING_LINK = "2/h"
    token = selectors.party_token(parties_of(_signing(funded, folder, karin()))["Karin Karlsson"])
    browser = Client()
    order = start(browser, token)
    assert browser.get(reverse("signing:bankid_wait", args=[token, order.pk])).status_code == 200
    assert browser.post(reverse("signing:bankid_cancel", args=[token, order.pk])).status_code == 429
    assert status(browser, token, order).status_code == 200  # polling is not counted


def test_a_party_whose_turn_it_is_not_starts_no_order(
    funded: World, folder: Any, simulator: SimulatorServer
) -> None:
    bo = PartyInput("Bo Bengtsson", "bo@example.com", method=Method.BANKID, order=2, personnummer=BO)
    request = _signing(funded, folder, karin(), bo)
    token = selectors.party_token(parties_of(request)["Bo Bengtsson"])
    response = Client().post(reverse("signing:bankid_start", args=[token]), {"flow": "qr"})
    assert response.status_code == 302 and not BankIDOrder.objects.exists()


def test_a_decline_order_finished_in_another_browser_never_counts_as_a_signature(
    funded: World, folder: Any, simulator: SimulatorServer
) -> None:
    """The person approved "I decline to sign …" in the app: whichever browser polls the order
    (one without the reason waiting in its session, say), it must not become a signature. What
    was signed for is in the signed userNonVisibleData, which the method checks."""
    request = _signing(funded, folder, karin())
    party = parties_of(request)["Karin Karlsson"]
    token = selectors.party_token(party)
    order = start(Client(), token, intent="decline", reason="Fel pris")
    assert _press(simulator, order.order_ref, "approve", personalNumber=KARIN).status_code == 303
    other_browser = Client()
    until_done(other_browser, token, order)
    party.refresh_from_db()
    assert party.acted_at is None and not party.bankid_evidence
    assert SigningRequest.objects.get(pk=request.pk).status == Status.PENDING
