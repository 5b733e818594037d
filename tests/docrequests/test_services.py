"""Document request services: creating, uploading against items, done and cancelled, templates and
the reminders (once per stage, the person's settings respected)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from docrequests import services
from docrequests.models import DocumentRequest, ItemFile, RequestItem, RequestTemplate, Status
from documents import services as documents
from documents.models import Audience, CustomerAccess, Document, DocumentVersion, Folder
from notifications.models import EmailMode, Event, Mute, Notification, Preference
from portal.errors import ServiceError
from tests.conftest import World
from tests.docrequests.conftest import PDF, make_request

pytestmark = pytest.mark.django_db


def _upload(
    world: World, docrequest: DocumentRequest, item: RequestItem | None, name: str, data: bytes = PDF
) -> DocumentVersion:
    assert item is not None
    return services.docrequest_upload(
        docrequest=docrequest, item=item, actor=world.customer_user, name=name, chunks=[data]
    )


def test_create_makes_the_items_and_tells_the_asked_user(world: World, docrequest: DocumentRequest) -> None:
    assert [i.text for i in docrequest.items.all()] == ["Företagskontot", "Sparkontot"]
    assert list(docrequest.asked.all()) == [world.customer_user]
    assert docrequest.status == Status.OPEN
    told = Notification.objects.filter(event=Event.DOCREQUEST_ASKED)
    assert [n.recipient_id for n in told] == [world.customer_user.pk]


@pytest.mark.parametrize(
    "access",
    [CustomerAccess.NONE, CustomerAccess.READ],
)
def test_a_folder_the_customer_cannot_upload_to_is_refused(world: World, access: str) -> None:
    folder = documents.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="Internt", customer_access=access
    )
    with pytest.raises(ServiceError):
        make_request(world, folder)
    assert not DocumentRequest.objects.exists()
    assert not Notification.objects.filter(event=Event.DOCREQUEST_ASKED).exists()


def test_an_asked_user_who_cannot_see_the_folder_is_refused(world: World) -> None:
    folder = documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Lön",
        customer_access=CustomerAccess.EDIT,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk],
    )
    with pytest.raises(ServiceError):
        make_request(world, folder, asked=[world.primary])
    assert not DocumentRequest.objects.exists()
    assert make_request(world, folder).pk  # the selected user may be asked


def test_another_customers_folder_or_user_is_refused(world: World) -> None:
    other = documents.folder_create(
        collaboration=world.other_collaboration,
        actor=world.admin,
        name="Underlag",
        customer_access=CustomerAccess.EDIT,
    )
    with pytest.raises(ServiceError):
        make_request(world, other)
    mine = documents.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="U", customer_access=CustomerAccess.EDIT
    )
    with pytest.raises(ServiceError):
        make_request(world, mine, asked=[world.outsider_customer_user])
    assert not DocumentRequest.objects.exists()


def test_no_items_is_refused(world: World, folder: Folder) -> None:
    with pytest.raises(ServiceError):
        make_request(world, folder, items=["", "  "])
    assert not DocumentRequest.objects.exists()


def test_upload_goes_into_the_folder_and_onto_the_item(
    world: World, docrequest: DocumentRequest, folder: Folder
) -> None:
    item = docrequest.items.first()
    version = _upload(world, docrequest, item, "dec.pdf")
    assert version.document.folder_id == folder.pk
    assert version.document.uploaded_by_customer
    assert [f.version_id for f in ItemFile.objects.filter(item=item)] == [version.pk]


def test_a_refused_upload_leaves_nothing(world: World, docrequest: DocumentRequest) -> None:
    with pytest.raises(ServiceError):
        _upload(world, docrequest, docrequest.items.first(), "empty.pdf", b"")
    assert not ItemFile.objects.exists()
    assert not Document.objects.exists()
    assert not DocumentVersion.objects.exists()


def test_a_closed_request_takes_no_files(world: World, docrequest: DocumentRequest) -> None:
    services.docrequest_complete(docrequest=docrequest, actor=world.customer_user)
    with pytest.raises(ServiceError):
        _upload(world, docrequest, docrequest.items.first(), "late.pdf")
    assert not Document.objects.exists()


def test_another_requests_item_is_refused(world: World, folder: Folder, docrequest: DocumentRequest) -> None:
    other = make_request(world, folder, title="Annat")
    with pytest.raises(ServiceError):
        _upload(world, docrequest, other.items.first(), "a.pdf")
    assert not Document.objects.exists()


def test_done_once_and_the_creator_is_told(world: World, docrequest: DocumentRequest) -> None:
    services.docrequest_complete(docrequest=docrequest, actor=world.customer_user)
    services.docrequest_complete(docrequest=docrequest, actor=world.customer_user)
    docrequest.refresh_from_db()
    assert docrequest.status == Status.DONE
    assert docrequest.finished_by_id == world.customer_user.pk
    told = Notification.objects.filter(event=Event.DOCREQUEST_DONE)
    assert [n.recipient_id for n in told] == [world.admin.pk]


def test_a_cancelled_request_cannot_be_done(world: World, docrequest: DocumentRequest) -> None:
    services.docrequest_cancel(docrequest=docrequest, actor=world.admin)
    with pytest.raises(ServiceError):
        services.docrequest_complete(docrequest=docrequest, actor=world.customer_user)
    docrequest.refresh_from_db()
    assert docrequest.status == Status.CANCELLED


def test_templates_are_saved_replaced_and_deleted(world: World) -> None:
    template = services.template_save(
        partner=world.partner,
        actor=world.admin,
        title="Bokslut: underlag",
        items=["Kontoutdrag", "", "Kvitton"],
    )
    assert template.items == ["Kontoutdrag", "Kvitton"]
    again = services.template_save(
        partner=world.partner, actor=world.admin, title="Bokslut: underlag", items=["A"]
    )
    assert again.pk == template.pk and RequestTemplate.objects.get().items == ["A"]
    services.template_delete(template=again, actor=world.admin)
    assert not RequestTemplate.objects.exists()


# --- Reminders ------------------------------------------------------------------------------


def _at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))


def _reminders() -> list[int]:
    return list(
        Notification.objects.filter(event=Event.DOCREQUEST_REMINDER).values_list("recipient_id", flat=True)
    )


def test_reminded_once_before_the_due_date_and_once_after(world: World, docrequest: DocumentRequest) -> None:
    due = docrequest.due_date
    assert services.docrequests_remind_due(now=_at(due - dt.timedelta(days=3))) == 0
    assert services.docrequests_remind_due(now=_at(due - dt.timedelta(days=2))) == 1
    assert services.docrequests_remind_due(now=_at(due - dt.timedelta(days=2))) == 0  # the same run again
    assert services.docrequests_remind_due(now=_at(due)) == 0
    assert services.docrequests_remind_due(now=_at(due + dt.timedelta(days=1))) == 1
    assert services.docrequests_remind_due(now=_at(due + dt.timedelta(days=2))) == 0
    assert services.docrequests_remind_due(now=_at(due + dt.timedelta(days=8))) == 1
    assert _reminders() == [world.customer_user.pk] * 3
    overdue = Notification.objects.filter(event=Event.DOCREQUEST_REMINDER).order_by("pk").last()
    assert overdue is not None and overdue.params["overdue"] is True


def test_a_stale_claim_sends_nothing(world: World, docrequest: DocumentRequest) -> None:
    """Two workers read the same row: the second's conditional UPDATE finds last_reminded changed."""
    now = _at(docrequest.due_date - dt.timedelta(days=1))
    stale = DocumentRequest.objects.get(pk=docrequest.pk)
    assert services.docrequests_remind_due(now=now) == 1
    claimed = DocumentRequest.objects.filter(pk=stale.pk, last_reminded=stale.last_reminded).update(
        last_reminded=now
    )
    assert claimed == 0
    assert services.docrequests_remind_due(now=now) == 0


def test_done_and_cancelled_requests_are_not_reminded(
    world: World, folder: Folder, docrequest: DocumentRequest
) -> None:
    other = make_request(world, folder, title="Annat")
    services.docrequest_complete(docrequest=docrequest, actor=world.customer_user)
    services.docrequest_cancel(docrequest=other, actor=world.admin)
    assert services.docrequests_remind_due(now=_at(docrequest.due_date + dt.timedelta(days=1))) == 0


@pytest.mark.parametrize("how", ["off", "muted"])
def test_reminders_respect_the_persons_settings(world: World, docrequest: DocumentRequest, how: str) -> None:
    if how == "off":
        Preference.objects.create(
            user=world.customer_user, event=Event.DOCREQUEST_REMINDER, email=EmailMode.OFF, in_app=False
        )
    else:
        Mute.objects.create(user=world.customer_user, collaboration=world.collaboration)
    services.docrequests_remind_due(now=_at(docrequest.due_date))
    assert _reminders() == []


def test_a_user_who_left_the_customer_is_not_reminded(world: World, docrequest: DocumentRequest) -> None:
    world.customer_user.customer_memberships.all().delete()
    services.docrequests_remind_due(now=_at(docrequest.due_date))
    assert _reminders() == []


def test_the_beat_task_is_scheduled(settings: Any) -> None:
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "docrequests.tasks.remind_docrequests" in tasks


def test_no_upload_once_the_folder_no_longer_takes_the_users_files(
    world: World, docrequest: DocumentRequest, folder: Folder
) -> None:
    documents.folder_set_access(
        folder=folder, actor=world.admin, customer_access=CustomerAccess.READ, audience=Audience.ALL
    )
    with pytest.raises(ServiceError):
        _upload(world, docrequest, docrequest.items.first(), "dec.pdf")
    assert not Document.objects.exists() and not ItemFile.objects.exists()
