"""Every access decision about document requests.

Partner side: whoever may work with the customer (customers.access.may_work_with) sees, creates
and closes its requests. Customer side: a user of the customer who was asked, while the
collaboration is active. Anyone else gets a 404, whatever the tenant: a request's id reveals
nothing. A firm's templates are its users' (another firm's template is a 404).
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404

from customers.access import may_work_with
from customers.models import CollaborationStatus
from docrequests.models import DocumentRequest, RequestItem, RequestTemplate
from partners.access import active_partner_org
from portal.context import AuthedRequest, Organisation, org_context


def _get(docrequest_id: int) -> DocumentRequest:
    return get_object_or_404(
        DocumentRequest.objects.select_related(
            "collaboration__partner", "collaboration__customer", "folder__root"
        ),
        pk=docrequest_id,
    )


def docrequest_for_partner(
    request: AuthedRequest, docrequest_id: int
) -> tuple[DocumentRequest, Organisation]:
    docrequest = _get(docrequest_id)
    ctx = org_context(request)
    org = may_work_with(request.user, docrequest.collaboration, orgs=ctx)
    if org is None:
        raise Http404
    ctx.activate("partner", org.id)
    return docrequest, org


def docrequest_for_customer(request: AuthedRequest, docrequest_id: int) -> DocumentRequest:
    """A request that asks the user, of a customer they are a user of, in an active collaboration."""
    docrequest = _get(docrequest_id)
    collaboration = docrequest.collaboration
    ctx = org_context(request)
    if (
        collaboration.status != CollaborationStatus.ACTIVE
        or ctx.find("customer", collaboration.customer_id) is None
    ):
        raise Http404
    if not docrequest.asked.filter(pk=request.user.pk).exists():
        raise Http404
    ctx.activate("customer", collaboration.customer_id)
    return docrequest


def item_for_customer(
    request: AuthedRequest, docrequest_id: int, item_id: int
) -> tuple[DocumentRequest, RequestItem]:
    docrequest = docrequest_for_customer(request, docrequest_id)
    item = get_object_or_404(RequestItem, pk=item_id, docrequest=docrequest)
    return docrequest, item


def template_for_partner_user(request: AuthedRequest, template_id: int) -> RequestTemplate:
    """A template of the firm the user acts for (404 for another firm's)."""
    org = active_partner_org(request)
    return get_object_or_404(RequestTemplate, pk=template_id, partner_id=org.id)
