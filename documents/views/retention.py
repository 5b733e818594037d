"""The retention rule of a top-level folder: set by an account administrator of the partner.

Anyone who may not see the folder on the partner side gets a 404 (another tenant, a customer user,
unassigned staff); staff who see it but may not set rules get a 403; a subfolder has no rule of
its own (it follows its top-level folder's), so its page does not exist.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from customers.access import may_work_with
from documents import access, services
from documents.forms import RetentionForm
from documents.views.partner import activate_partner
from portal.context import AuthedRequest
from portal.errors import ServiceError


@login_required
@require_http_methods(["GET", "POST"])
def folder_retention(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    folder = access.folder_for_partner(request, folder_id, collaboration_id=collaboration_id)
    if not folder.is_top_level:
        raise Http404
    org = may_work_with(request.user, folder.collaboration, orgs=request.org)
    if org is None or not org.is_admin:
        raise PermissionDenied
    activate_partner(request, folder.collaboration)
    form = RetentionForm(
        request.POST or None,
        initial={
            "kind": folder.retention_kind,
            "years": folder.retention_years,
            "fiscal_end_month": folder.retention_fiscal_end_month,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.folder_set_retention(folder=folder, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            error.add_to(form)
        else:
            messages.success(request, _("The retention rule of %(name)s was saved.") % {"name": folder.name})
            return redirect("documents:partner_folder", folder.collaboration_id, folder.pk)
    return render(
        request,
        "documents/partner_folder_retention.html",
        {"collaboration": folder.collaboration, "folder": folder, "form": form},
        status=422 if form.errors else 200,
    )
