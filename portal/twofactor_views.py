"""My account's two-factor pages and the code step of logging in (rules in portal/twofactor.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import sessions, twofactor
from portal.context import AuthedRequest


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class EnrolForm(CodeForm):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["code"].label = gettext_lazy("Code from the app")
        self.fields["code"].help_text = gettext_lazy("Six digits. The app shows a new one every 30 seconds.")
        self.fields["code"].widget.attrs["inputmode"] = "numeric"


class VerifyForm(CodeForm):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["code"].help_text = gettext_lazy(
            "The six digits your authenticator app shows, or one of your recovery codes."
        )


class DisableForm(VerifyForm):
    password = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["password", "code"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.pop("autofocus", None)
        self.fields["password"].widget.attrs["autofocus"] = True


def _next_url(request: HttpRequest, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def twofactor_verify(request: AuthedRequest) -> HttpResponse:
    """The second step of logging in, for a person who has two-factor."""
    if twofactor.is_verified(request.user) or not twofactor.has_two_factor(request.user):
        request.session.pop(twofactor.CODE_DUE_SESSION_KEY, None)  # e.g. turned off in another session
        return redirect(_next_url(request))
    form = VerifyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if twofactor.is_throttled(request.user):
            form.add_error(None, _("Too many wrong codes. Wait a moment and try again."))
        elif form.is_valid():
            device = twofactor.code_match(request.user, form.cleaned_data["code"])
            if device is not None:
                twofactor.mark_verified(request, device)
                return redirect(_next_url(request))
            form.add_error("code", _("The code is wrong or has already been used."))
    return render(
        request, "portal/twofactor_verify.html", {"form": form, "next": _next_url(request)}, status=status
    )


@never_cache
@login_required
@twofactor.reauth_required
@require_http_methods(["GET", "POST"])
def twofactor_enrol(request: AuthedRequest) -> HttpResponse:
    """Turn two-factor on: scan the QR code (or type the secret), confirm with a code."""
    if twofactor.has_two_factor(request.user):
        messages.info(request, _("Two-factor authentication is already on."))
        return redirect("profile")
    device = twofactor.pending_device(request.user)
    form = EnrolForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            codes = twofactor.two_factor_enable(
                user=request.user, device=device, code=form.cleaned_data["code"]
            )
            if codes is not None:
                twofactor.mark_verified(request, device)
                # Sessions opened with the password alone would stay trusted without a code: they end.
                sessions.sessions_end(
                    user=request.user, actor=request.user, reason="two_factor_on", keep=request
                )
                request.session[twofactor.NEW_CODES_SESSION_KEY] = codes
                messages.success(request, _("Two-factor authentication is on."))
                query = urlencode({"next": _next_url(request, "profile")})
                return redirect(f"{reverse('twofactor_recovery_codes')}?{query}")
            form.add_error(
                "code", _("The code is wrong. Check that the app shows this account and try again.")
            )
    context = {
        "form": form,
        "qr_svg": twofactor.qr_svg(device),
        "secret": twofactor.manual_secret(device),
        "required_by": twofactor.required_by(request),
        "next": _next_url(request, "profile"),
    }
    return render(request, "portal/twofactor_enrol.html", context, status=status)


@never_cache
@login_required
@require_GET
def twofactor_recovery_codes(request: AuthedRequest) -> HttpResponse:
    """The recovery codes made at enrolment, shown this once."""
    codes = request.session.pop(twofactor.NEW_CODES_SESSION_KEY, None)
    if not codes:
        return redirect("profile")
    return render(
        request, "portal/twofactor_codes.html", {"codes": codes, "next": _next_url(request, "profile")}
    )


@never_cache
@login_required
@twofactor.reauth_required
@require_POST
def twofactor_recovery_codes_new(request: AuthedRequest) -> HttpResponse:
    """New recovery codes for the logged-in person (never anyone else), replacing the old ones;
    shown once on the same page as at enrolment."""
    codes = twofactor.recovery_codes_renew(user=request.user)
    if codes is None:
        return redirect("profile")
    request.session[twofactor.NEW_CODES_SESSION_KEY] = codes
    messages.success(request, _("You have new recovery codes. The old ones no longer work."))
    return redirect(f"{reverse('twofactor_recovery_codes')}?{urlencode({'next': reverse('profile')})}")


def _password_and_code_confirmed(request: AuthedRequest, form: forms.Form, *, with_code: bool) -> bool:
    """The bound `form` holds the user's password (and, `with_code`, a current code): True when both
    are right; otherwise the form says what was wrong. Wrong codes are throttled."""
    if with_code and twofactor.is_throttled(request.user):
        form.add_error(None, _("Too many wrong codes. Wait a moment and try again."))
        return False
    if not form.is_valid():
        return False
    if not request.user.check_password(form.cleaned_data["password"]):
        form.add_error("password", _("The password is wrong."))
        return False
    if with_code and twofactor.code_match(request.user, form.cleaned_data["code"]) is None:
        form.add_error("code", _("The code is wrong or has already been used."))
        return False
    return True


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def twofactor_disable(request: AuthedRequest) -> HttpResponse:
    """Turn two-factor off: the password and a code first, whoever holds the open session."""
    if not twofactor.has_two_factor(request.user):
        return redirect("profile")
    required = twofactor.required_by(request)
    form = DisableForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if _password_and_code_confirmed(request, form, with_code=True):
            twofactor.two_factor_disable(user=request.user)
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("profile")
    return render(
        request, "portal/twofactor_disable.html", {"form": form, "required_by": required}, status=status
    )


class ReauthForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )

    def __init__(self, *args: Any, with_code: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if with_code:
            self.fields["code"] = VerifyForm().fields["code"]
            self.fields["code"].widget.attrs.pop("autofocus", None)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def reauthenticate(request: AuthedRequest) -> HttpResponse:
    """Confirm it is you (password, and code with two-factor) before a change to the account's security."""
    with_code = twofactor.has_two_factor(request.user)
    form = ReauthForm(request.POST or None, with_code=with_code)
    status = 200
    if request.method == "POST":
        status = 422
        if _password_and_code_confirmed(request, form, with_code=with_code):
            twofactor.mark_reauthenticated(request)
            return redirect(_next_url(request, "profile"))
    return render(
        request,
        "portal/twofactor_reauth.html",
        {"form": form, "next": _next_url(request, "profile")},
        status=status,
    )
