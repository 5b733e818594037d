"""Sessions: the idle and absolute timeouts, and each user's list of logged-in browsers.

Every login makes a `UserSession` row (`session_started`, on user_logged_in, whichever form
logged the person in) and notes in the session when it started, when it was last used and
whether the person is a firm's staff or a customer user. `SessionTimeoutMiddleware` then signs
a session out when it has been idle longer than settings.SESSION_IDLE_MINUTES (or
SESSION_IDLE_MINUTES_CUSTOMER) or is older than SESSION_ABSOLUTE_HOURS, with a message on the
login page saying why. Activity is written at most once a minute (TOUCH_SECONDS): a page
request otherwise costs no query here.

Ending a session (`sessions_end`, `session_end`) deletes it from Django's session store, so the
browser holding it is logged out on its next request, and removes its row. The other sessions
of a person end when their password changes, when they turn on two-factor, when they leave
their last organisation; all of them when their account is deactivated.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from importlib import import_module
from typing import Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.audit import audit_record, client_ip
from portal.context import organisations_of
from portal.models import User, UserSession

# In the session: when it started and was last used (epoch seconds), whose it is, and its row.
STARTED_KEY = "portal_session_started"
SEEN_KEY = "portal_session_seen"
KIND_KEY = "portal_session_kind"
ROW_KEY = "portal_session_row"
# Activity is noted at most this often; the idle timeout is exact to within it.
TOUCH_SECONDS = 60

UserKind = Literal["partner", "customer"]
EndReason = Literal["password_changed", "password_reset", "two_factor_on", "deactivated", "removed"]
DB_ENGINE = "django.contrib.sessions.backends.db"


def idle_minutes(kind: str) -> int:
    if kind == "customer":
        return int(settings.SESSION_IDLE_MINUTES_CUSTOMER)
    return int(settings.SESSION_IDLE_MINUTES)


def absolute_seconds() -> int:
    return int(settings.SESSION_ABSOLUTE_HOURS) * 3600


def user_kind(user: User) -> UserKind:
    """A customer user only when every organisation of the person is a customer: a firm's staff
    member who is also a customer user gets the staff timeout, as does site staff without any."""
    orgs = organisations_of(user)
    return "customer" if orgs and all(org.is_customer for org in orgs) else "partner"


# --- Login and logout (user_logged_in / user_logged_out, connected in PortalConfig.ready) ---------


def session_started(sender: object, request: HttpRequest | None, user: User, **kwargs: object) -> None:
    """At every login: the session's row, and its start, last use and kind in the session."""
    if request is None or not hasattr(request, "session"):
        return
    _track(request, user)


def session_logged_out(
    sender: object, request: HttpRequest | None, user: User | None, **kwargs: object
) -> None:
    if request is None or user is None or not hasattr(request, "session"):
        return
    row_id = request.session.get(ROW_KEY)
    if isinstance(row_id, int):
        UserSession.objects.filter(pk=row_id, user=user).delete()
    elif request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key, user=user).delete()


def _track(request: HttpRequest, user: User) -> UserSession:
    session = request.session
    if session.session_key is None:
        session.save()  # a login that switched users flushed the session: it needs its key now
    now = timezone.now()
    row, _created = UserSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={
            "user": user,
            "created_at": now,
            "last_seen_at": now,
            "ip": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        },
    )
    stamp = int(time.time())
    session[STARTED_KEY] = stamp
    session[SEEN_KEY] = stamp
    session[KIND_KEY] = user_kind(user)
    session[ROW_KEY] = row.pk
    return row


# --- The timeouts ----------------------------------------------------------------------------------


class SessionTimeoutMiddleware:
    """Sign out a session idle or old beyond its limits; note its activity once a minute."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        session = request.session
        started = session.get(STARTED_KEY)
        if not isinstance(started, int):
            # A session from before these checks: tracked from now on.
            _track(request, user)
            return self.get_response(request)
        now = int(time.time())
        seen = session.get(SEEN_KEY)
        seen = seen if isinstance(seen, int) else started
        kind = str(session.get(KIND_KEY, "partner"))
        if now - started > absolute_seconds():
            return self._signed_out(request, user, "absolute", signed_out_absolute_text())
        if now - seen > idle_minutes(kind) * 60:
            return self._signed_out(request, user, "idle", signed_out_idle_text(idle_minutes(kind)))
        if now - seen >= TOUCH_SECONDS:
            session[SEEN_KEY] = now
            row_id = current_row_id(request)
            noted = row_id is not None and UserSession.objects.filter(pk=row_id, user=user).update(
                last_seen_at=timezone.now(), session_key=session.session_key
            )
            if not noted:  # its row went: the session was ended, though its store entry survived
                return self._signed_out(request, user, "ended", _("Your session was ended. Log in again."))
        return self.get_response(request)

    @staticmethod
    def _signed_out(request: HttpRequest, user: User, reason: str, message: str) -> HttpResponse:
        label = device_label(request.META.get("HTTP_USER_AGENT", ""))
        audit_record(
            actor=user, action="session.expired", object_type="session", object_repr=label, reason=reason
        )
        next_path = _return_path(request)
        logout(request)
        messages.info(request, message)
        login_url = redirect_to_login(next_path)["Location"]
        response: HttpResponse
        if getattr(request, "htmx", False):
            # htmx follows HX-Redirect whatever the status: the whole page goes to the login.
            response = HttpResponse(status=401)
            response["HX-Redirect"] = login_url
        elif request.headers.get("x-requested-with") == "XMLHttpRequest" or (
            request.accepts("application/json") and not request.accepts("text/html")
        ):
            # portal uploads (static/js/upload.js) show the JSON's error beside the file.
            response = JsonResponse({"error": message, "login_url": login_url}, status=401)
        else:
            response = HttpResponse(status=302)
            response["Location"] = login_url
        # The login page speaks the person's language, as the page they left did.
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, user.language, max_age=365 * 24 * 3600, samesite="Lax"
        )
        return response


def _return_path(request: HttpRequest) -> str:
    """Where to come back after logging in: this page, or for htmx and posts (which are not
    replayed) the page the person was on."""
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.current_url_abs_path:
        return str(htmx.current_url_abs_path)
    if request.method in ("GET", "HEAD") and not request.headers.get("x-requested-with"):
        return request.get_full_path()
    referer = request.headers.get("referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return reverse("home")


def duration_text(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def signed_out_idle_text(minutes: int) -> str:
    return _("You were signed out after %(duration)s without activity. Log in again to continue.") % {
        "duration": duration_text(minutes)
    }


def signed_out_absolute_text() -> str:
    return _(
        "You were signed out because you had been signed in for %(duration)s. Log in again to continue."
    ) % {"duration": duration_text(int(settings.SESSION_ABSOLUTE_HOURS) * 60)}


def limits_text(kind: str) -> str:
    return _("A session ends after %(idle)s without activity, and %(absolute)s after logging in.") % {
        "idle": duration_text(idle_minutes(kind)),
        "absolute": duration_text(int(settings.SESSION_ABSOLUTE_HOURS) * 60),
    }


# --- Reads -----------------------------------------------------------------------------------------


def sessions_of(*, user: User, kind: str = "partner") -> QuerySet[UserSession]:
    """`user`'s sessions that still let someone in, newest activity first; only ever their own."""
    now = timezone.now()
    rows = UserSession.objects.filter(
        user=user,
        created_at__gte=now - timedelta(seconds=absolute_seconds()),
        last_seen_at__gte=now - timedelta(minutes=idle_minutes(kind)),
    )
    if settings.SESSION_ENGINE == DB_ENGINE:
        # A session the store no longer has (expired, or flushed by Django after a password
        # change elsewhere) is not shown, in the same query.
        rows = rows.filter(
            Exists(Session.objects.filter(session_key=OuterRef("session_key"), expire_date__gt=now))
        )
    return rows.order_by("-last_seen_at", "-pk")


def current_row_id(request: HttpRequest) -> int | None:
    row_id = request.session.get(ROW_KEY)
    return row_id if isinstance(row_id, int) else None


def current_kind(request: HttpRequest) -> str:
    return str(request.session.get(KIND_KEY, "partner"))


# --- Writes ----------------------------------------------------------------------------------------


def _store_delete(session_keys: Iterable[str]) -> None:
    """Destroy the sessions in Django's session store: their browsers are logged out."""
    keys = [key for key in session_keys if key]
    if not keys:
        return
    if settings.SESSION_ENGINE == DB_ENGINE:
        Session.objects.filter(session_key__in=keys).delete()
        return
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store(session_key=key).delete()


@transaction.atomic
def session_end(*, actor: User, user_session: UserSession) -> None:
    """End one session of `actor`'s own (the caller found it through `sessions_of(user=actor)`)."""
    assert user_session.user_id == actor.pk
    _store_delete([user_session.session_key])
    UserSession.objects.filter(pk=user_session.pk).delete()
    audit_record(
        actor=actor,
        action="session.ended",
        object_type="session",
        object_repr=device_label(user_session.user_agent),
        ip_of_session=user_session.ip,
    )


@transaction.atomic
def sessions_end(
    *, user: User, actor: User | None, reason: EndReason | Literal["user"], keep: HttpRequest | None = None
) -> int:
    """End `user`'s sessions, except the one of `keep` (the request of the person acting in their
    own session); the number ended. With `keep` the kept row learns the session's current key, as
    changing the password gives the session a new one."""
    rows = UserSession.objects.filter(user=user)
    keep_id = current_row_id(keep) if keep is not None else None
    if keep is not None and keep_id is not None:
        UserSession.objects.filter(pk=keep_id, user=user).update(session_key=keep.session.session_key)
        rows = rows.exclude(pk=keep_id)
    if keep is not None and keep.session.session_key:
        rows = rows.exclude(session_key=keep.session.session_key)
    keys = list(rows.values_list("session_key", flat=True))
    _store_delete(keys)
    UserSession.objects.filter(user=user, session_key__in=keys).delete()
    if keys:
        audit_record(
            actor=actor,
            action="session.ended_others" if keep is not None else "session.ended_all",
            obj=user,
            reason=reason,
            count=len(keys),
        )
    return len(keys)


def sessions_end_without_organisation(*, user: User, actor: User) -> int:
    """After a removal from an organisation: end all of `user`'s sessions if it was their last one."""
    if organisations_of(user):
        return 0
    return sessions_end(user=user, actor=actor, reason="removed")


def sessions_prune() -> int:
    """Drop the rows of sessions past their timeouts or gone from the store (nightly)."""
    now = timezone.now()
    longest_idle = max(idle_minutes("partner"), idle_minutes("customer"))
    stale = UserSession.objects.filter(created_at__lt=now - timedelta(seconds=absolute_seconds())) | (
        UserSession.objects.filter(last_seen_at__lt=now - timedelta(minutes=longest_idle))
    )
    keys = list(stale.values_list("session_key", flat=True))
    _store_delete(keys)
    deleted, _detail = UserSession.objects.filter(session_key__in=keys).delete()
    if settings.SESSION_ENGINE == DB_ENGINE:
        gone, _detail = UserSession.objects.exclude(
            Exists(Session.objects.filter(session_key=OuterRef("session_key")))
        ).delete()
        deleted += gone
    return deleted


# --- The device a session is on, roughly, from its user agent --------------------------------------

_BROWSERS = (
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("Safari", re.compile(r"Version/[\d.]+.*Safari/")),
)
_SYSTEMS = (
    ("iPadOS", re.compile(r"iPad")),
    ("iOS", re.compile(r"iPhone|iPod")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
)


def device_label(user_agent: str) -> str:
    """ "Firefox on Windows", "Safari on iOS": enough to tell one's own browsers apart."""
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), None)
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown browser")
