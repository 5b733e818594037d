"""Customer side of e-signing: Samarbeten > partner > Signeringar.

A user of the customer sees the sent requests they are a party to, and those whose document is in a
folder they see (signing.access decides; 404 for anyone else): whose turn it is and by when, and once
sealed the signed PDF. A party gets the sealed PDF here even when the document's folder is the firm's
own (no customer access): it is theirs as a party, not as a folder's reader.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from documents import services as documents
from documents.delivery import file_response
from documents.models import DocumentVersion
from portal.context import AuthedRequest
from portal.models import User
from signing import access, selectors
from signing.forms import status_filters
from signing.models import Party, SigningRequest, Status

# The filter above the list: (value of ?status=, label); "" is everything but drafts.


@dataclass(frozen=True)
class Row:
    """One request on the list, worked out from its prefetched parties (no query)."""

    signing: SigningRequest
    done: int
    required: int
    waiting_on: list[str]  # the names of those whose turn it is, while pending
    open_url: str  # the user's own signing page when it is their turn, else ""
    sealed_url: str


def _is_users(party: Party, user: User) -> bool:
    """The party is the user: linked to them, or by their email (as the selector decides)."""
    return party.user_id == user.pk or party.email.lower() == user.email.lower()


def _own_party(parties: list[Party], user: User) -> Party | None:
    return next((p for p in parties if _is_users(p, user)), None)


def _sealed_url(signing: SigningRequest) -> str:
    """The sealed PDF through Signeringar, when it is stored and not deleted."""
    version = signing.sealed_version
    if version is None or version.deleted_at is not None:
        return ""
    return reverse("signing:customer_sealed", args=[signing.collaboration_id, signing.pk])


def _row(signing: SigningRequest, user: User) -> Row:
    parties = list(signing.parties.all())  # prefetched, in order
    must_act = [p for p in parties if p.must_act]
    turn = selectors.current_order_of(parties)
    pending = signing.status == Status.PENDING
    waiting = [p for p in must_act if pending and p.acted_at is None and p.order == turn]
    own = _own_party(parties, user)
    return Row(
        signing=signing,
        done=sum(1 for p in must_act if p.action in ("signed", "approved")),
        required=len(must_act),
        waiting_on=[p.name for p in waiting],
        # The logged-in opener of the party's link, never the token itself (it would sit in caches).
        open_url=reverse("signing:party_open", args=[own.pk]) if own is not None and own in waiting else "",
        sealed_url=_sealed_url(signing),
    )


@login_required
@require_GET
def signing_list(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration, roots = access.collaboration_for_customer_signings(request, collaboration_id)
    status = request.GET.get("status", "")
    status = status if status in selectors.CUSTOMER_STATUSES else ""
    signings = selectors.signings_for_customer_user(
        user=request.user, collaboration=collaboration, visible_root_ids=roots, status=status or None
    )
    page = Paginator(signings, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "signing/customer_list.html",
        {
            "collaboration": collaboration,
            "page": page,
            "rows": [_row(s, request.user) for s in page.object_list],
            "filters": status_filters(drafts=False),
            "status": status,
            "tab": "signings",
        },
    )


def _party_line(party: Party, signing: SigningRequest, turn: int | None, user: User) -> tuple[str, str]:
    """(what the party has done or waits for, badge class), as the customer reads it."""
    if party.action == "declined":
        return _("Declined"), "alert"
    if party.action:
        return (_("Approved") if party.action == "approved" else _("Signed")), "ok"
    if not party.must_act:
        return _("Gets a copy"), "muted"
    if signing.status != Status.PENDING:
        return _("Did not answer"), "muted"
    if party.order != turn:
        return _("Waiting for earlier parties"), "muted"
    if _is_users(party, user):
        return _("Your turn"), "warn"
    return _("Their turn"), "warn"


@login_required
@require_GET
def signing_detail(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponse:
    collaboration, signing = access.signing_for_customer(request, collaboration_id, request_id)
    parties = list(signing.parties.all())  # prefetched, in order
    turn = selectors.current_order_of(parties)
    events = selectors.timeline_of(signing=signing)
    return render(
        request,
        "signing/customer_detail.html",
        {
            "collaboration": collaboration,
            "signing": signing,
            "row": _row(signing, request.user),
            "parties": [(p, *_party_line(p, signing, turn, request.user)) for p in parties],
            "timeline": [(e, selectors.describe_event(e)) for e in events],
            "tab": "signings",
        },
    )


@login_required
@require_GET
def sealed_download(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponseBase:
    """The sealed PDF for a user who sees the request here: recorded in the log as any download."""
    _collaboration, signing = access.signing_for_customer(request, collaboration_id, request_id)
    version: DocumentVersion | None = signing.sealed_version
    if version is None or version.deleted_at is not None:
        raise Http404
    documents.download_record(version=version, actor=request.user)
    return file_response(
        key=version.storage_key, filename=version.document.name, content_type="application/pdf"
    )
