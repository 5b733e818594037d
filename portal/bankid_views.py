"""Log in with BankID, beside the password (portal.bankid.flow keeps the order).

The person chooses BankID on this device (the autostart link) or on another device (an
animated QR code). The waiting page polls `bankid_login_status` every second
(static/js/bankid.js); without JavaScript its "Check again" link reloads it. When the order
completes, the active user whose personnummer BankID confirmed is logged in through Django's
`login`, so session tracking, the two-factor step (a BankID login still asks for the
authenticator code of a person who enrolled one) and django-axes' records apply as for the
password. No account is ever made here; an unknown or inactive number gets the password
login's one failure message. Orders belong to the browser session that started them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import auth, messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from portal import throttle
from portal.audit import audit_record, client_ip
from portal.bankid import flow
from portal.bankid.errors import BankIDError
from portal.forms import LOGIN_FAILED
from portal.models import BankIDOrder, User

NEXT_SESSION_KEY = "bankid_login_next"


def bankid_login_enabled() -> bool:
    return bool(settings.BANKID_URL)


def _safe_next(request: HttpRequest, target: str) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def _order_of(request: HttpRequest, order_id: uuid.UUID) -> BankIDOrder:
    try:
        order = flow.owned(
            order_id=order_id,
            purpose=BankIDOrder.Purpose.LOGIN,
            session_key=request.session.session_key or "",
        )
    except BankIDOrder.DoesNotExist:
        raise Http404 from None
    if order.consumed_at is not None:
        raise Http404
    return order


def _login_page_with(request: HttpRequest, message: str) -> str:
    messages.error(request, message)
    return reverse("login")


def user_for_number(personal_number: str) -> User | None:
    """The active user BankID identified; None for an unknown or inactive number."""
    if not personal_number:
        return None
    return User.objects.filter(personnummer=personal_number, is_active=True).first()


def _finish(request: HttpRequest, order: BankIDOrder) -> str:
    """The completed order logs its person in, once. Returns where the browser goes next."""
    if not flow.consume(order):
        raise Http404
    user = user_for_number(flow.personal_number(order))
    if user is None:
        audit_record(
            actor=None, action="login.bankid_refused", object_type="bankidorder", object_repr=str(order.pk)
        )
        return _login_page_with(request, str(LOGIN_FAILED))
    target = _safe_next(request, request.session.pop(NEXT_SESSION_KEY, ""))
    auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    audit_record(actor=user, action="login.bankid", obj=user, order=str(order.pk))
    return target


def _context(order: BankIDOrder, state: flow.PollState) -> dict[str, object]:
    return {"order": order, "state": state, "restart_url": reverse("bankid_login_start")}


@require_POST
def bankid_login_start(request: HttpRequest) -> HttpResponse:
    if not bankid_login_enabled():
        raise Http404
    if request.user.is_authenticated:  # as the password login: no switching users on the way
        return redirect(settings.LOGIN_REDIRECT_URL)
    if throttle.limited(request, group="bankid-start", rate=settings.RATE_BANKID_START, key=throttle.ip_key):
        return throttle.too_many_requests(request, scope="bankid_login")
    chosen = request.POST.get("flow", "")
    device = BankIDOrder.Flow.SAME_DEVICE if chosen == BankIDOrder.Flow.SAME_DEVICE else BankIDOrder.Flow.QR
    if not request.session.session_key:
        request.session.save()
    try:
        order = flow.start(
            purpose=BankIDOrder.Purpose.LOGIN,
            end_user_ip=client_ip(request) or "127.0.0.1",
            flow=device,
            session_key=request.session.session_key or "",
        )
    except BankIDError as exc:
        messages.error(request, exc.user_message)
        return redirect("login")
    request.session[NEXT_SESSION_KEY] = request.POST.get("next", "")
    return redirect("bankid_login_wait", order_id=order.pk)


@never_cache
@require_GET
def bankid_login_wait(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    order = _order_of(request, order_id)
    state = flow.poll(order)
    if state.status == BankIDOrder.Status.COMPLETE:
        return redirect(_finish(request, order))
    return render(request, "registration/bankid_wait.html", _context(order, state))


@never_cache
@require_GET
def bankid_login_status(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    """The waiting page's changing part; on completion an `HX-Redirect` header says where to go."""
    order = _order_of(request, order_id)
    state = flow.poll(order)
    if state.status == BankIDOrder.Status.COMPLETE:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = _finish(request, order)
        return response
    return render(request, "bankid/_state.html", _context(order, state))


@require_POST
def bankid_login_cancel(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    flow.cancel(_order_of(request, order_id))
    next_url = request.session.pop(NEXT_SESSION_KEY, "")
    return redirect(reverse("login") + (f"?{urlencode({'next': next_url})}" if next_url else ""))
