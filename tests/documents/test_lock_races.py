"""The hold checks of documents.locks under real parallel connections on PostgreSQL: the check
that decides runs under the row lock of the write it guards, so a signing sent at the same moment
(which locks the document row, as signing.services must) is seen, never slipped past."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

import pytest
from django.db import connection, connections, transaction

from documents import locks, services
from documents.models import CustomerAccess, Document, DocumentVersion, Folder
from partners.models import Partner
from portal.errors import ServiceError
from signing.models import SigningRequest
from tests.conftest import World
from tests.documents.test_locks import PDF, PDF_V2, signing, upload
from tests.parallel import run_in_parallel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(f"needs real row locks between parallel connections; the database is {connection.vendor}")


@pytest.fixture
def folder(world: World) -> Folder:
    return services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.EDIT,
    )


def test_twelve_customer_uploads_of_the_firms_name_at_once_each_get_their_own_name(
    world: World, folder: Folder
) -> None:
    firms = upload(folder, world.staff)
    calls: list[Callable[[], object]] = [
        partial(
            upload, folder, world.customer_user, "Årsredovisning.pdf", PDF_V2 + bytes([n]), by_customer=True
        )
        for n in range(12)
    ]
    assert run_in_parallel(calls) == ["ok"] * 12
    names = sorted(Document.objects.exclude(pk=firms.document_id).values_list("name", flat=True))
    assert names == sorted(f"Årsredovisning ({n}).pdf" for n in range(2, 14))
    assert DocumentVersion.objects.filter(document_id=firms.document_id).count() == 1
    total = len(PDF) + sum(len(PDF_V2) + 1 for _ in range(12))
    assert Partner.objects.get(pk=world.partner.pk).storage_used_bytes == total


def _while_a_signing_is_being_sent(world: World, document: Document, write: Callable[[], object]) -> str:
    """Run `write` while another connection holds the document row locked (locks.lock_documents,
    which a signing's send is to call first) and has made, not yet committed, a signing of it;
    returns "blocked-then-<outcome>"."""
    held, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def send() -> None:
        try:
            with transaction.atomic():
                assert list(locks.lock_documents([document.pk])) == [document.pk]
                signing(world, document)
                held.set()
                release.wait(20)
        finally:
            connections.close_all()

    def run_write() -> None:
        try:
            write()
            outcome.append("ok")
        except ServiceError:
            outcome.append("refused")
        except Exception as error:  # reported in the assertion
            outcome.append(f"error: {error!r}")
        finally:
            connections.close_all()

    sender = threading.Thread(target=send)
    sender.start()
    assert held.wait(20)
    writer = threading.Thread(target=run_write)
    writer.start()
    time.sleep(0.7)  # long enough for the write to reach the document row lock and wait there
    waited = writer.is_alive()
    release.set()
    sender.join(20)
    writer.join(20)
    assert not sender.is_alive() and not writer.is_alive()
    assert SigningRequest.objects.filter(document=document).count() == 1
    return ("blocked-then-" if waited else "ran-then-") + "".join(outcome)


def test_an_upload_during_a_signings_send_waits_for_it_and_is_refused(world: World, folder: Folder) -> None:
    document = upload(folder, world.staff).document
    outcome = _while_a_signing_is_being_sent(
        world, document, partial(upload, folder, world.staff, data=PDF_V2)
    )
    assert outcome == "blocked-then-refused"
    assert DocumentVersion.objects.filter(document=document).count() == 1


def test_a_delete_during_a_signings_send_waits_for_it_and_is_refused(world: World, folder: Folder) -> None:
    document = upload(folder, world.staff).document
    outcome = _while_a_signing_is_being_sent(
        world, document, partial(services.documents_delete, documents=[document], actor=world.staff)
    )
    assert outcome == "blocked-then-refused"
    document.refresh_from_db()
    assert document.deleted_at is None


def test_a_folder_delete_during_a_signings_send_waits_for_it_and_is_refused(
    world: World, folder: Folder
) -> None:
    document = upload(folder, world.staff).document
    outcome = _while_a_signing_is_being_sent(
        world, document, partial(services.folder_delete, folder=folder, actor=world.staff)
    )
    assert outcome == "blocked-then-refused"
    assert Folder.objects.filter(pk=folder.pk).exists()
