"""The signing page a party reaches by its personal link: no login, the token is the key.

It shows the document (inline) and attachments, the sender and the message, and lets the party
ask for its code and sign or approve, or decline with a reason. What the party may do is
decided by signing.services (turn, status, deadline), never here.

A link serves the document only while the request is pending (selectors.link_state); after that
every page of it answers 410 with a page saying why, except that a completed request's parties
fetch the sealed PDF for selectors.SEALED_DAYS.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Concatenate, ParamSpec

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from documents.delivery import file_response
from documents.rendering import version_page_png
from portal import pdfium, throttle
from portal.audit import client_ip
from portal.bankid import flow
from portal.bankid.errors import BankIDError
from portal.errors import ServiceError
from portal.models import BankIDOrder
from signing import selectors, services
from signing.methods import BankID
from signing.models import Method, Party, RetiredLink, Role, SigningRequest


def _party(token: str) -> Party:
    try:
        return selectors.party_for_token(token)
    except selectors.LinkRetired:
        raise  # the view's @_retired_link_gone answers 410
    except ServiceError:
        raise Http404 from None


def _gone_page(request: HttpRequest, signing: SigningRequest, reason: Callable[[], str]) -> HttpResponse:
    """410 with the reason, in the signing's language (the party may have no account to say theirs).
    `reason` is called once that language is on: the reasons are translated as they are asked for."""
    translation.activate(signing.language)
    request.LANGUAGE_CODE = signing.language
    return render(request, "signing/gone.html", {"signing": signing, "reason": reason()}, status=410)


def _gone(request: HttpRequest, party: Party) -> HttpResponse:
    return _gone_page(request, party.request, lambda: selectors.link_gone_reason(party))


def _retired(request: HttpRequest, retired: RetiredLink) -> HttpResponse:
    return _gone_page(request, retired.request, lambda: selectors.retired_link_reason(retired))


_P = ParamSpec("_P")


def _retired_link_gone(
    view: Callable[Concatenate[HttpRequest, _P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, _P], HttpResponseBase]:
    """Every page of a link that was replaced, or whose party was removed, answers 410 with a page
    saying so (an unknown link stays a 404): _party lets selectors.LinkRetired through to here."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, /, *args: _P.args, **kwargs: _P.kwargs) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except selectors.LinkRetired as retired:
            return _retired(request, retired.retired)

    return wrapped


def _throttled(request: HttpRequest) -> HttpResponse | None:
    """The 429 page once one address has opened too many signing links (settings.RATE_SIGNING_LINK):
    links need no login, so this bounds what one client can try. Page thumbnails are not counted:
    a signing page shows up to services.MAX_THUMBNAILS of them, each rendered once (version_page_png)."""
    if throttle.limited(request, group="signing-link", rate=settings.RATE_SIGNING_LINK, key=throttle.ip_key):
        return throttle.too_many_requests(request, scope="signing_link")
    return None


def _unless_open(request: HttpRequest, party: Party) -> HttpResponse | None:
    """The 410 page unless the request is pending (the link serves the document only then)."""
    return None if selectors.link_state(party) == "open" else _gone(request, party)


@require_http_methods(["GET", "POST"])
@_retired_link_gone
def sign(request: HttpRequest, token: str) -> HttpResponse:
    if refused := _throttled(request):
        return refused
    party = _party(token)
    signing = party.request
    state = selectors.link_state(party)
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
        if party.method == Method.BANKID and action in {"code", "sign", "approve", "decline"}:
            return redirect("signing:sign", token=token)  # BankID's own step below, not a code
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
            messages.success(request, _done_message(action))
            return redirect("signing:sign", token=token)
        party.refresh_from_db()
    context = {**_page_context(party, token), "error": error}
    return render(request, "signing/sign.html", context, status=status)


def _page_context(party: Party, token: str) -> dict[str, object]:
    signing = party.request
    return {
        "party": party,
        "signing": signing,
        "token": token,
        "blocked": selectors.may_act(party),
        "verb": "approve" if party.role == Role.APPROVER else "sign",
        "bankid": party.method == Method.BANKID,
        "attachments": list(signing.attachments.all()),
        "page_numbers": services.page_image_numbers(signing),
    }


@require_GET
@_retired_link_gone
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
@_retired_link_gone
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
@_retired_link_gone
def sealed(request: HttpRequest, token: str) -> HttpResponseBase:
    """The sealed PDF, for the parties of a completed request during selectors.SEALED_DAYS."""
    if refused := _throttled(request):
        return refused
    party = _party(token)
    if selectors.link_state(party) != "done":
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
    return redirect("signing:sign", token=selectors.party_token(party))


# --- The BankID step (a party whose method is BankID) -------------------------------------------
# The party starts a sign order on this device (the autostart link) or another (an animated QR
# code); the page polls `bankid_status` every second (static/js/bankid.js) and, once BankID says
# complete, the order is consumed once and handed to services.party_act, which checks it against
# the party (personnummer, this signing's file). Declining needs the same proof, as with the code:
# the reason waits in the browser session under the order's id until the order completes.

DECLINE_SESSION_KEY = "bankid_decline_{}"


def _bankid_party(request: HttpRequest, token: str) -> tuple[Party, HttpResponse | None]:
    """The link's BankID party and, when its request is not open, the 410 page to answer."""
    party = _party(token)
    if party.method != Method.BANKID:
        raise Http404
    translation.activate(party.request.language)
    request.LANGUAGE_CODE = party.request.language
    return party, _unless_open(request, party)


def _bankid_order(party: Party, order_id: uuid.UUID) -> BankIDOrder:
    try:
        order = flow.owned(order_id=order_id, purpose=BankIDOrder.Purpose.SIGN, party_id=party.pk)
    except BankIDOrder.DoesNotExist:
        raise Http404 from None
    if order.consumed_at is not None:
        raise Http404
    return order


def _open_order(
    request: HttpRequest, token: str, order_id: uuid.UUID, *, counted: bool = True
) -> tuple[Party, BankIDOrder] | HttpResponse:
    """The link's BankID party and its unused order `order_id`; the 429 page (when `counted`
    against RATE_SIGNING_LINK), the 410 page when the request is not open; 404 for another
    party's order, or a used one."""
    if counted and (refused := _throttled(request)):
        return refused
    party, gone = _bankid_party(request, token)
    return gone or (party, _bankid_order(party, order_id))


def _bankid_finish(request: HttpRequest, party: Party, order: BankIDOrder, token: str) -> str:
    """The completed order answers for the party, once. Returns where the browser goes next."""
    if not flow.consume(order):
        raise Http404
    reason = request.session.pop(DECLINE_SESSION_KEY.format(order.pk), None)
    action = "decline" if reason else ("approve" if party.role == Role.APPROVER else "sign")
    try:
        services.party_act(
            party=party,
            action=action,
            answer=BankID.answer(order.order_ref, order.completion_data),
            reason=reason or "",
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except ServiceError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _done_message(action))
    return reverse("signing:sign", args=[token])


def _done_message(action: str) -> str:
    return {
        "sign": _("Thank you: you have signed."),
        "approve": _("Thank you: you have approved."),
        "decline": _("You have declined. The sender has been told."),
    }.get(action, "")


@require_POST
@_retired_link_gone
def bankid_start(request: HttpRequest, token: str) -> HttpResponse:
    """Start (again) the party's sign order; an open earlier one is cancelled by flow.start."""
    if refused := _throttled(request):
        return refused
    party, gone = _bankid_party(request, token)
    if gone:
        return gone
    if throttle.limited(request, group="bankid-start", rate=settings.RATE_BANKID_START, key=throttle.ip_key):
        return throttle.too_many_requests(request, scope="bankid_sign")
    if reason_not := selectors.may_act(party):
        messages.error(request, reason_not)
        return redirect("signing:sign", token=token)
    intent, reason = request.POST.get("intent"), request.POST.get("reason", "").strip()
    if intent is None:  # "Try again" after an order ended: what that order was for
        last = BankIDOrder.objects.filter(party_id=party.pk).order_by("-started_at").first()
        if last is not None and (carried := request.session.get(DECLINE_SESSION_KEY.format(last.pk))):
            intent, reason = "decline", carried
    declining = intent == "decline"
    if declining and not reason:
        messages.error(request, _("Say why you decline."))
        return redirect("signing:sign", token=token)
    device = (
        BankIDOrder.Flow.SAME_DEVICE
        if request.POST.get("flow") == BankIDOrder.Flow.SAME_DEVICE
        else BankIDOrder.Flow.QR
    )
    options = BankID().order_options(party, declining=declining)
    if declining:
        with translation.override(party.request.language):
            options["user_visible_data"] = _("I decline to sign %(document)s.") % {
                "document": party.request.title
            }
    try:
        order = flow.start(
            purpose=BankIDOrder.Purpose.SIGN,
            end_user_ip=client_ip(request) or "127.0.0.1",
            flow=device,
            party_id=party.pk,
            **options,
        )
    except BankIDError as exc:
        messages.error(request, exc.user_message)
        return redirect("signing:sign", token=token)
    if declining:
        request.session[DECLINE_SESSION_KEY.format(order.pk)] = reason
    return redirect("signing:bankid_wait", token=token, order_id=order.pk)


@never_cache
@require_GET
@_retired_link_gone
def bankid_wait(request: HttpRequest, token: str, order_id: uuid.UUID) -> HttpResponse:
    """The signing page with the order's waiting part in place of the choice."""
    if isinstance(found := _open_order(request, token, order_id), HttpResponse):
        return found
    party, order = found
    state = flow.poll(order)
    if state.status == BankIDOrder.Status.COMPLETE:
        return redirect(_bankid_finish(request, party, order, token))
    context = {**_page_context(party, token), **_bankid_context(order, state, token)}
    context["declining"] = DECLINE_SESSION_KEY.format(order.pk) in request.session
    return render(request, "signing/sign.html", context)


@never_cache
@require_GET
@_retired_link_gone
def bankid_status(request: HttpRequest, token: str, order_id: uuid.UUID) -> HttpResponse:
    """The waiting part, polled every second; on completion an `HX-Redirect` header says where
    to go. Not counted against RATE_SIGNING_LINK (a minute of waiting is 60 polls): it answers
    only for an order of the link's own party, and collects at BankID at most every
    flow.COLLECT_INTERVAL per order."""
    if isinstance(found := _open_order(request, token, order_id, counted=False), HttpResponse):
        return found
    party, order = found
    state = flow.poll(order)
    if state.status == BankIDOrder.Status.COMPLETE:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = _bankid_finish(request, party, order, token)
        return response
    return render(request, "bankid/_state.html", _bankid_context(order, state, token))


@require_POST
@_retired_link_gone
def bankid_cancel(request: HttpRequest, token: str, order_id: uuid.UUID) -> HttpResponse:
    if isinstance(found := _open_order(request, token, order_id), HttpResponse):
        return found
    _party, order = found
    flow.cancel(order)
    request.session.pop(DECLINE_SESSION_KEY.format(order.pk), None)
    return redirect("signing:sign", token=token)


def _bankid_context(order: BankIDOrder, state: flow.PollState, token: str) -> dict[str, object]:
    return {"order": order, "state": state, "restart_url": reverse("signing:bankid_start", args=[token])}
