"""Sending races on real parallel PostgreSQL connections: the balance decides, nothing else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial

import pytest
from django.db import connection
from django.utils import timezone

from billing import services as billing
from billing.models import BalanceEntry, EntryKind
from documents import services as documents
from documents.models import CustomerAccess
from partners.models import Partner
from portal.demo_files import blank_pdf
from signing import services
from signing.models import Party, SigningRequest
from tests.conftest import World
from tests.parallel import run_in_parallel

pytestmark = pytest.mark.django_db(transaction=True)


def test_20_parallel_sends_with_a_balance_of_5_send_exactly_5(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(f"needs real row locks between parallel connections; the database is {connection.vendor}")
    billing.signature_grant(partner=world.partner, amount=5, reason="test")
    folder = documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.NONE,
    )
    docs = [
        documents.document_upload(
            folder=folder, actor=world.admin, name=f"Avtal {n}.pdf", chunks=[blank_pdf()], by_customer=False
        ).document
        for n in range(20)
    ]
    calls: list[Callable[[], object]] = [
        partial(
            services.signing_send,
            collaboration=world.collaboration,
            actor=world.staff,
            document=doc,
            parties=[services.PartyInput("Kund", "kund@example.com")],
            deadline=timezone.now() + dt.timedelta(days=7),
        )
        for doc in docs
    ]
    outcomes = run_in_parallel(calls)
    assert sorted(outcomes) == ["ok"] * 5 + ["refused"] * 15
    assert SigningRequest.objects.count() == 5 and Party.objects.count() == 5
    assert Partner.objects.get(pk=world.partner.pk).signature_balance == 0
    assert BalanceEntry.objects.filter(kind=EntryKind.CHARGE).count() == 5
