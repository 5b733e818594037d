"""The trash: a customer's deleted folders, documents and versions, restorable until purged.

Partner side (customers/<id>/documents/trash/): whoever may work with the customer sees and
restores everything. Customer side (collaborations/<id>/documents/trash/): the documents users of
the customer deleted, from the folders the user sees; restoring takes edit access there. "Empty
trash" is for the partner's account administrators, from the Storage page.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from documents import access, trash
from documents.models import TrashEntry
from documents.views.partner import activate_partner
from partners import access as partner_access
from portal.context import AuthedRequest
from portal.errors import ServiceError
from portal.units import human_size


def _page(request: AuthedRequest, entries: QuerySet[TrashEntry]) -> Page[Any]:
    page = Paginator(entries, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    for entry in page.object_list:
        entry.purge_day = trash.purge_day(entry)
        entry.size_label = human_size(entry.size)
    return page


def _restore(request: AuthedRequest, entry: TrashEntry) -> None:
    try:
        trash.trash_restore(entry=entry, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s was restored.") % {"name": entry.name})


@login_required
@require_GET
def partner_trash(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration = access.collaboration_for_partner_documents(request, collaboration_id)
    activate_partner(request, collaboration)
    entries = trash.trash_for_partner(collaboration=collaboration)
    context = {
        "collaboration": collaboration,
        "tab": "documents",
        "page": _page(request, entries),
        "trash_days": settings.PORTAL_TRASH_DAYS,
    }
    return render(request, "documents/partner_trash.html", context)


@login_required
@require_POST
def partner_restore(request: AuthedRequest, collaboration_id: int, entry_id: int) -> HttpResponse:
    entry = access.trash_entry_for_partner(request, collaboration_id, entry_id)
    _restore(request, entry)
    return redirect("documents:partner_trash", collaboration_id)


@login_required
@require_GET
def customer_trash(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration, membership = access.collaboration_for_customer_documents(request, collaboration_id)
    request.org.activate("customer", collaboration.customer_id)
    rights = access.customer_trash_rights(request, collaboration, membership)
    page = _page(request, trash.trash_for_customer(collaboration=collaboration, root_ids=rights.root_ids))
    for entry in page.object_list:
        entry.can_restore = access.trash_entry_root_id(entry) in rights.edit_root_ids
    context = {
        "collaboration": collaboration,
        "page": page,
        "trash_days": settings.PORTAL_TRASH_DAYS,
    }
    return render(request, "documents/customer_trash.html", context)


@login_required
@require_POST
def customer_restore(request: AuthedRequest, collaboration_id: int, entry_id: int) -> HttpResponse:
    entry = access.trash_entry_for_customer(request, collaboration_id, entry_id)
    _restore(request, entry)
    return redirect("documents:customer_trash", collaboration_id)


@login_required
@require_http_methods(["GET", "POST"])
def trash_empty(request: AuthedRequest) -> HttpResponse:
    """Empty the trash of every customer of the active partner (account administrators): a
    confirmation, then the purge. Entries under a retention rule stay, and the page says so."""
    partner = partner_access.active_partner_for_admin(request)
    if request.method == "POST":
        purged = trash.trash_empty(partner=partner, actor=request.user)
        messages.success(
            request,
            ngettext("%(count)d item was deleted for good.", "%(count)d items were deleted for good.", purged)
            % {"count": purged},
        )
        _size, kept = trash.trash_held(partner.pk)
        if kept:
            messages.warning(
                request,
                ngettext(
                    "%(count)d item stays in the trash: a retention rule keeps it until its day has passed.",
                    "%(count)d items stay in the trash: a retention rule keeps them until their day has "
                    "passed.",
                    kept,
                )
                % {"count": kept},
            )
        return redirect("billing:storage")
    size, items = trash.trash_held(partner.pk)
    context = {"partner": partner, "size": human_size(size), "items": items, "is_admin": True}
    return render(request, "documents/trash_empty.html", context)
