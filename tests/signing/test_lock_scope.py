"""Cancelling a signing or renewing a party's link locks the signing request's row and nothing
else. A FOR UPDATE over the join with the collaboration and the partner locked those rows too,
ahead of the refund's own partner lock, and deadlocked with an upload committing at the same time
(tests/integration/test_postgres_restart.py ran into it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from documents import services as documents
from documents.models import Folder
from signing import services
from signing.models import Party, SigningRequest
from tests.conftest import World
from tests.pdfs import blank_pdf

pytestmark = pytest.mark.django_db


def _sent(world: World, folder: Folder) -> SigningRequest:
    doc = documents.document_upload(
        folder=folder, actor=world.admin, name="Avtal.pdf", chunks=[blank_pdf()], by_customer=False
    ).document
    return services.signing_send(
        collaboration=world.collaboration,
        actor=world.staff,
        document=doc,
        parties=[services.PartyInput("Kund", "kund@example.com")],
        deadline=timezone.now() + dt.timedelta(days=7),
    )


def _locks(action: Callable[[], object]) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        action()
    return [
        q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"] or "FOR NO KEY" in q["sql"]
    ]


def _request_lock(locks: list[str]) -> str:
    found = [sql for sql in locks if 'FROM "signing_signingrequest"' in sql]
    assert len(found) == 1, locks
    return found[0]


def test_cancel_locks_only_the_request_row(funded: World, folder: Folder) -> None:
    request = _sent(funded, folder)
    lock = _request_lock(_locks(lambda: services.signing_cancel(signing=request, actor=funded.staff)))
    assert lock.endswith('FOR UPDATE OF "signing_signingrequest"'), lock


def test_link_renewal_locks_only_the_request_row(funded: World, folder: Folder) -> None:
    request = _sent(funded, folder)
    party = Party.objects.get(request=request)
    lock = _request_lock(_locks(lambda: services.party_link_revoke(party=party, actor=funded.staff)))
    assert lock.endswith('FOR UPDATE OF "signing_signingrequest"'), lock
