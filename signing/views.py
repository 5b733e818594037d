"""The signing page a party reaches by its personal link: no login, the token is the key.

It shows the document (inline) and attachments, the sender and the message, and lets the party
ask for its code and sign or approve, or decline with a reason. What the party may do is
decided by signing.services (turn, status, deadline), never here.

A link serves the document only while the request is pending (services.link_state); after that
every page of it answers 410 with a page saying why, except that a completed request's parties
fetch the sealed PDF for services.SEALED_DAYS.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from documents.delivery import file_response
from documents.rendering import version_page_png
from portal import pdfium, throttle
from portal.audit import client_ip
from portal.errors import ServiceError
from signing import services
from signing.models import Party, Role


def _party(token: str) -> Party:
    try:
        return services.party_for_token(token)
    except ServiceError:
        raise Http404 from None


def _gone(request: HttpRequest, party: Party) -> HttpResponse:
    translation.activate(party.request.language)
    request.LANGUAGE_CODE = party.request.language
    return render(
        request,
        "signing/gone.html",
        {"signing": party.request, "reason": services.link_gone_reason(party)},
        status=410,
    )


def _throttled(request: HttpRequest) -> HttpResponse | None:
    """The 429 page once one address has opened too many signing links (settings.RATE_SIGNING_LINK):
    links need no login, so this bounds what one client can try. Page thumbnails are not counted:
    a signing page shows up to services.MAX_THUMBNAILS of them, each rendered once (version_page_png)."""
    if throttle.limited(request, group="signing-link", rate=settings.RATE_SIGNING_LINK, key=throttle.ip_key):
        return throttle.too_many_requests(request, scope="signing_link")
    return None


def _unless_open(request: HttpRequest, party: Party) -> HttpResponse | None:
    """The 410 page unless the request is pending (the link serves the document only then)."""
    return None if services.link_state(party) == "open" else _gone(request, party)


@require_http_methods(["GET", "POST"])
def sign(request: HttpRequest, token: str) -> HttpResponse:
    if refused := _throttled(request):
        return refused
    party = _party(token)
    signing = party.request
    state = services.link_state(party)
    if state == "gone" or (state == "done" and request.method == "POST"):
        return _gone(request, party)
    translation.activate(signing.language)
    request.LANGUAGE_CODE = signing.language
    if state == "done":
        return render(request, "signing/done.html", {"party": party, "signing": signing, "token": token})
    error, status = "", 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        # Code checks per address, on top of the tries per party (settings.SIGNING_CODE_TRIES).
        if action in {"sign", "approve"} and throttle.limited(
            request, group="signing-code", rate=settings.RATE_SIGNING_CODE, key=throttle.ip_key
        ):
            return throttle.too_many_requests(request, scope="signing_code")
        # Code emails per address across all parties, on top of the sends per party
        # (SIGNING_CODE_SENDS_PER_HOUR): one client cannot make the portal mail every signer.
        if action == "code" and throttle.limited(
            request, group="signing-code-send", rate=settings.RATE_SIGNING_CODE_SEND, key=throttle.ip_key
        ):
            return throttle.too_many_requests(request, scope="signing_code_send")
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
            "page_numbers": services.page_image_numbers(signing),
            "error": error,
        },
        status=status,
    )


@require_GET
def document(request: HttpRequest, token: str, position: int = -1) -> HttpResponseBase:
    """The document (position -1) or an attachment, inline, for the party of the link."""
    if refused := _throttled(request):
        return refused
    party = _party(token)
    if gone := _unless_open(request, party):
        return gone
    signing = party.request
    if position < 0:
        version, name = signing.version, signing.title
    else:
        attachment = signing.attachments.filter(position=position).select_related("version").first()
        if attachment is None:
            raise Http404
        version, name = attachment.version, attachment.name
    if version is None:
        raise Http404
    return file_response(key=version.storage_key, filename=name, content_type="application/pdf", inline=True)


@require_GET
def page_image(request: HttpRequest, token: str, number: int) -> HttpResponse:
    """Page `number` (from 1) of the document as a small PNG, for the party of the link. Only the
    pages the signing page shows exist here, each rendered once per version and page (see
    version_page_png): what one link can make the server render is bounded."""
    party = _party(token)
    if gone := _unless_open(request, party):
        return gone
    signing = party.request
    version = signing.version
    if version is None or number not in services.page_image_numbers(signing):
        raise Http404
    try:
        png = version_page_png(version, number=number, width=services.PAGE_WIDTH)
    except pdfium.PdfiumBusy:
        return HttpResponse(status=503, headers={"Retry-After": "10"})
    if png is None:
        raise Http404
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
def sealed(request: HttpRequest, token: str) -> HttpResponseBase:
    """The sealed PDF, for the parties of a completed request during services.SEALED_DAYS."""
    if refused := _throttled(request):
        return refused
    party = _party(token)
    if services.link_state(party) != "done":
        return _gone(request, party)
    version = party.request.sealed_version
    if version is None or version.deleted_at is not None:
        raise Http404  # not sealed yet (the page says so)
    return file_response(
        key=version.storage_key, filename=version.document.name, content_type="application/pdf"
    )


@login_required
@require_GET
def party_open(request: HttpRequest, party_id: int) -> HttpResponse:
    """Where a portal user's notification leads (it stores no token): their own party's link."""
    party = get_object_or_404(Party, pk=party_id, user_id=request.user.pk)
    return redirect("signing:sign", token=services.party_token(party))
