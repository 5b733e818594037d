"""The portal's own pages: home, organisation switch, profile, language, login, password reset, errors."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import throttle
from portal.context import AuthedRequest, org_context
from portal.forms import EmailLoginForm, ProfileForm, SwitchOrganisationForm
from portal.session_views import session_list
from portal.tokens import set_password_tokens
from portal.twofactor import has_two_factor, recovery_codes_left


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    """Send each person to their starting page: Mina samarbeten or Samarbeten."""
    active = org_context(request).active
    if active is None:
        return render(request, "portal/no_organisation.html")
    if active.is_partner:
        return redirect("customers:customer_list")
    return redirect("customers:collaboration_list")


@login_required
@require_POST
def switch_organisation(request: AuthedRequest) -> HttpResponse:
    form = SwitchOrganisationForm(request.POST)
    ctx = org_context(request)
    if form.is_valid():
        kind, _sep, raw_id = form.cleaned_data["org"].partition(":")
        if kind in ("partner", "customer") and raw_id.isdigit() and ctx.activate(kind, int(raw_id)):
            return redirect("home")
    messages.error(request, _("You are not a member of that organisation."))
    return redirect("home")


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: AuthedRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, _("Your settings were saved."))
            return redirect("profile")
        status = 422
    context = {
        "form": form,
        "two_factor": has_two_factor(request.user),
        "recovery_codes_left": recovery_codes_left(request.user),
        "sessions": session_list(request),
    }
    return render(request, "portal/profile.html", context, status=status)


@login_required
@require_GET
def bench_floor(request: AuthedRequest) -> HttpResponse:
    """The benchmarks' floor (bench/pages.py): a logged-in page rendering only the base layout
    (header with the organisation switcher, menu and footer), so each measured page can be
    reported as a multiple of it. It shows nothing and changes nothing."""
    return render(request, "portal/floor.html")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Change the page language. A logged-in user's choice is saved on their account, so
    their emails follow it too; an anonymous visitor's is kept in a cookie."""
    language = request.POST.get("language", "")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = redirect(target)
    if language not in dict(settings.LANGUAGES):
        return response
    if request.user.is_authenticated:
        request.user.language = language
        request.user.save(update_fields=["language"])
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


class LoginView(auth_views.LoginView):
    """Email and password; BankID beside them is portal.bankid_views. Five failures for one
    email from one address lock that pair for a while: django-axes (settings.AXES_*) answers
    with portal.throttle.lockout_response."""

    form_class = EmailLoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "bankid_enabled": bool(settings.BANKID_URL)}


def _reset_email_key(group: str, request: HttpRequest) -> str:
    return unicodedata.normalize("NFKC", request.POST.get("email", "")).strip().casefold()


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, with two rate limits on sending: per address asked for (no inbox is flooded) and
    per client address (no one probes or spams many addresses). A refusal sends nothing."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        by_ip = throttle.limited(
            request, group="password-reset-ip", rate=settings.RATE_PASSWORD_RESET_IP, key=throttle.ip_key
        )
        by_email = throttle.limited(
            request,
            group="password-reset-email",
            rate=settings.RATE_PASSWORD_RESET_EMAIL,
            key=_reset_email_key,
        )
        if by_ip or by_email:
            return throttle.too_many_requests(request, scope="password_reset")
        return super().post(request, *args, **kwargs)


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The link in a welcome or invitation email: the person chooses their first password."""

    template_name = "registration/set_password.html"
    success_url = reverse_lazy("set_password_done")
    token_generator = set_password_tokens


class SetPasswordDoneView(auth_views.PasswordResetCompleteView):
    template_name = "registration/set_password_done.html"


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "403.html", status=403)
