"""seed_demo gives Karin and Bo the BankID simulator's test numbers, so they can log in with BankID."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from demo.management.commands.seed_demo import DEMO_PERSONNUMMER, Command
from portal.bankid.simulator import IDENTITIES_BY_NUMBER
from signing.models import Method, Party
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_demo_numbers_are_simulator_identities() -> None:
    assert DEMO_PERSONNUMMER == {"karin@kund.example": "198503122387", "bo@bygg.example": "197211056572"}
    assert all(number in IDENTITIES_BY_NUMBER for number in DEMO_PERSONNUMMER.values())


def test_number_given_once_and_never_taken_from_another_user() -> None:
    karin = UserFactory.create(email="karin@kund.example")
    Command()._personnummer(karin)
    karin.refresh_from_db()
    assert karin.personnummer == "198503122387"
    Command()._personnummer(karin)  # idempotent
    holder = UserFactory.create(personnummer="197211056572")
    bo = UserFactory.create(email="bo@bygg.example")
    Command()._personnummer(bo)
    bo.refresh_from_db()
    holder.refresh_from_db()
    assert bo.personnummer == "" and holder.personnummer == "197211056572"
    olle = UserFactory.create(email="olle@kund.example")
    Command()._personnummer(olle)
    olle.refresh_from_db()
    assert olle.personnummer == ""


@pytest.mark.parametrize("bankid_url", ["http://127.0.0.1:8765/rp/v6.0/", ""])
def test_the_pending_demo_signing_uses_bankid_where_bankid_is_configured(
    settings: Any, bankid_url: str
) -> None:
    """After `make run` (BankID pointed at the simulator) a new user can try BankID: Karin's
    waiting signing asks for her BankID; without BankID it asks for the emailed code."""
    settings.BANKID_URL = bankid_url
    call_command("seed_demo", "--force", stdout=io.StringIO())
    waiting = Party.objects.get(email="karin@kund.example", acted_at__isnull=True)
    if bankid_url:
        assert (waiting.method, waiting.personnummer) == (Method.BANKID, "198503122387")
    else:
        assert waiting.method == Method.EMAIL_CODE
    assert Party.objects.filter(method=Method.BANKID).count() == (1 if bankid_url else 0)
