"""Document requests, both sides. Thin: access, form, one service, redirect."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from customers import access as customer_access
from customers import selectors as customer_selectors
from docrequests import access, selectors, services
from docrequests.forms import DocumentRequestForm
from documents.models import Folder
from documents.storage import CHUNK
from partners.access import active_partner_org
from portal import throttle
from portal.context import AuthedRequest
from portal.errors import ServiceError
from portal.models import User

# --- Partner side: Mina samarbeten / customer / Requests ------------------------------------


@login_required
def partner_list(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration, org = customer_access.collaboration_for_partner_user(request, collaboration_id)
    docrequests = selectors.requests_for_partner(collaboration=collaboration)
    return render(
        request,
        "docrequests/partner_list.html",
        {"collaboration": collaboration, "org": org, "docrequests": docrequests, "tab": "requests"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def partner_create(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration, org = customer_access.collaboration_for_partner_user(request, collaboration_id)
    users = customer_selectors.customer_users_for_partner(collaboration=collaboration)
    templates = list(selectors.templates_for_partner(partner_id=org.id))
    initial = {}
    chosen = next((t for t in templates if str(t.pk) == request.GET.get("template")), None)
    if chosen is not None:
        initial = {"title": chosen.title, "items": "\n".join(chosen.items)}
    form = DocumentRequestForm(
        request.POST or None,
        initial=initial,
        folders=selectors.upload_folders(collaboration=collaboration),
        users=[(m.user_id, f"{m.user.get_full_name()} ({m.user.email})") for m in users],
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            docrequest = services.docrequest_create(
                collaboration=collaboration,
                actor=request.user,
                folder=Folder.objects.select_related("root", "collaboration").get(pk=data["folder"]),
                title=data["title"],
                items=form.item_lines(),
                due_date=data["due_date"],
                asked=list(User.objects.filter(pk__in=data["asked"])),
            )
            if data["save_as_template"]:
                services.template_save(
                    partner=collaboration.partner,
                    actor=request.user,
                    title=data["title"],
                    items=form.item_lines(),
                )
        except ServiceError as error:
            error.add_to(form)
        else:
            messages.success(request, _("%(title)s was requested.") % {"title": docrequest.title})
            return redirect("docrequests:partner_detail", docrequest.pk)
    return render(
        request,
        "docrequests/partner_create.html",
        {"collaboration": collaboration, "form": form, "templates": templates, "chosen": chosen},
        status=422 if form.errors else 200,
    )


@login_required
def partner_detail(request: AuthedRequest, docrequest_id: int) -> HttpResponse:
    docrequest, _org = access.docrequest_for_partner(request, docrequest_id)
    docrequest = selectors.docrequest_page(docrequest=docrequest)
    return render(
        request,
        "docrequests/partner_detail.html",
        {"docrequest": docrequest, "collaboration": docrequest.collaboration, "tab": "requests"},
    )


@login_required
@require_POST
def partner_complete(request: AuthedRequest, docrequest_id: int) -> HttpResponse:
    docrequest, _org = access.docrequest_for_partner(request, docrequest_id)
    try:
        services.docrequest_complete(docrequest=docrequest, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(title)s is done.") % {"title": docrequest.title})
    return redirect("docrequests:partner_detail", docrequest.pk)


@login_required
@require_POST
def partner_cancel(request: AuthedRequest, docrequest_id: int) -> HttpResponse:
    docrequest, _org = access.docrequest_for_partner(request, docrequest_id)
    services.docrequest_cancel(docrequest=docrequest, actor=request.user)
    messages.success(request, _("%(title)s was cancelled.") % {"title": docrequest.title})
    return redirect("docrequests:partner_detail", docrequest.pk)


# --- Partner side: the firm's templates ------------------------------------------------------


@login_required
def template_list(request: AuthedRequest) -> HttpResponse:
    org = active_partner_org(request)
    templates = selectors.templates_for_partner(partner_id=org.id)
    return render(request, "docrequests/template_list.html", {"org": org, "templates": templates})


@login_required
@require_POST
def template_delete(request: AuthedRequest, template_id: int) -> HttpResponse:
    template = access.template_for_partner_user(request, template_id)
    services.template_delete(template=template, actor=request.user)
    messages.success(request, _("The template %(title)s was deleted.") % {"title": template.title})
    return redirect("docrequests:template_list")


# --- Customer side: Samarbeten / requested from you -----------------------------------------


@login_required
def customer_detail(request: AuthedRequest, docrequest_id: int) -> HttpResponse:
    docrequest = access.docrequest_for_customer(request, docrequest_id)
    docrequest = selectors.docrequest_page(docrequest=docrequest)
    return render(
        request,
        "docrequests/customer_detail.html",
        {"docrequest": docrequest, "collaboration": docrequest.collaboration, "tab": "requests"},
    )


@login_required
@require_POST
def customer_upload(request: AuthedRequest, docrequest_id: int, item_id: int) -> HttpResponse:
    docrequest, item = access.item_for_customer(request, docrequest_id, item_id)
    if throttle.limited(request, group="upload", rate=settings.RATE_UPLOAD, key=throttle.user_key):
        return throttle.too_many_requests(request, scope="upload")
    files = request.FILES.getlist("files")
    if not files:
        messages.error(request, _("Choose at least one file to upload."))
    for uploaded in files:
        try:
            version = services.docrequest_upload(
                docrequest=docrequest,
                item=item,
                actor=request.user,
                name=uploaded.name or "",
                chunks=uploaded.chunks(CHUNK),
            )
        except ServiceError as error:
            messages.error(request, f"{uploaded.name}: {error.message}")
        else:
            messages.success(
                request,
                _("%(name)s was uploaded for %(item)s.") % {"name": version.document.name, "item": item.text},
            )
    return redirect("docrequests:customer_detail", docrequest.pk)


@login_required
@require_POST
def customer_complete(request: AuthedRequest, docrequest_id: int) -> HttpResponse:
    docrequest = access.docrequest_for_customer(request, docrequest_id)
    try:
        services.docrequest_complete(docrequest=docrequest, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Thank you. %(title)s is marked done.") % {"title": docrequest.title})
    return redirect("docrequests:customer_detail", docrequest.pk)
