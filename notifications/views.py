"""The inbox (with the bell's target), opening and marking notifications, personal preferences.

Every view works on request.user's own notifications and settings only: another person's
notification id is a 404, and nothing here takes a user id from the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.models import Collaboration
from notifications import access, selectors, services
from notifications.events import GROUPS, describe, names_line
from notifications.forms import EMAIL_PREFIX, IN_APP_PREFIX, PreferencesForm
from notifications.models import Notification
from portal.context import AuthedRequest, Organisation, org_context
from portal.errors import ServiceError


@dataclass(frozen=True)
class InboxItem:
    id: int
    text: str
    names: str
    collaboration: Collaboration | None
    when: datetime
    unread: bool
    has_link: bool


def _item(notification: Notification) -> InboxItem:
    """What the inbox shows of one notification, in the reader's (the active) language."""
    return InboxItem(
        id=notification.pk,
        text=describe(notification.event, notification.params, notification.count),
        names=names_line(notification.params, notification.count),
        collaboration=notification.collaboration,
        when=notification.updated_at,
        unread=notification.read_at is None,
        has_link=_local_path(notification.url) is not None,
    )


def _local_path(url: str) -> str | None:
    """`url` when it is a path on this site ("/customers/3/"), else None: a notification never
    sends anyone to another host, whatever was stored in it."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return None
    if any(c.isspace() or not c.isprintable() for c in url):
        return None
    if not url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return None
    return url


def _inbox_url(page: str | None) -> str:
    url = reverse("notifications:inbox")
    return f"{url}?page={page}" if page and page.isdigit() else url


@login_required
@require_GET
def inbox(request: AuthedRequest) -> HttpResponse:
    page = Paginator(selectors.inbox_for(request.user), settings.PAGE_SIZE).get_page(request.GET.get("page"))
    items = [_item(n) for n in page.object_list]
    context = {"page": page, "items": items, "any_unread": any(i.unread for i in items)}
    return render(request, "notifications/inbox.html", context)


@login_required
@require_GET
def open_notification(request: AuthedRequest, notification_id: int) -> HttpResponse:
    """Mark the notification read and go where it leads. The target page checks access itself:
    the notification holds only a path."""
    notification = access.notification_for_recipient(request, notification_id)
    services.notifications_mark_read(user=request.user, notification_ids=[notification.pk])
    return redirect(_local_path(notification.url) or reverse("notifications:inbox"))


@login_required
@require_POST
def mark_read(request: AuthedRequest, notification_id: int) -> HttpResponse:
    notification = access.notification_for_recipient(request, notification_id)
    services.notifications_mark_read(user=request.user, notification_ids=[notification.pk])
    return redirect(_inbox_url(request.POST.get("page")))


@login_required
@require_POST
def mark_all_read(request: AuthedRequest) -> HttpResponse:
    services.notifications_mark_all_read(user=request.user)
    messages.success(request, _("All notifications are marked as read."))
    return redirect(_inbox_url(request.POST.get("page")))


def _offered_groups(organisations: list[Organisation]) -> list[tuple[str, str, list[str]]]:
    """The event groups of the preferences page: storage and balance only for someone who is the
    account administrator of a partner (nobody else hears of them)."""
    account_admin = any(org.is_partner and org.is_admin for org in organisations)
    return [
        (key, str(title), list(events)) for key, title, events in GROUPS if key != "account" or account_admin
    ]


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: AuthedRequest) -> HttpResponse:
    user = request.user
    organisations = org_context(request).organisations
    groups = _offered_groups(organisations)
    events = [event for _key, _title, group_events in groups for event in group_events]
    collaborations = selectors.collaborations_to_mute(user=user, organisations=organisations)
    current = selectors.preferences_for(user)
    initial: dict[str, object] = {"muted": sorted(selectors.muted_collaboration_ids(user))}
    for event in events:
        initial[EMAIL_PREFIX + event], initial[IN_APP_PREFIX + event] = current[event]
    form = PreferencesForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        events=events,
        collaborations=collaborations,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                # Both or neither: a refused half leaves the page as the person last saw it.
                with transaction.atomic():
                    services.preferences_set(user=user, actor=user, choices=form.choices())
                    services.mutes_set(
                        user=user, actor=user, collaborations=collaborations, muted_ids=form.muted_ids()
                    )
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Your notification settings were saved."))
                return redirect("notifications:preferences")
        status = 422
    context = {
        "form": form,
        "groups": [
            (key, title, [(form[EMAIL_PREFIX + e], form[IN_APP_PREFIX + e]) for e in group_events])
            for key, title, group_events in groups
        ],
        "has_collaborations": bool(collaborations),
    }
    return render(request, "notifications/preferences.html", context, status=status)
