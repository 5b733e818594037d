"""The signing page a party reaches by its personal link: no login, the token is the key.

It shows the document (inline) and attachments, the sender and the message, and lets the party
ask for its code and sign or approve, or decline with a reason. What the party may do is
decided by signing.services (turn, status, deadline), never here.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from documents import storage
from documents.delivery import file_response
from documents.tasks import render_thumbnail
from portal.audit import client_ip
from portal.errors import ServiceError
from signing import services
from signing.models import Party, Role

MAX_THUMBNAILS = 60  # beyond that, the document itself (opened inline) shows the rest


def _party(token: str) -> Party:
    try:
        return services.party_for_token(token)
    except ServiceError:
        raise Http404 from None


@require_http_methods(["GET", "POST"])
def sign(request: HttpRequest, token: str) -> HttpResponse:
    party = _party(token)
    signing = party.request
    translation.activate(signing.language)
    request.LANGUAGE_CODE = signing.language
    error, status = "", 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "code":
                services.party_start_method(party=party)
                messages.success(request, _("A code is on its way to %(email)s.") % {"email": party.email})
                return redirect("signing:sign", token=token)
            services.party_act(
                party=party,
                action=action,
                answer=request.POST.get("code", ""),
                reason=request.POST.get("reason", ""),
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except ServiceError as refusal:
            error, status = refusal.message, 422
        else:
            messages.success(
                request,
                {
                    "sign": _("Thank you: you have signed."),
                    "approve": _("Thank you: you have approved."),
                    "decline": _("You have declined. The sender has been told."),
                }.get(action, ""),
            )
            return redirect("signing:sign", token=token)
        party.refresh_from_db()
    return render(
        request,
        "signing/sign.html",
        {
            "party": party,
            "signing": signing,
            "token": token,
            "blocked": services.may_act(party),
            "verb": "approve" if party.role == Role.APPROVER else "sign",
            "attachments": list(signing.attachments.all()),
            "page_numbers": range(1, min(signing.pages, MAX_THUMBNAILS) + 1),
            "error": error,
        },
        status=status,
    )


@require_GET
def document(request: HttpRequest, token: str, position: int = -1) -> HttpResponseBase:
    """The document (position -1) or an attachment, inline, for the party of the link."""
    party = _party(token)
    signing = party.request
    if position < 0:
        version, name = signing.version, signing.title
    else:
        attachment = signing.attachments.filter(position=position).select_related("version").first()
        if attachment is None:
            raise Http404
        version, name = attachment.version, attachment.name
    return file_response(key=version.storage_key, filename=name, content_type="application/pdf", inline=True)


PAGE_WIDTH = 260  # pixels of a page thumbnail on the signing page


@require_GET
def page_image(request: HttpRequest, token: str, number: int) -> HttpResponse:
    """Page `number` (from 1) of the document as a small PNG, for the party of the link. Rendered
    once per version and page, then served from the cache."""
    party = _party(token)
    version = party.request.version
    key = f"signing-page:{version.pk}:{number}:{PAGE_WIDTH}"
    png = cache.get(key)
    if png is None:
        try:
            with storage.document_storage().open(version.storage_key, "rb") as handle:
                png = render_thumbnail(handle, is_pdf=True, page_index=number - 1, width=PAGE_WIDTH)
        except IndexError:
            raise Http404 from None
        cache.set(key, png, 24 * 3600)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
