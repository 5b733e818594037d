"""Customer side: Samarbeten / partner / Dokument.

A customer user sees the folders shared with them, uploads where the folder gives the customer
`edit`, and deletes only what customers uploaded. The primary contact changes who at the customer
sees a folder where the partner allowed it. A partner user who follows a customer link is sent to
the partner page of the same folder.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.models import Collaboration
from documents import access, selectors, services
from documents.access import FolderRights
from documents.forms import AudienceForm, BulkForm
from documents.links import folder_url
from documents.models import Audience, Folder
from documents.views.files import bulk_download
from documents.views.partner import file_list_context
from portal.context import AuthedRequest
from portal.errors import ServiceError
from portal.units import human_size

CUSTOMER_BULK_ACTIONS = ("download", "delete")


def _visible_folders(
    request: AuthedRequest, collaboration: Collaboration, root_ids: Sequence[int]
) -> list[Folder]:
    """The folders under the top-level folders `root_ids` (already worked out: not again here)."""
    return selectors.folders_visible_to(
        user=request.user, collaboration=collaboration, rights_side="customer", root_ids=root_ids
    )


@login_required
@require_GET
def root(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration, membership = access.collaboration_for_customer_documents(request, collaboration_id)
    request.org.activate("customer", collaboration.customer_id)
    # The membership just read decides the visible folders: it is not read a second time.
    root_ids = access.visible_root_ids(user=request.user, collaboration=collaboration, membership=membership)
    folders = _visible_folders(request, collaboration, root_ids)
    return render(
        request,
        "documents/customer_root.html",
        {
            "collaboration": collaboration,
            "membership": membership,
            "nodes": selectors.folder_tree(folders),
        },
    )


def _sort(value: str | None) -> str:
    return value if value in selectors.SORTS else "name"


def _render_folder(
    request: AuthedRequest,
    folder: Folder,
    rights: FolderRights,
    *,
    sort: str,
    bulk_form: BulkForm | None = None,
    status: int = 200,
) -> HttpResponse:
    collaboration = folder.collaboration
    folders = _visible_folders(request, collaboration, rights.visible_root_ids)
    by_id = {f.pk: f for f in folders}
    root = folder.root or folder
    context = file_list_context(
        request,
        folder=folder,
        rights=rights,
        bulk_url=reverse("documents:customer_bulk", args=[collaboration.pk, folder.pk]),
        list_url=folder_url(folder, "customer"),
        sort=sort,
        bulk_form=bulk_form,
    )
    context.update(
        {
            "collaboration": collaboration,
            "nodes": selectors.folder_tree(folders),
            # Access is granted on the top-level folder, so every ancestor is visible too.
            "ancestors": [by_id[pk] for pk in folder.ancestor_ids() if pk in by_id],
            "subfolders": sorted(
                (f for f in folders if f.parent_id == folder.pk), key=lambda f: f.name.lower()
            ),
            "top_folder": root,
            "access_label": root.get_customer_access_display(),
            "audience_label": selectors.audience_label(folder),
            "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
            "max_upload_size": human_size(settings.MAX_UPLOAD_BYTES),
        }
    )
    return render(request, "documents/customer_folder.html", context, status=status)


@login_required
@require_GET
def folder_detail(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    folder, rights = access.folder_for_user(request, folder_id, collaboration_id=collaboration_id)
    if rights.is_partner:
        return redirect("documents:partner_folder", folder.collaboration_id, folder.pk)
    request.org.activate("customer", folder.collaboration.customer_id)
    return _render_folder(request, folder, rights, sort=_sort(request.GET.get("sort")))


@login_required
@require_POST
def bulk(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponseBase:
    """Download the ticked documents as one zip, or delete them (asked first). Only live documents of
    this folder are choices. A delete that includes a document the customer may not delete (the
    firm's, or anything in a read folder) deletes nothing and says why."""
    folder, rights = access.folder_for_user(request, folder_id, collaboration_id=collaboration_id)
    if rights.is_partner:
        # The partner's own page has the partner's bulk form; nothing is done from this one.
        return redirect("documents:partner_folder", folder.collaboration_id, folder.pk)
    if request.POST.get("action") not in CUSTOMER_BULK_ACTIONS:
        raise PermissionDenied  # moving is the firm's; the customer's page offers nothing else
    sort = _sort(request.POST.get("sort"))
    requested = [int(v) for v in request.POST.getlist("documents") if v.isdigit()]
    candidates = list(selectors.documents_in(folder=folder).filter(pk__in=requested))
    form = BulkForm(request.POST, document_ids=[d.pk for d in candidates], target_choices=[])
    if not form.is_valid():
        return _render_folder(request, folder, rights, sort=sort, bulk_form=form, status=422)
    ticked = set(form.cleaned_data["documents"])
    chosen = [d for d in candidates if d.pk in ticked]
    if form.cleaned_data["action"] == "download":
        return bulk_download(request, folder, chosen)

    refused = [d.name for d in chosen if not rights.can_delete(d)]
    if refused:
        form.add_error(
            None,
            _("Nothing was deleted: only %(partner)s can delete %(names)s.")
            % {"partner": folder.collaboration.partner.name, "names": ", ".join(refused)},
        )
        return _render_folder(request, folder, rights, sort=sort, bulk_form=form, status=422)
    if request.POST.get("confirm") != "1":
        return render(
            request,
            "documents/customer_confirm_delete.html",
            {
                "collaboration": folder.collaboration,
                "folder": folder,
                "documents": chosen,
                "sort": sort,
                "folder_url": folder_url(folder, "customer"),
            },
        )
    try:
        deleted = services.documents_delete(documents=chosen, actor=request.user, by_customer=True)
    except ServiceError as error:
        form.add_error(None, error.message)
        return _render_folder(request, folder, rights, sort=sort, bulk_form=form, status=422)
    messages.success(
        request,
        ngettext("%(count)d document was deleted.", "%(count)d documents were deleted.", deleted)
        % {"count": deleted},
    )
    return redirect(f"{folder_url(folder, 'customer')}?sort={sort}")


@login_required
@require_http_methods(["GET", "POST"])
def folder_access(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    """The primary contact chooses who at the customer sees a folder (and all of its subfolders);
    what they may do there stays the firm's choice."""
    folder, rights = access.folder_for_access_manager(request, folder_id, collaboration_id=collaboration_id)
    if rights.is_partner:
        return redirect("documents:partner_folder_access", folder.collaboration_id, folder.pk)
    collaboration = folder.collaboration
    request.org.activate("customer", collaboration.customer_id)
    root = folder.root or folder
    memberships = list(selectors.customer_users_for_access(collaboration=collaboration))
    choices = [
        (
            m.user_id,
            _("%(name)s (primary contact)") % {"name": m.user.get_full_name()}
            if m.is_primary_contact
            else m.user.get_full_name(),
        )
        for m in memberships
    ]
    state = selectors.folder_access_state(folder=folder)
    form = AudienceForm(
        request.POST if request.method == "POST" else None,
        user_choices=choices,
        initial={"audience": state.audience, "users": sorted(state.selected_user_ids)},
    )
    if request.method == "POST" and form.is_valid():
        audience = form.cleaned_data["audience"]
        try:
            services.folder_set_audience(
                folder=root,
                actor=request.user,
                audience=audience,
                selected_user_ids=form.cleaned_data["users"] if audience == Audience.SELECTED else (),
            )
        except ServiceError as error:
            error.add_to(form)
        else:
            messages.success(request, _("Who has access to %(name)s was saved.") % {"name": root.name})
            if access.rights_for(request.user, folder) is None:
                # The primary contact took themselves off the folder: its page is gone for them.
                return redirect("documents:customer_root", collaboration.pk)
            return redirect(folder_url(folder, "customer"))
    return render(
        request,
        "documents/customer_folder_access.html",
        {
            "collaboration": collaboration,
            "folder": folder,
            "root_folder": root,
            "form": form,
            "memberships": memberships,
            "access_label": root.get_customer_access_display(),
            "folder_url": folder_url(folder, "customer"),
        },
        status=422 if form.errors else 200,
    )
