"""Ending a collaboration: what happens to the files (kept read-only for the customer, or deleted at
once after a typed confirmation), what is cancelled with it, who is told, the zip of every folder,
the files kept for retention, and the nightly purge. Nothing is stranded: after the read period and
the retention, no stored byte of the customer is left counting."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from billing import services as billing
from billing.models import BalanceEntry, EntryKind
from customers import services
from customers.models import Collaboration, CollaborationStatus
from docrequests import services as docrequests
from docrequests.models import DocumentRequest
from docrequests.models import Status as RequestStatus
from documents import ending
from documents import services as documents
from documents.models import CustomerAccess, Document, DocumentVersion, Folder, RetentionKind
from documents.storage import document_storage
from documents.tasks import purge_ended_collaborations
from documents.usage import stored_bytes
from notifications.events import describe
from notifications.models import Event, Notification
from partners.models import Partner
from portal.errors import ServiceError
from portal.models import AuditEvent, User
from signing import services as signing
from signing.models import SigningRequest
from signing.models import Status as SigningStatus
from signing.services import PartyInput
from tests.conftest import World
from tests.pdfs import blank_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@dataclass
class Files:
    world: World
    root: Folder  # shared with the customer for reading
    sub: Folder
    edit: Folder  # the customer may upload here (while active)
    a: Document  # in root
    b: Document  # in root / sub
    c: Document  # in edit, uploaded by the customer


def _upload(folder: Folder, actor: User, name: str, *, by_customer: bool = False) -> Document:
    return documents.document_upload(
        folder=folder, actor=actor, name=name, chunks=[blank_pdf() + name.encode()], by_customer=by_customer
    ).document


@pytest.fixture
def files(world: World) -> Files:
    User.objects.update(language="en")
    for user in (world.admin, world.staff, world.primary, world.customer_user, world.outsider):
        user.refresh_from_db()
    root = documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokföring",
        customer_access=CustomerAccess.READ,
    )
    sub = documents.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="2025", parent=root
    )
    edit = documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Inkorg",
        customer_access=CustomerAccess.EDIT,
    )
    a = _upload(root, world.admin, "a.pdf")
    b = _upload(sub, world.admin, "b.pdf")
    c = _upload(edit, world.customer_user, "c.pdf", by_customer=True)
    return Files(world, root, sub, edit, a, b, c)


def _end(
    world: World, *, delete: bool = False, confirm: str | None = None, capture: Any = None
) -> Collaboration:
    kwargs: dict[str, Any] = {
        "collaboration": world.collaboration,
        "actor": world.admin,
        "delete_files": delete,
    }
    if delete:
        kwargs["confirm"] = world.collaboration.customer.name if confirm is None else confirm
    if capture is None:
        return services.collaboration_end(**kwargs)
    with capture(execute=True):
        return services.collaboration_end(**kwargs)


def _keys(world: World) -> list[str]:
    return list(
        DocumentVersion.objects.filter(document__folder__collaboration=world.collaboration).values_list(
            "storage_key", flat=True
        )
    )


def _customer_bytes(world: World) -> int:
    return sum(n for _p, customer, n in stored_bytes(world.partner.pk) if customer == world.customer.pk)


def _counter(world: World) -> int:
    return Partner.objects.get(pk=world.partner.pk).storage_used_bytes


def _read_period_over(world: World) -> None:
    Collaboration.objects.filter(pk=world.collaboration.pk).update(
        read_until=timezone.now() - dt.timedelta(minutes=1)
    )


def _retain(files: Files, *, last_day: dt.date) -> None:
    """A one-year rule from the upload on the top-level folder "Bokföring", with its versions dated so
    that their retention ends on `last_day`."""
    Folder.objects.filter(pk=files.root.pk).update(retention_kind=RetentionKind.UPLOAD, retention_years=1)
    uploaded = timezone.make_aware(dt.datetime.combine(last_day.replace(year=last_day.year - 1), dt.time(12)))
    DocumentVersion.objects.filter(document__folder__root=files.root).update(created_at=uploaded)


# --- Keeping the files: the customer reads them for the read period -------------------------


def test_keeping_the_files_gives_the_customer_read_only_access_until_read_until(
    files: Files, login: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = files.world
    settings.PORTAL_ENDED_READ_DAYS = 90
    before = _counter(world)
    collaboration = _end(world, capture=django_capture_on_commit_callbacks)
    assert collaboration.status == CollaborationStatus.ENDED
    assert collaboration.read_until is not None
    assert abs(collaboration.read_until - (timezone.now() + dt.timedelta(days=90))) < dt.timedelta(minutes=1)
    assert collaboration.files_deleted_at is None
    assert _counter(world) == before > 0  # still stored, still counted
    assert all(document_storage().exists(key) for key in _keys(world))

    client = login(world.customer_user)
    assert (
        client.get(reverse("customers:collaboration_detail", args=[world.collaboration.pk])).status_code
        == 302
    )
    page = client.get(reverse("documents:customer_folder", args=[world.collaboration.pk, files.edit.pk]))
    assert page.status_code == 200
    assert client.get(reverse("documents:document_download", args=[files.c.pk])).status_code in (200, 302)
    upload = client.post(
        reverse("documents:upload", args=[files.edit.pk]),
        data=b"%PDF-1.4",
        content_type="application/pdf",
        HTTP_X_FILE_NAME="new.pdf",
    )
    assert upload.status_code in (403, 404)
    assert client.post(reverse("documents:document_delete", args=[files.c.pk])).status_code in (403, 404)
    assert Document.objects.filter(pk=files.c.pk, deleted_at__isnull=True).exists()
    assert not Document.objects.filter(name="new.pdf").exists()
    # Signings and requests stay closed for the customer.
    assert client.get(reverse("signing:customer_list", args=[world.collaboration.pk])).status_code == 404

    listed = client.get(reverse("customers:collaboration_list")).content.decode()
    assert "Ended: your files can be read until" in listed


def test_after_the_read_period_the_customer_sees_nothing(files: Files, login: Any) -> None:
    world = files.world
    _end(world)
    _read_period_over(world)
    client = login(world.customer_user)
    assert (
        client.get(reverse("customers:collaboration_detail", args=[world.collaboration.pk])).status_code
        == 404
    )
    assert client.get(reverse("documents:customer_root", args=[world.collaboration.pk])).status_code == 404
    assert client.get(reverse("documents:document_download", args=[files.a.pk])).status_code == 404
    assert "Alfa Byrå AB" not in client.get(reverse("customers:collaboration_list")).content.decode()


def test_the_partner_keeps_no_working_page_of_an_ended_collaboration(files: Files, login: Any) -> None:
    world = files.world
    _end(world)
    client = login(world.admin)
    for url in (
        reverse("customers:customer_detail", args=[world.collaboration.pk]),
        reverse("documents:partner_root", args=[world.collaboration.pk]),
        reverse("documents:partner_folder", args=[world.collaboration.pk, files.root.pk]),
        reverse("documents:document_download", args=[files.a.pk]),
    ):
        assert client.get(url).status_code == 404, url


def test_an_unanswered_invitation_gives_no_read_period_and_its_files_go_that_night(
    files: Files, login: Any
) -> None:
    world = files.world
    Collaboration.objects.filter(pk=world.collaboration.pk).update(status=CollaborationStatus.INVITED)
    world.collaboration.refresh_from_db()
    _end(world)
    world.collaboration.refresh_from_db()
    assert world.collaboration.read_until is None
    client = login(world.customer_user)
    assert client.get(reverse("documents:document_download", args=[files.a.pk])).status_code == 404
    assert ending.ended_due_ids() == [world.collaboration.pk]
    purge_ended_collaborations()
    assert _customer_bytes(world) == 0


# --- Deleting at once -----------------------------------------------------------------------


@pytest.mark.parametrize("confirm", ["", "Kund Beta AB", "Kund Alfa"])
def test_a_wrong_confirmation_changes_nothing(files: Files, confirm: str) -> None:
    world = files.world
    before = _counter(world)
    with pytest.raises(ServiceError) as refused:
        _end(world, delete=True, confirm=confirm)
    assert refused.value.field == "confirm"
    world.collaboration.refresh_from_db()
    assert world.collaboration.status == CollaborationStatus.ACTIVE
    assert world.collaboration.read_until is None and world.collaboration.files_deleted_at is None
    assert _counter(world) == before
    assert not DocumentVersion.objects.filter(purged_at__isnull=False).exists()


def test_deleting_now_purges_every_file_at_once(
    files: Files, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = files.world
    keys = _keys(world)
    _end(world, delete=True, confirm="  kund alfa ab ", capture=django_capture_on_commit_callbacks)
    world.collaboration.refresh_from_db()
    assert world.collaboration.read_until is None
    assert world.collaboration.files_deleted_at is not None
    assert not DocumentVersion.objects.filter(
        purged_at__isnull=True, document__folder__root=files.root
    ).exists()
    assert not any(document_storage().exists(key) for key in keys)
    assert _customer_bytes(world) == 0
    assert billing.storage_reconcile() == []
    assert not Document.objects.filter(
        folder__collaboration=world.collaboration, deleted_at__isnull=True
    ).exists()
    client = login(world.customer_user)
    assert (
        client.get(reverse("customers:collaboration_detail", args=[world.collaboration.pk])).status_code
        == 404
    )
    assert AuditEvent.objects.filter(action="collaboration.end", details__files="deleted").exists()


# --- What is cancelled with it, and who is told ----------------------------------------------


def test_pending_signings_are_cancelled_with_their_refund_and_parties_told(
    files: Files, django_capture_on_commit_callbacks: Any
) -> None:
    world = files.world
    billing.signature_grant(partner=world.partner, amount=3, reason="test")
    doc = _upload(files.root, world.admin, "Avtal.pdf")
    with django_capture_on_commit_callbacks(execute=True):
        untouched = signing.signing_send(
            collaboration=world.collaboration,
            actor=world.staff,  # not the one who ends it
            document=doc,
            parties=[PartyInput("Anna Part", "anna@example.com")],
            deadline=timezone.now() + dt.timedelta(days=7),
        )
    draft = signing.draft_create(collaboration=world.collaboration, actor=world.staff, document=doc)
    assert Partner.objects.get(pk=world.partner.pk).signature_balance == 2
    mail.outbox.clear()

    _end(world, capture=django_capture_on_commit_callbacks)

    untouched.refresh_from_db()
    assert untouched.status == SigningStatus.CANCELLED
    assert Partner.objects.get(pk=world.partner.pk).signature_balance == 3  # nobody had signed: refunded
    assert (
        BalanceEntry.objects.filter(kind=EntryKind.REFUND, reference=untouched.charge_reference).count() == 1
    )
    assert not SigningRequest.objects.filter(pk=draft.pk).exists()
    told = [m for m in mail.outbox if m.to == ["anna@example.com"]]
    assert len(told) == 1
    # In the signing's language, Swedish by default.
    assert "samarbetet med kunden har avslutats" in told[0].body
    assert untouched.events.filter(kind="cancelled", detail__reason="collaboration_ended").exists()


def _ask(files: Files) -> DocumentRequest:
    world = files.world
    return docrequests.docrequest_create(
        collaboration=world.collaboration,
        actor=world.admin,
        folder=files.edit,
        title="Kontoutdrag",
        items=["December"],
        due_date=timezone.localdate() + dt.timedelta(days=10),
        asked=[world.customer_user],
    )


def test_open_requests_are_cancelled_and_the_asked_users_told(files: Files, login: Any) -> None:
    world = files.world
    request = _ask(files)
    _end(world)
    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED
    notice = Notification.objects.get(event=Event.DOCREQUEST_CANCELLED)
    assert notice.recipient == world.customer_user
    assert "the collaboration has ended" in describe(notice.event, notice.params)
    assert AuditEvent.objects.filter(
        action="docrequest.cancel", details__reason="collaboration_ended"
    ).exists()
    # The request's page stays closed to the customer during the read period.
    url = reverse("docrequests:customer_detail", args=[request.pk])
    assert login(world.customer_user).get(url).status_code == 404


def test_a_version_cannot_be_replaced_or_deleted_by_the_customer_in_the_read_period(
    files: Files, login: Any
) -> None:
    world = files.world
    _end(world)
    client = login(world.customer_user)
    detail = client.get(reverse("documents:document_detail", args=[files.c.pk]))
    assert detail.status_code == 200
    assert detail.context["rights"].can_upload is False
    assert detail.context["rights"].can_delete(files.c) is False
    version = files.c.current_version
    assert version is not None
    assert client.post(reverse("documents:version_delete", args=[version.pk])).status_code in (403, 404)
    assert DocumentVersion.objects.get(pk=version.pk).deleted_at is None


def test_the_customer_administrators_are_emailed_in_their_language(
    files: Files, django_capture_on_commit_callbacks: Any
) -> None:
    world = files.world
    User.objects.filter(pk=world.primary.pk).update(language="sv")
    mail.outbox.clear()
    _end(world, capture=django_capture_on_commit_callbacks)
    to_primary = [m for m in mail.outbox if m.to == [world.primary.email]]
    assert len(to_primary) == 1
    assert "Hej " in to_primary[0].body  # Swedish, the primary contact's language
    assert not [m for m in mail.outbox if m.to == [world.customer_user.email]]  # not an administrator
    assert reverse("customers:collaboration_detail", args=[world.collaboration.pk]) in to_primary[0].body


def test_the_email_says_the_files_were_deleted(files: Files, django_capture_on_commit_callbacks: Any) -> None:
    world = files.world
    mail.outbox.clear()
    _end(world, delete=True, capture=django_capture_on_commit_callbacks)
    (message,) = [m for m in mail.outbox if m.to == [world.primary.email]]
    assert "Anna Admin at Alfa Byrå AB has ended the collaboration" in message.body
    assert "were deleted" in message.body


# --- The nightly purge ----------------------------------------------------------------------


def test_the_beat_purges_after_the_read_period_and_only_once(
    files: Files, django_capture_on_commit_callbacks: Any
) -> None:
    world = files.world
    keys = _keys(world)
    _end(world)
    with django_capture_on_commit_callbacks(execute=True):
        purge_ended_collaborations()  # still in the read period: nothing
    assert all(document_storage().exists(key) for key in keys)
    _read_period_over(world)
    with django_capture_on_commit_callbacks(execute=True):
        purge_ended_collaborations()
    assert not any(document_storage().exists(key) for key in keys)
    assert _customer_bytes(world) == 0
    assert billing.storage_reconcile() == []
    assert ending.collaboration_purge(collaboration_id=world.collaboration.pk) == 0
    assert ending.ended_due_ids() == []
    world.collaboration.refresh_from_db()
    assert world.collaboration.files_deleted_at is not None


def test_other_collaborations_are_left_alone(files: Files) -> None:
    world = files.world
    other = _upload(
        documents.folder_create(collaboration=world.other_collaboration, actor=world.admin, name="X"),
        world.admin,
        "x.pdf",
    )
    _end(world, delete=True)
    _read_period_over(world)
    purge_ended_collaborations()
    assert DocumentVersion.objects.filter(document=other, purged_at__isnull=True).exists()
    assert billing.storage_reconcile() == []


# --- Retention: kept through the end, for the partner, until the day after ------------------


@pytest.mark.parametrize("delete", [False, True])
def test_a_retained_document_survives_the_end_and_the_beat(
    files: Files, login: Any, delete: bool, django_capture_on_commit_callbacks: Any
) -> None:
    world = files.world
    last_day = timezone.localdate() + dt.timedelta(days=30)
    _retain(files, last_day=last_day)
    _end(world, delete=delete, capture=django_capture_on_commit_callbacks)
    _read_period_over(world)
    with django_capture_on_commit_callbacks(execute=True):
        purge_ended_collaborations()
    kept = DocumentVersion.objects.filter(document__in=[files.a, files.b], purged_at__isnull=True)
    assert kept.count() == 2 and all(document_storage().exists(v.storage_key) for v in kept)
    assert DocumentVersion.objects.get(document=files.c).purged_at is not None  # not retained: gone
    assert _customer_bytes(world) == sum(v.size for v in kept)  # still counted
    assert billing.storage_reconcile() == []

    page = login(world.admin).get(reverse("documents:ending_files_kept", args=[world.collaboration.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "a.pdf" in text and "b.pdf" in text and "c.pdf" not in text
    assert "Bokföring / 2025" in text
    download = login(world.admin).get(
        reverse("documents:ending_kept_download", args=[world.collaboration.pk, files.b.pk])
    )
    assert download.status_code in (200, 302)
    # The customer reads nothing once the read period is over.
    assert (
        login(world.customer_user).get(reverse("documents:document_download", args=[files.a.pk])).status_code
        == 404
    )


def test_a_retained_document_goes_the_day_after_its_retention(
    files: Files, django_capture_on_commit_callbacks: Any
) -> None:
    world = files.world
    today = timezone.localdate()
    _retain(files, last_day=today)  # the last day is today: kept
    with django_capture_on_commit_callbacks(execute=True):
        _end(world, delete=True)
        purge_ended_collaborations()
    assert DocumentVersion.objects.filter(document=files.a, purged_at__isnull=True).exists()
    _retain(files, last_day=today - dt.timedelta(days=1))  # ended yesterday: goes today
    keys = _keys(world)
    with django_capture_on_commit_callbacks(execute=True):
        purge_ended_collaborations()
    assert not DocumentVersion.objects.filter(
        document__folder__collaboration=world.collaboration, purged_at__isnull=True
    ).exists()
    assert not any(document_storage().exists(key) for key in keys)
    # Nothing stranded: the customer counts nothing, and the counter agrees with the files.
    assert _customer_bytes(world) == 0
    assert billing.storage_reconcile() == []
    assert ending.ended_due_ids() == []


# --- The zip ---------------------------------------------------------------------------------


def test_the_zip_holds_every_document_under_its_folder_path(files: Files, login: Any) -> None:
    world = files.world
    response = login(world.admin).get(reverse("documents:ending_zip", args=[world.collaboration.pk]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["Bokföring/2025/b.pdf", "Bokföring/a.pdf", "Inkorg/c.pdf"]
    assert archive.read("Bokföring/a.pdf") == blank_pdf() + b"a.pdf"
    assert AuditEvent.objects.filter(action="collaboration.zip", details__documents=3).exists()


def test_the_zip_leaves_out_the_trash(files: Files, login: Any) -> None:
    world = files.world
    documents.documents_delete(documents=[files.b], actor=world.admin)
    response = login(world.admin).get(reverse("documents:ending_zip", args=[world.collaboration.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["Bokföring/a.pdf", "Inkorg/c.pdf"]


# --- The end page ------------------------------------------------------------------------------


def test_the_end_page_says_what_ends(files: Files, login: Any) -> None:
    world = files.world
    _ask(files)
    page = login(world.admin).get(reverse("customers:customer_end", args=[world.collaboration.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "3 files are stored for this customer" in text
    assert "1 open document request will be cancelled" in text
    assert reverse("documents:ending_zip", args=[world.collaboration.pk]) in text
    assert 'name="confirm"' in text and 'value="delete"' in text and 'value="keep"' in text


@pytest.mark.parametrize(
    ("data", "field_text"),
    [
        ({"outcome": "delete", "confirm": "wrong"}, "Type the customer&#x27;s name"),
        ({"outcome": "delete"}, "Type the customer&#x27;s name"),
        ({}, "This field is required"),
    ],
)
def test_the_end_page_refuses_bad_input_with_422_and_changes_nothing(
    files: Files, login: Any, data: dict[str, str], field_text: str
) -> None:
    world = files.world
    response = login(world.admin).post(reverse("customers:customer_end", args=[world.collaboration.pk]), data)
    assert response.status_code == 422
    assert field_text in response.content.decode()
    world.collaboration.refresh_from_db()
    assert world.collaboration.status == CollaborationStatus.ACTIVE


def test_the_end_page_deletes_with_the_right_name(files: Files, login: Any) -> None:
    world = files.world
    response = login(world.admin).post(
        reverse("customers:customer_end", args=[world.collaboration.pk]),
        {"outcome": "delete", "confirm": "Kund Alfa AB"},
    )
    assert response.status_code == 302
    assert not DocumentVersion.objects.filter(
        document__folder__collaboration=world.collaboration, purged_at__isnull=True
    ).exists()


# --- Who may open the new pages ----------------------------------------------------------------


def _urls(files: Files) -> dict[str, str]:
    pk = files.world.collaboration.pk
    return {
        "kept": reverse("documents:ending_files_kept", args=[pk]),
        "kept_download": reverse("documents:ending_kept_download", args=[pk, files.a.pk]),
        "zip": reverse("documents:ending_zip", args=[pk]),
    }


def test_before_the_end_staff_are_refused_the_zip_and_the_end_page(files: Files, login: Any) -> None:
    world = files.world
    client = login(world.staff)
    assert client.get(_urls(files)["zip"]).status_code == 403
    assert client.get(reverse("customers:customer_end", args=[world.collaboration.pk])).status_code == 403
    assert client.get(_urls(files)["kept"]).status_code == 403  # an open collaboration keeps no files


@pytest.mark.parametrize("who", ["outsider", "primary", "customer_user", "staff_unassigned"])
def test_before_the_end_others_get_404(files: Files, login: Any, who: str) -> None:
    client = login(getattr(files.world, who))
    for url in (
        *_urls(files).values(),
        reverse("customers:customer_end", args=[files.world.collaboration.pk]),
    ):
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("who", ["staff", "outsider", "primary", "customer_user", "staff_unassigned"])
def test_after_the_end_only_account_administrators_reach_the_kept_files(
    files: Files, login: Any, who: str
) -> None:
    _end(files.world)
    client = login(getattr(files.world, who))
    for url in _urls(files).values():
        assert client.get(url).status_code == 404, url
    assert not AuditEvent.objects.filter(action__in=["document.download", "collaboration.zip"]).exists()


def test_after_the_end_the_account_administrator_reaches_the_kept_files(files: Files, login: Any) -> None:
    _end(files.world)
    client = login(files.world.admin)
    for url in _urls(files).values():
        assert client.get(url).status_code in (200, 302), url


def test_kept_files_of_another_collaboration_are_404(files: Files, login: Any) -> None:
    _end(files.world)
    other = _upload(
        documents.folder_create(
            collaboration=files.world.other_collaboration, actor=files.world.admin, name="X"
        ),
        files.world.admin,
        "x.pdf",
    )
    url = reverse("documents:ending_kept_download", args=[files.world.collaboration.pk, other.pk])
    assert login(files.world.admin).get(url).status_code == 404


def test_the_kept_files_page_costs_the_same_queries_for_one_file_or_many(files: Files, login: Any) -> None:
    world = files.world
    _end(world)
    client = login(world.admin)
    url = reverse("documents:ending_files_kept", args=[world.collaboration.pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    def more(names: list[str]) -> None:
        Collaboration.objects.filter(pk=world.collaboration.pk).update(status=CollaborationStatus.ACTIVE)
        for name in names:
            _upload(files.sub, world.admin, name)
        Collaboration.objects.filter(pk=world.collaboration.pk).update(status=CollaborationStatus.ENDED)

    more(["one.pdf"])
    client.get(url)  # the first visit writes the session
    few = queries()
    more([f"more-{n}.pdf" for n in range(6)])
    assert queries() == few


def test_the_partner_list_shows_the_ended_collaboration_to_administrators_only(
    files: Files, login: Any
) -> None:
    _end(files.world)
    admin_page = login(files.world.admin).get(reverse("customers:customer_list")).content.decode()
    assert reverse("documents:ending_files_kept", args=[files.world.collaboration.pk]) in admin_page
    staff_page = login(files.world.staff).get(reverse("customers:customer_list")).content.decode()
    assert "Kund Alfa AB" not in staff_page
