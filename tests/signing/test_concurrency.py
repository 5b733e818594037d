"""Sending races on real parallel PostgreSQL connections: the balance decides, nothing else."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from billing import services as billing
from billing.models import BalanceEntry, EntryKind
from documents import locks
from documents import services as documents
from documents.models import CustomerAccess, Document
from partners.models import Partner
from portal.errors import ServiceError
from signing import services
from signing.methods import method_for
from signing.models import Party, SigningRequest
from tests.conftest import World
from tests.parallel import run_in_parallel
from tests.pdfs import blank_pdf

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


def test_parallel_wrong_codes_each_count_and_stop_at_the_limit(world: World, settings: Any) -> None:
    """N wrong guesses at once count N (a read-then-write counter counted one), and no more
    guesses are compared than the limit allows, however many arrive together."""
    if connection.vendor != "postgresql":
        pytest.skip(f"needs real row locks between parallel connections; the database is {connection.vendor}")
    settings.SIGNING_CODE_TRIES = 5
    settings.SIGNING_CODE_MAX_FAILURES = 100
    billing.signature_grant(partner=world.partner, amount=1, reason="test")
    folder = documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.NONE,
    )
    doc = documents.document_upload(
        folder=folder, actor=world.admin, name="Avtal.pdf", chunks=[blank_pdf()], by_customer=False
    ).document
    request = services.signing_send(
        collaboration=world.collaboration,
        actor=world.staff,
        document=doc,
        parties=[services.PartyInput("Kund", "kund@example.com")],
        deadline=timezone.now() + dt.timedelta(days=7),
    )
    party = Party.objects.get(request=request)
    right = method_for(party).start(party)
    wrong = "000000" if right != "000000" else "111111"

    def guess(answer: str) -> Callable[[], object]:
        return partial(services.party_act, party=Party.objects.get(pk=party.pk), action="sign", answer=answer)

    assert run_in_parallel([guess(wrong) for _n in range(3)]) == ["refused"] * 3
    assert Party.objects.get(pk=party.pk).code_attempts == 3
    # Eight more at once: only two are tried; the code is then spent, the right answer too.
    assert run_in_parallel([guess(wrong) for _n in range(8)]) == ["refused"] * 8
    counted = Party.objects.get(pk=party.pk)
    assert (counted.code_attempts, counted.code_failures) == (5, 5)
    assert run_in_parallel([guess(right)]) == ["refused"]
    assert Party.objects.get(pk=party.pk).acted_at is None


def test_a_send_while_the_document_is_being_deleted_waits_and_sends_nothing(world: World) -> None:
    """The send locks its documents' rows first (documents.locks.lock_documents): a delete that
    holds the row commits first and the send then sees it, charges nothing and creates nothing."""
    if connection.vendor != "postgresql":
        pytest.skip(f"needs real row locks between parallel connections; the database is {connection.vendor}")
    billing.signature_grant(partner=world.partner, amount=5, reason="test")
    before = Partner.objects.get(pk=world.partner.pk).signature_balance
    folder = documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.NONE,
    )
    doc = documents.document_upload(
        folder=folder, actor=world.admin, name="Avtal.pdf", chunks=[blank_pdf()], by_customer=False
    ).document
    held, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def delete() -> None:
        try:
            with transaction.atomic():
                assert list(locks.lock_documents([doc.pk])) == [doc.pk]
                Document.objects.filter(pk=doc.pk).update(deleted_at=timezone.now())
                held.set()
                release.wait(20)
        finally:
            connections.close_all()

    def send() -> None:
        try:
            services.signing_send(
                collaboration=world.collaboration,
                actor=world.staff,
                document=doc,
                parties=[services.PartyInput("Kund", "kund@example.com")],
                deadline=timezone.now() + dt.timedelta(days=7),
            )
            outcome.append("sent")
        except ServiceError:
            outcome.append("refused")
        finally:
            connections.close_all()

    deleter = threading.Thread(target=delete)
    deleter.start()
    assert held.wait(20)
    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.7)  # long enough for the send to reach the document row lock and wait there
    waited = sender.is_alive()
    release.set()
    deleter.join(20)
    sender.join(20)
    assert (waited, outcome) == (True, ["refused"])
    assert not SigningRequest.objects.exists()
    assert Partner.objects.get(pk=world.partner.pk).signature_balance == before
