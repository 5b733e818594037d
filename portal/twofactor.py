"""Two-factor authentication: TOTP from an authenticator app, with single-use recovery codes.

A person enrols under My account (portal/twofactor_views.py). After that the password alone
logs them in only half-way: `TwoFactorMiddleware` sends every page to the code step until
the session is verified (django-otp's `request.user.is_verified()`). The same middleware walks
partner-side staff to enrolment when their firm requires two-factor, and site staff when
Django admin requires it (settings.TWO_FACTOR_FOR_ADMIN, on whenever PORTAL_DEBUG is false).

Page requests cost no query here: whether a second factor is due is noted in the session at
login (`note_second_factor_due`, for any login form, Django admin's too), and a firm's
requirement rides on the organisation list the header loads anyway (portal.context).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import django_otp
import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.audit import audit_record
from portal.context import org_context
from portal.models import User

RECOVERY_CODE_COUNT = 10
# The recovery codes made at enrolment wait here until their page shows them, once.
NEW_CODES_SESSION_KEY = "twofactor_new_codes"
# When the person last confirmed their password (and code): a change of security settings
# within REAUTH_SECONDS of it needs no new confirmation.
REAUTH_SESSION_KEY = "twofactor_reauth_at"
REAUTH_SECONDS = 5 * 60

# Set at login when the person has two-factor: every page waits for the code step until then.
CODE_DUE_SESSION_KEY = "twofactor_code_due"


def required_by(request: HttpRequest) -> list[str]:
    """The names of the user's firms that require two-factor of them."""
    return [org.name for org in org_context(request).organisations if org.requires_two_factor]


def note_second_factor_due(sender: object, request: HttpRequest | None, user: User, **kwargs: object) -> None:
    """At every login (user_logged_in): note whether this session still owes a code."""
    if request is not None and hasattr(request, "session"):
        request.session[CODE_DUE_SESSION_KEY] = has_two_factor(user)
        mark_reauthenticated(request)  # the password was just typed


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_two_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def pending_device(user: User) -> TOTPDevice:
    """The unconfirmed device an enrolment shows as a QR code; made on the first visit, the same
    one on a reload, so a code from an app that already scanned it still matches."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    return device


def qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an inline SVG QR code: made here, no request leaves the page."""
    title = _("QR code to scan with your authenticator app")
    return str(segno.make(device.config_url, error="m").svg_inline(scale=5, title=title))


def manual_secret(device: TOTPDevice) -> str:
    """The secret as an app asks for it when typed in: base32, in groups of four."""
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalise_code(raw: str) -> str:
    """People type codes with spaces or dashes, recovery codes in either case."""
    return "".join(ch for ch in raw if ch.isalnum()).lower()


@transaction.atomic
def two_factor_enable(*, user: User, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm `device` with a code from the app and make fresh recovery codes.

    Returns the recovery codes, or None when the code is wrong (nothing confirmed then)."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not device.verify_token(normalise_code(code)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # One authenticator app per person: an earlier enrolment left unconfirmed goes.
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return _recovery_codes_replace(user=user)


def _recovery_codes_replace(*, user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name=_("Recovery codes"), confirmed=True)
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=code) for code in codes])
    return codes


@transaction.atomic
def recovery_codes_renew(*, user: User) -> list[str] | None:
    """Replace all of `user`'s recovery codes with new ones, leaving the authenticator app on.

    Returns the new codes (to be shown once), or None when the user has no two-factor. The old
    codes stop working at once. Audited, without the codes."""
    if not TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).exists():
        return None
    codes = _recovery_codes_replace(user=user)
    audit_record(actor=user, action="twofactor.recovery_codes_replaced", obj=user, count=len(codes))
    return codes


@transaction.atomic
def two_factor_disable(*, user: User) -> None:
    """Remove the user's authenticator app and recovery codes."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def code_match(user: User, code: str) -> Any:
    """The device that accepts `code` (the app's code, or a recovery code, which is used up), or
    None. A wrong code counts against each device: django-otp makes it wait longer after each."""
    return django_otp.match_token(user, normalise_code(code))


def is_throttled(user: User) -> bool:
    device = confirmed_device(user)
    return device is not None and not device.verify_is_allowed()[0]


def is_verified(user: User) -> bool:
    """Whether this request's session passed the second factor (set by django-otp's middleware)."""
    return getattr(user, "otp_device", None) is not None


def mark_verified(request: HttpRequest, device: Any) -> None:
    """The session passed the second factor, and counts as freshly re-authenticated."""
    django_otp.login(request, device)
    request.session.pop(CODE_DUE_SESSION_KEY, None)
    mark_reauthenticated(request)


def mark_reauthenticated(request: HttpRequest) -> None:
    request.session[REAUTH_SESSION_KEY] = int(time.time())


def recently_reauthenticated(request: HttpRequest) -> bool:
    at = request.session.get(REAUTH_SESSION_KEY)
    return isinstance(at, int) and 0 <= time.time() - at <= REAUTH_SECONDS


def reauth_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Changes to who can get into an account (password, two-factor, a firm's administrators) need
    the password, and the code where the person has two-factor, within the last REAUTH_SECONDS.

    A GET comes back to the page after confirming; a POST is not replayed: the person is sent
    back to the page they came from to do it again."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if recently_reauthenticated(request):
            return view(request, *args, **kwargs)
        back = request.get_full_path()
        if request.method != "GET":
            referer = request.headers.get("referer", "")
            same_site = url_has_allowed_host_and_scheme(
                referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            )
            back = urlsplit(referer).path if referer and same_site else reverse("home")
        return reauthenticate_first(back)

    return wrapper


def reauthenticate_first(back: str) -> HttpResponse:
    """To the confirmation page, then back to `back` (a path of this site).

    For a view where only some changes need confirming (reauth_required guards a whole view)."""
    return redirect(f"{reverse('reauthenticate')}?{urlencode({'next': back})}")


def _with_next(url_name: str, request: HttpRequest) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': request.get_full_path()})}"


class TwoFactorMiddleware:
    """Until a session has passed the second factor, send a person who has one to the code step,
    and one who must have one (their firm requires it, or Django admin does) to enrolment.

    Only logging out, the language switch, static files and the two-factor pages themselves
    stay open. A session already verified costs no query here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or is_verified(user) or self._always_open(request.path):
            return self.get_response(request)
        if request.session.get(CODE_DUE_SESSION_KEY):
            if request.path != reverse("twofactor_verify"):
                return redirect(_with_next("twofactor_verify", request))
        elif self._enrol_walks_past(request.path) and self._must_enrol(request, user):
            return redirect(_with_next("twofactor_enrol", request))
        return self.get_response(request)

    @staticmethod
    def _always_open(path: str) -> bool:
        return path.startswith(settings.STATIC_URL) or path in (reverse("logout"), reverse("set_language"))

    @staticmethod
    def _enrol_walks_past(path: str) -> bool:
        # Enrolment may ask to confirm the password first (reauth_required): that page stays open.
        return not path.startswith(reverse("twofactor_enrol")) and path != reverse("reauthenticate")

    @staticmethod
    def _must_enrol(request: HttpRequest, user: User) -> bool:
        if (
            settings.TWO_FACTOR_FOR_ADMIN
            and user.is_staff
            and request.path.startswith(reverse("admin:index"))
        ):
            return True
        return bool(required_by(request))
