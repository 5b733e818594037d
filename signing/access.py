"""Every access decision about e-signing on the partner side.

Whoever may see the customer on the partner side (an account administrator of its partner, or
staff assigned to it: customers.access.may_work_with) may start, follow and list its
signings. Anyone else, another tenant, unassigned staff or the customer's own users, gets a 404:
the error for something you may not see is the same as for something that does not exist.
Cancelling is for the sender or an account administrator; another user who may see the request
gets a 403 for it. Fixing a sent request (reminding, changing, adding or removing a party,
extending the deadline) is for anyone who may start one for the customer.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from customers.access import collaboration_for_customer_user, may_work_with
from customers.models import Collaboration
from documents.access import visible_root_ids
from documents.models import Document
from portal.context import AuthedRequest
from signing import selectors
from signing.models import Party, SigningRequest, Status


def collaboration_for_signing(request: AuthedRequest, collaboration_id: int) -> Collaboration:
    """The customer whose signings the user works with; 404 otherwise. Shows its partner in the
    header, as the other pages of the customer do."""
    collaboration = get_object_or_404(
        Collaboration.objects.select_related("partner", "customer"), pk=collaboration_id
    )
    if may_work_with(request.user, collaboration, orgs=request.org) is None:
        raise Http404
    request.org.activate("partner", collaboration.partner_id)
    return collaboration


def document_for_signing(collaboration: Collaboration, document_id: int) -> Document:
    """A live document in one of the collaboration's folders (the caller checked the collaboration)."""
    return get_object_or_404(
        Document.objects.select_related("folder", "current_version"),
        pk=document_id,
        folder__collaboration=collaboration,
        deleted_at__isnull=True,
    )


def signing_for_partner(collaboration: Collaboration, request_id: int) -> SigningRequest:
    """One of the collaboration's requests (the caller checked the collaboration); 404 otherwise."""
    return get_object_or_404(
        SigningRequest.objects.select_related("created_by", "document", "sealed_version"),
        pk=request_id,
        collaboration=collaboration,
    )


def draft_for_partner(request: AuthedRequest, collaboration_id: int, request_id: int) -> SigningRequest:
    """A request of a customer whose signings the user works with, for the wizard's steps (which
    send anything but a draft on to its own page); 404 otherwise. Anyone who may start signings
    for the customer edits its drafts, not only who made them."""
    collaboration = collaboration_for_signing(request, collaboration_id)
    signing = get_object_or_404(
        SigningRequest.objects.select_related(
            "created_by", "updated_by", "document__folder", "document__current_version"
        ),
        pk=request_id,
        collaboration=collaboration,
    )
    signing.collaboration = collaboration
    return signing


def _is_account_admin(request: AuthedRequest, collaboration: Collaboration) -> bool:
    org = request.org.find("partner", collaboration.partner_id)
    return org is not None and org.is_admin


def may_cancel(request: AuthedRequest, signing: SigningRequest) -> bool:
    """The sender or an account administrator of the partner, while the request is pending: what the
    page offers. signing.services.signing_cancel decides again under a row lock."""
    if signing.status != Status.PENDING:
        return False
    return request.user.pk == signing.created_by_id or _is_account_admin(request, signing.collaboration)


def signing_for_cancel(request: AuthedRequest, collaboration_id: int, request_id: int) -> SigningRequest:
    """A request the user may cancel: 404 if they may not see it, 403 if they may see it but are
    neither its sender nor an account administrator. One that is no longer pending is left to the
    service, which says why."""
    collaboration = collaboration_for_signing(request, collaboration_id)
    signing = signing_for_partner(collaboration, request_id)
    signing.collaboration = collaboration
    if request.user.pk != signing.created_by_id and not _is_account_admin(request, collaboration):
        raise PermissionDenied
    return signing


def signing_for_fixing(request: AuthedRequest, collaboration_id: int, request_id: int) -> SigningRequest:
    """A request whose parties and deadline the user may fix: anyone who may start signings for
    the customer may fix them (not only the sender); 404 for anyone else. Whether it can still be
    fixed (pending, nobody signed yet) is signing.services' to say, under the request's lock."""
    collaboration = collaboration_for_signing(request, collaboration_id)
    signing = signing_for_partner(collaboration, request_id)
    signing.collaboration = collaboration
    return signing


def party_for_fixing(request: AuthedRequest, collaboration_id: int, request_id: int, party_id: int) -> Party:
    """One party of a request the user may fix (signing_for_fixing); 404 for another request's."""
    signing = signing_for_fixing(request, collaboration_id, request_id)
    party = get_object_or_404(Party, pk=party_id, request=signing)
    party.request = signing
    return party


# --- Customer side: Samarbeten > partner > Signeringar ---------------------------------------------
# A user of the collaboration's customer (while it is active) sees the sent requests they are a
# party to, and those whose document is in a folder they see (selectors.signings_for_customer_user);
# anyone else, including the firm's own users, gets a 404 for the pages and the sealed PDF.


def collaboration_for_customer_signings(
    request: AuthedRequest, collaboration_id: int
) -> tuple[Collaboration, list[int]]:
    """An active collaboration of one of the user's customers (the header switches to that
    customer), with the top-level folders the user sees in it; 404 otherwise."""
    collaboration, org = collaboration_for_customer_user(request, collaboration_id)
    roots = visible_root_ids(user=request.user, collaboration=collaboration, membership=org)
    return collaboration, roots


def signing_for_customer(
    request: AuthedRequest, collaboration_id: int, request_id: int
) -> tuple[Collaboration, SigningRequest]:
    """One request of the list the user sees on the customer side, with its sealed PDF's document
    and folder; 404 for any other (another customer's, a draft, one the user is no party to and
    whose folder they do not see)."""
    collaboration, roots = collaboration_for_customer_signings(request, collaboration_id)
    visible = selectors.signings_for_customer_user(
        user=request.user, collaboration=collaboration, visible_root_ids=roots
    )
    signing = get_object_or_404(visible.select_related("sealed_version__document__folder"), pk=request_id)
    signing.collaboration = collaboration
    return collaboration, signing
