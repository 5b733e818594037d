"""Writes for document requests, each holding its rule.

The folder takes the customer's uploads and every asked user may upload there; only an open
request takes files or changes state (conditional UPDATE from open); uploads go through
documents.services.document_upload, so scanning, quota and storage rules hold and a refused upload
leaves nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.access import may_work_with
from customers.models import Collaboration, CollaborationStatus
from docrequests import selectors
from docrequests.models import DocumentRequest, ItemFile, RequestItem, RequestTemplate, Status
from documents import services as documents
from documents.access import rights_for
from documents.models import DocumentVersion, Folder
from documents.selectors import folder_audience
from notifications.models import Event as NotificationEvent
from notifications.services import notifications_add
from partners.models import Partner
from portal.audit import audit_record
from portal.errors import ServiceError
from portal.models import User

logger = logging.getLogger(__name__)

MAX_ITEMS = 50
# The reminder before the due date goes out this many days ahead; after it, every OVERDUE_EVERY.
REMIND_BEFORE = dt.timedelta(days=2)
OVERDUE_EVERY = dt.timedelta(days=7)


def _clean_items(lines: Iterable[str]) -> list[str]:
    """The non-empty lines, stripped, in order."""
    items = [line.strip()[:300] for line in lines if line.strip()]
    if not items:
        raise ServiceError(_("List at least one item."), field="items")
    if len(items) > MAX_ITEMS:
        raise ServiceError(_("A request holds at most %(n)d items.") % {"n": MAX_ITEMS}, field="items")
    return items


def _customer_url(docrequest: DocumentRequest) -> str:
    return reverse("docrequests:customer_detail", args=[docrequest.pk])


def _partner_url(docrequest: DocumentRequest) -> str:
    return reverse("docrequests:partner_detail", args=[docrequest.pk])


def _params(docrequest: DocumentRequest) -> dict[str, str]:
    collaboration = docrequest.collaboration
    return {
        "title": docrequest.title,
        "due": docrequest.due_date.isoformat(),
        "partner": collaboration.partner.name,
        "customer": collaboration.customer.name,
    }


@transaction.atomic
def docrequest_create(
    *,
    collaboration: Collaboration,
    actor: User,
    folder: Folder,
    title: str,
    items: Sequence[str],
    due_date: dt.date,
    asked: Sequence[User],
) -> DocumentRequest:
    """Ask `asked` (users of the customer) for `items`, to be uploaded into `folder` by `due_date`.
    Precondition: `actor` may work with the collaboration (the view checked it)."""
    if collaboration.status != CollaborationStatus.ACTIVE:
        raise ServiceError(_("Documents can be requested once the customer has accepted the collaboration."))
    if folder.collaboration_id != collaboration.pk:
        raise ServiceError(_("The folder belongs to another customer."), field="folder")
    title = title.strip()
    if not title:
        raise ServiceError(_("Give the request a title."), field="title")
    lines = _clean_items(items)
    if not asked:
        raise ServiceError(_("Choose who at the customer is asked."), field="asked")
    if not selectors.folder_takes_uploads_from(folder=folder, users=asked):
        raise ServiceError(
            _("Choose a folder where the customer may upload and that everyone asked can see."),
            field="folder",
        )
    docrequest = DocumentRequest.objects.create(
        collaboration=collaboration, folder=folder, title=title, due_date=due_date, created_by=actor
    )
    docrequest.asked.set(asked)
    RequestItem.objects.bulk_create(
        [RequestItem(docrequest=docrequest, position=n, text=text) for n, text in enumerate(lines)]
    )
    audit_record(
        actor=actor,
        action="docrequest.create",
        obj=docrequest,
        collaboration_id=collaboration.pk,
        title=title,
        items=len(lines),
        due=due_date.isoformat(),
    )
    notifications_add(
        event=NotificationEvent.DOCREQUEST_ASKED,
        recipients=asked,
        actor=actor,
        collaboration=collaboration,
        url=_customer_url(docrequest),
        params=_params(docrequest),
    )
    return docrequest


def docrequest_upload(
    *, docrequest: DocumentRequest, item: RequestItem, actor: User, name: str, chunks: Iterable[bytes]
) -> DocumentVersion:
    """Store a file for `item` in the request's folder and link it to the item. The request gives
    no right of its own: the actor must still be allowed to upload to the folder (its access may
    have changed since the request was made). Call it outside a transaction (as document_upload);
    a refused upload stores and links nothing."""
    if item.docrequest_id != docrequest.pk:
        raise ServiceError(_("That item belongs to another request."))
    folder = docrequest.folder
    if not docrequest.is_open or folder is None:
        raise ServiceError(_("This request is no longer open."))
    rights = rights_for(actor, folder)
    if rights is None or not rights.can_upload:
        raise ServiceError(_("You may no longer upload to the folder of this request. Ask the firm."))
    version = documents.document_upload(
        folder=folder, actor=actor, name=name, chunks=chunks, by_customer=not rights.is_partner
    )
    ItemFile.objects.create(item=item, version=version, uploaded_by=actor)
    return version


def _finish(*, docrequest: DocumentRequest, actor: User | None, status: str) -> bool:
    now = timezone.now()
    changed = DocumentRequest.objects.filter(pk=docrequest.pk, status=Status.OPEN).update(
        status=status, finished_at=now, finished_by=actor
    )
    if changed:
        docrequest.status, docrequest.finished_at, docrequest.finished_by = status, now, actor
    return bool(changed)


@transaction.atomic
def docrequest_complete(*, docrequest: DocumentRequest, actor: User) -> None:
    """Mark the request done (the customer's asked user or the firm). Done already: no change."""
    if docrequest.status == Status.CANCELLED:
        raise ServiceError(_("This request was cancelled."))
    if not _finish(docrequest=docrequest, actor=actor, status=Status.DONE):
        return
    audit_record(
        actor=actor, action="docrequest.done", obj=docrequest, collaboration_id=docrequest.collaboration_id
    )
    creator = docrequest.created_by
    if creator is not None and may_work_with(creator, docrequest.collaboration) is not None:
        notifications_add(
            event=NotificationEvent.DOCREQUEST_DONE,
            recipients=[creator],
            actor=actor,
            collaboration=docrequest.collaboration,
            url=_partner_url(docrequest),
            params=_params(docrequest),
        )


@transaction.atomic
def docrequest_cancel(*, docrequest: DocumentRequest, actor: User | None, reason: str = "") -> None:
    """The firm withdraws an open request; the files already uploaded stay in the folder. The
    asked users still at the customer are told (`reason` "collaboration_ended": why)."""
    if not _finish(docrequest=docrequest, actor=actor, status=Status.CANCELLED):
        return
    audit_record(
        actor=actor,
        action="docrequest.cancel",
        obj=docrequest,
        collaboration_id=docrequest.collaboration_id,
        **({"reason": reason} if reason else {}),
    )
    collaboration = docrequest.collaboration
    notifications_add(
        event=NotificationEvent.DOCREQUEST_CANCELLED,
        recipients=docrequest.asked.filter(customer_memberships__customer_id=collaboration.customer_id),
        actor=actor,
        collaboration=collaboration,
        # The request's page on the customer side closes with an ended collaboration.
        url="" if reason else _customer_url(docrequest),
        params={**_params(docrequest), "reason": reason},
    )


def docrequests_cancel_for_ending(
    *, collaboration: Collaboration, actor: User | None, **_kwargs: object
) -> None:
    """The collaboration ended (customers.hooks.collaboration_ended, inside its transaction): its
    open requests are cancelled and the asked users told why."""
    open_requests = DocumentRequest.objects.filter(collaboration=collaboration, status=Status.OPEN)
    for docrequest in open_requests.select_related("collaboration__partner", "collaboration__customer"):
        docrequest_cancel(docrequest=docrequest, actor=actor, reason="collaboration_ended")


# --- Templates ----------------------------------------------------------------------------


def template_save(*, partner: Partner, actor: User, title: str, items: Sequence[str]) -> RequestTemplate:
    """Save (or replace the items of) the firm's template of that title."""
    title = title.strip()
    if not title:
        raise ServiceError(_("Give the template a title."), field="title")
    lines = _clean_items(items)
    try:
        with transaction.atomic():
            template, _created = RequestTemplate.objects.update_or_create(
                partner=partner, title=title, defaults={"items": lines, "created_by": actor}
            )
    except IntegrityError as error:  # two saves of the same new title at once
        raise ServiceError(_("Try again: the template was saved by someone else just now.")) from error
    return template


def template_delete(*, template: RequestTemplate, actor: User) -> None:
    template.delete()


# --- Reminders ----------------------------------------------------------------------------


def _reminder_due(docrequest: DocumentRequest, *, today: dt.date) -> bool:
    """One reminder in the REMIND_BEFORE days before the due date, then one the day after it and
    every OVERDUE_EVERY from then on."""
    due, last = docrequest.due_date, docrequest.last_reminded
    last_day = timezone.localdate(last) if last is not None else None
    if today <= due:
        return today >= due - REMIND_BEFORE and (last_day is None or last_day < due - REMIND_BEFORE)
    return last_day is None or last_day <= due or today - last_day >= OVERDUE_EVERY


def docrequests_remind_due(*, now: dt.datetime | None = None) -> int:
    """Remind the asked users of every open request whose reminder is due. Each request is claimed
    by a conditional UPDATE of `last_reminded`, so a second run (or a second worker) sends nothing."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sent = 0
    candidates = DocumentRequest.objects.filter(
        status=Status.OPEN,
        due_date__lte=today + REMIND_BEFORE,
        collaboration__status=CollaborationStatus.ACTIVE,
    ).select_related("collaboration__partner", "collaboration__customer", "folder__root")
    for docrequest in candidates:
        if not _reminder_due(docrequest, today=today):
            continue
        with transaction.atomic():
            claimed = DocumentRequest.objects.filter(
                pk=docrequest.pk, status=Status.OPEN, last_reminded=docrequest.last_reminded
            ).update(last_reminded=now)
            if not claimed:
                continue
            asked = list(
                docrequest.asked.filter(
                    customer_memberships__customer_id=docrequest.collaboration.customer_id
                )
            )
            if docrequest.folder is not None:  # nobody hears of a folder they cannot see
                seeing = set(
                    folder_audience(docrequest.folder, customer_only=True).values_list("pk", flat=True)
                )
                asked = [u for u in asked if u.pk in seeing]
            made = notifications_add(
                event=NotificationEvent.DOCREQUEST_REMINDER,
                recipients=asked,
                actor=None,
                collaboration=docrequest.collaboration,
                url=_customer_url(docrequest),
                params={**_params(docrequest), "overdue": today > docrequest.due_date},
            )
            sent += len(made)
    return sent
