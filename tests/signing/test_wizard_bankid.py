"""The wizard's signing method per party: BankID offered (and the default) only when BankID is
configured, and a BankID party's personnummer checked and normalised."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import translation

from billing import services as billing
from documents.models import Document, Folder
from partners.models import Partner
from portal.errors import ServiceError
from portal.models import User
from signing import services
from signing.models import Method, Party, SigningRequest
from signing.services import PartyInput
from tests.conftest import World
from tests.signing.test_partner_views import (
    balance,
    draft_of,
    form_data,
    new_url,
    nothing_sent,
    page,
    run_wizard,
    send,
    step_url,
    upload,
)

pytestmark = pytest.mark.django_db

SIMULATOR = "http://127.0.0.1:9/rp/v6.0/"
KARIN = {"name": "Karin Karlsson", "email": "karin@example.com", "method": "bankid"}


@pytest.fixture(autouse=True)
def _english(world: World, settings: Any) -> None:
    User.objects.update(language="en")
    settings.NOTIFICATION_BATCH_SECONDS = 0


@pytest.fixture
def paid(world: World) -> World:
    Partner.objects.filter(pk=world.partner.pk).update(signature_balance=0)
    billing.signature_grant(partner=world.partner, amount=5, reason="test")
    return world


@pytest.fixture
def pdf(world: World, folder: Folder) -> Document:
    return upload(folder, world.admin)


def method_select(html: str, row: int = 0) -> str:
    found = re.search(rf'<select name="parties-{row}-method".*?</select>', html, re.S)
    assert found, "no method field for the row"
    return found.group(0)


@pytest.mark.parametrize("who", ["outsider", "staff_unassigned", "primary"])
def test_others_cannot_send_with_bankid(
    paid: World, pdf: Document, login: Any, settings: Any, who: str
) -> None:
    settings.BANKID_URL = SIMULATOR
    client = login(getattr(paid, who))
    assert client.post(new_url(paid, pdf)).status_code in (403, 404)
    draft = draft_of(paid, pdf)
    data = form_data([KARIN | {"personnummer": "198503122387"}])
    assert client.post(step_url(paid, draft, "parties"), data).status_code in (403, 404)
    assert client.post(step_url(paid, draft, "send")).status_code in (403, 404)
    assert nothing_sent() and not Party.objects.exists() and balance(paid) == 5


def test_bankid_is_offered_and_chosen_when_configured(
    paid: World, pdf: Document, login: Any, settings: Any
) -> None:
    settings.BANKID_URL = SIMULATOR
    client = login(paid.staff)
    parties = step_url(paid, draft_of(paid, pdf), "parties")
    select = method_select(page(client.get(parties)))
    assert re.search(r'<option value="bankid"[^>]*selected', select)
    assert 'value="email_code"' in select
    # A row added by "Add a row" (or from a person) starts with BankID too.
    added = page(client.post(parties, form_data([KARIN]) | {"add_row": "1", "step": ""}))
    assert re.search(r'<option value="bankid"[^>]*selected', method_select(added, 1))


def test_bankid_is_not_offered_when_not_configured(
    paid: World, pdf: Document, login: Any, settings: Any
) -> None:
    settings.BANKID_URL = ""
    client = login(paid.staff)
    select = method_select(page(client.get(step_url(paid, draft_of(paid, pdf), "parties"))))
    assert "bankid" not in select
    assert re.search(r'<option value="email_code"[^>]*selected', select)
    response = run_wizard(client, paid, pdf, [KARIN])
    assert response.status_code == 422
    assert nothing_sent() and balance(paid) == 5
    # The service refuses it too, whatever form sent it.
    with translation.override("en"), pytest.raises(ServiceError, match="BankID is not available"):
        send(paid, pdf, [PartyInput("Karin", "karin@example.com", method=Method.BANKID)])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("198503122388", "check digit is wrong"),
        ("19850332-2387", "not valid"),
        ("1985-03-12", "YYYYMMDD-NNNN"),
        ("abcdefghijkl", "YYYYMMDD-NNNN"),
    ],
)
def test_a_bad_personnummer_is_refused_with_a_message(
    paid: World, pdf: Document, login: Any, settings: Any, value: str, message: str
) -> None:
    settings.BANKID_URL = SIMULATOR
    client = login(paid.staff)
    for step in ("review", "send"):
        response = run_wizard(client, paid, pdf, [KARIN | {"personnummer": value}], step=step)
        assert response.status_code == 422
        assert message in page(response)
    assert nothing_sent() and balance(paid) == 5
    with translation.override("en"), pytest.raises(ServiceError, match=re.escape(message)):
        send(paid, pdf, [PartyInput("Karin", "karin@example.com", method=Method.BANKID, personnummer=value)])


@pytest.mark.parametrize("value", ["850312-2387", "8503122387", "19850312-2387", " 198503122387 "])
def test_a_personnummer_is_stored_as_twelve_digits(
    paid: World, pdf: Document, login: Any, settings: Any, value: str
) -> None:
    settings.BANKID_URL = SIMULATOR
    client = login(paid.staff)
    review = run_wizard(client, paid, pdf, [KARIN | {"personnummer": value}], step="review")
    assert review.status_code == 200 and "198503122387" in page(review) and "BankID" in page(review)
    SigningRequest.objects.all().delete()
    response = run_wizard(client, paid, pdf, [KARIN | {"personnummer": value}])
    assert response.status_code == 302
    party = Party.objects.get()
    assert (party.method, party.personnummer) == (Method.BANKID, "198503122387")
    assert SigningRequest.objects.count() == 1 and balance(paid) == 4
    # The service normalises what it is given as well.
    request = services.signing_send(
        collaboration=paid.collaboration,
        actor=paid.staff,
        document=pdf,
        parties=[PartyInput("Bo", "bo@example.com", method=Method.BANKID, personnummer="721105-6572")],
        deadline=party.request.deadline,
    )
    assert request.parties.get().personnummer == "197211056572"
