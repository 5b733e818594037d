"""E-signing's Celery tasks: ids in, idempotent, a deleted row is a normal exit."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import Task, shared_task
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from customers.models import CustomerMembership
from documents import services as documents
from documents import storage
from documents.models import DocumentSource
from documents.rendering import version_page_png
from portal import claims, pdfium
from portal.emails import send_templated_email_to
from portal.links import absolute_url
from portal.outbox import outbox_add
from portal.queue import publish
from signing import evidence, selectors, services
from signing.models import Party, SigningRequest, Status

logger = logging.getLogger(__name__)

SEAL_CLAIM_STALE = dt.timedelta(minutes=10)


def sign_url(party: Party) -> str:
    return absolute_url(reverse("signing:sign", args=[selectors.party_token(party)]))


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def email_party(party_id: int, kind: str) -> None:
    """The personal link to a party whose turn it is ("request") or a "reminder", in the request's
    language. A finished request, or a party that has acted, gets nothing."""
    party = (
        Party.objects.select_related("request__created_by", "request__collaboration__partner")
        .filter(pk=party_id)
        .first()
    )
    if party is None or party.acted_at is not None or party.request.status != Status.PENDING:
        return
    request = party.request
    send_templated_email_to(
        party.email,
        language=request.language,
        template=f"signing_{kind}",
        context={
            "party": party,
            "request": request,
            "partner": request.collaboration.partner,
            "sender": request.created_by,
            "sign_url": sign_url(party),
        },
    )


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def email_party_cancelled(party_id: int) -> None:
    """Tell a party that the signing it was asked for was cancelled because the firm ended its
    collaboration with the customer (the link no longer works). Only for a cancelled request."""
    party = (
        Party.objects.select_related("request__collaboration__partner", "request__collaboration__customer")
        .filter(pk=party_id, request__status=Status.CANCELLED)
        .first()
    )
    if party is None:
        return
    request = party.request
    send_templated_email_to(
        party.email,
        language=request.language,
        template="signing_cancelled",
        context={"party": party, "request": request, "partner": request.collaboration.partner},
    )


@shared_task(acks_late=True)
def render_signing_pages(request_id: int) -> None:
    """Render the page images the signing page shows, ahead of the signer's first look, into the
    shared cache (version_page_png). Idempotent: a page in the cache is not rendered again; a
    signing that is gone or has no document is a normal exit."""
    request = SigningRequest.objects.filter(pk=request_id).select_related("version").first()
    if request is None or request.version is None:
        return
    for number in services.page_image_numbers(request):
        try:
            version_page_png(request.version, number=number, width=services.PAGE_WIDTH)
        except pdfium.PdfiumBusy:
            return  # the signer's own request renders what is left


@shared_task(acks_late=True)
def expire_signings() -> int:
    return services.signings_expire_due()


@shared_task(acks_late=True)
def remind_signings() -> int:
    return services.signings_remind_due()


@shared_task(bind=True, acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def seal_signing(self: Task[Any, Any], request_id: int) -> None:
    """Build the sealed PDF of a completed request once, store it beside the original, and email
    it to every party. Claimed by task id like the notification emails: a second task stops, the
    same task redelivered after its worker died carries on, a stale claim is taken over."""
    task_id = claims.task_id_of(self)
    rows = SigningRequest.objects.filter(
        pk=request_id,
        status=Status.COMPLETED,
        sealed_at__isnull=True,
        document__isnull=False,
        version__isnull=False,
    )
    claimed = claims.claim(rows, task_id, field="seal_claim", at="seal_claimed_at", stale=SEAL_CLAIM_STALE)
    if not claimed:
        return
    request = SigningRequest.objects.select_related(
        "document__folder__collaboration", "version", "created_by"
    ).get(pk=request_id)
    assert request.document is not None
    try:
        data = evidence.build_sealed(request)
        # The document row, sealed_version, the "sealed" event and the outbox's emails of it commit
        # together: a worker that dies in between leaves none, and the task run again stores the
        # sealed PDF once.
        with transaction.atomic():
            version = documents.document_upload(
                folder=request.document.folder,
                actor=request.created_by,
                name=evidence.sealed_name(request),
                chunks=[data],
                by_customer=False,
                source=DocumentSource.SIGNED,
            )
            services.signing_record_sealed(signing=request, version=version)
            for party in request.parties.all():
                outbox_add("signing.tasks.email_sealed", party.pk)
    except Exception as error:
        claims.release(rows, task_id, field="seal_claim", at="seal_claimed_at")
        # Shown to the sender as "sealing failed"; autoretry and then seal_unsealed try again.
        services.signing_record_seal_failure(request_id=request_id, error=f"{type(error).__name__}: {error}")
        raise


@shared_task(acks_late=True)
def seal_unsealed() -> int:
    """Beat: seal again the completed requests whose sealing failed or never finished."""
    due = selectors.signings_unsealed_due()
    publish(seal_signing, [(pk,) for pk in due])
    return len(due)


# A larger sealed PDF is emailed as its link only: many mail servers refuse big attachments.
SEALED_ATTACH_MAX = 10 * 1024 * 1024


def _sealed_links(party: Party) -> dict[str, object]:
    """The party's own link to the sealed PDF (signing:sealed, good for selectors.SEALED_DAYS) and,
    for a user of the customer, the signing's page under Samarbeten > partner > Signeringar."""
    request = party.request
    finished = request.finished_at or timezone.now()
    portal_url = ""
    if (
        party.user_id is not None
        and CustomerMembership.objects.filter(
            customer_id=request.collaboration.customer_id, user_id=party.user_id
        ).exists()
    ):
        page = reverse("signing:customer_detail", args=[request.collaboration_id, request.pk])
        portal_url = absolute_url(page)
    return {
        "sealed_url": absolute_url(reverse("signing:sealed", args=[selectors.party_token(party)])),
        "sealed_until": finished + dt.timedelta(days=selectors.SEALED_DAYS),
        "portal_url": portal_url,
        "partner": request.collaboration.partner,
    }


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def email_sealed(party_id: int) -> None:
    """Send the sealed PDF to one party (attached up to SEALED_ATTACH_MAX, and always by the
    party's link besides) and note when (sealed_sent_at). Run through the outbox (portal.outbox),
    which keeps it to once. A party that is gone is a normal exit."""
    party = (
        Party.objects.select_related(
            "request__sealed_version", "request__created_by", "request__collaboration__partner"
        )
        .filter(pk=party_id, request__sealed_version__isnull=False)
        .first()
    )
    if party is None:
        return
    request = party.request
    assert request.sealed_version is not None
    attachments = []
    attached = request.sealed_version.size <= SEALED_ATTACH_MAX
    if attached:
        with storage.document_storage().open(request.sealed_version.storage_key, "rb") as handle:
            attachments = [(evidence.sealed_name(request), bytes(handle.read()), "application/pdf")]
    send_templated_email_to(
        party.email,
        language=request.language,
        template="signing_completed",
        context={"party": party, "request": request, "attached": attached, **_sealed_links(party)},
        attachments=attachments,
    )
    Party.objects.filter(pk=party_id).update(sealed_sent_at=timezone.now())
