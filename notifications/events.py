"""The event types: their defaults, who they are for, and the words they are told in.

The text of a notification is made when it is read (the inbox, an email, a digest), in the
reader's language, from the event and the parameters stored with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from notifications.models import EmailMode, Event
from portal.units import human_size


@dataclass(frozen=True)
class Default:
    email: str
    in_app: bool = True


DEFAULTS: dict[str, Default] = {
    Event.DOCUMENT_ADDED: Default(EmailMode.IMMEDIATELY),
    Event.DOCUMENT_REPLACED: Default(EmailMode.DIGEST),
    Event.DOCUMENT_DELETED: Default(EmailMode.DIGEST),
    Event.FOLDER_ACCESS: Default(EmailMode.IMMEDIATELY),
    Event.INVITATION: Default(EmailMode.IMMEDIATELY),
    Event.STORAGE_WARNING: Default(EmailMode.IMMEDIATELY),
    Event.STORAGE_BLOCK: Default(EmailMode.IMMEDIATELY),
    Event.BALANCE_LOW: Default(EmailMode.IMMEDIATELY),
    Event.SIGNING_REQUESTED: Default(EmailMode.IMMEDIATELY),
    Event.SIGNING_REMINDER: Default(EmailMode.IMMEDIATELY),
    Event.SIGNING_COMPLETED: Default(EmailMode.IMMEDIATELY),
    Event.SIGNING_DECLINED: Default(EmailMode.IMMEDIATELY),
    Event.SIGNING_EXPIRED: Default(EmailMode.IMMEDIATELY),
    Event.SIGNING_ATTENTION: Default(EmailMode.DIGEST),
    Event.DOCREQUEST_ASKED: Default(EmailMode.IMMEDIATELY),
    Event.DOCREQUEST_REMINDER: Default(EmailMode.IMMEDIATELY),
    Event.DOCREQUEST_DONE: Default(EmailMode.IMMEDIATELY),
    Event.DOCREQUEST_CANCELLED: Default(EmailMode.IMMEDIATELY),
}

# The preferences page shows the events in these groups; "account" only to account administrators.
GROUPS: list[tuple[str, Any, list[str]]] = [
    (
        "documents",
        gettext_lazy("Documents"),
        [Event.DOCUMENT_ADDED, Event.DOCUMENT_REPLACED, Event.DOCUMENT_DELETED, Event.FOLDER_ACCESS],
    ),
    (
        "signing",
        gettext_lazy("E-signing"),
        [
            Event.SIGNING_REQUESTED,
            Event.SIGNING_REMINDER,
            Event.SIGNING_COMPLETED,
            Event.SIGNING_DECLINED,
            Event.SIGNING_EXPIRED,
            Event.SIGNING_ATTENTION,
        ],
    ),
    (
        "docrequests",
        gettext_lazy("Document requests"),
        [
            Event.DOCREQUEST_ASKED,
            Event.DOCREQUEST_REMINDER,
            Event.DOCREQUEST_DONE,
            Event.DOCREQUEST_CANCELLED,
        ],
    ),
    ("collaborations", gettext_lazy("Collaborations"), [Event.INVITATION]),
    (
        "account",
        gettext_lazy("Storage and balance"),
        [Event.STORAGE_WARNING, Event.STORAGE_BLOCK, Event.BALANCE_LOW],
    ),
]


def _names(params: dict[str, Any], count: int) -> str:
    names = list(params.get("names") or [])
    if count <= 1 or not names:
        return names[0] if names else ""
    return ", ".join(names[:3]) + ("…" if count > 3 else "")


def describe(event: str, params: dict[str, Any], count: int = 1) -> str:
    """One line saying what happened, in the active language."""
    p = dict(params)
    p["count"] = count
    p["name"] = (p.get("names") or [""])[0]
    if event == Event.DOCUMENT_ADDED:
        if count == 1:
            return _("%(name)s was added to %(folder)s") % p
        return (
            ngettext(
                "%(count)d document was added to %(folder)s",
                "%(count)d documents were added to %(folder)s",
                count,
            )
            % p
        )
    if event == Event.DOCUMENT_REPLACED:
        if count == 1:
            return _("A new version of %(name)s in %(folder)s") % p
        return (
            ngettext(
                "A new version of %(count)d document in %(folder)s",
                "New versions of %(count)d documents in %(folder)s",
                count,
            )
            % p
        )
    if event == Event.DOCUMENT_DELETED:
        if count == 1:
            return _("%(name)s was deleted from %(folder)s") % p
        return (
            ngettext(
                "%(count)d document was deleted from %(folder)s",
                "%(count)d documents were deleted from %(folder)s",
                count,
            )
            % p
        )
    if event == Event.FOLDER_ACCESS:
        return _("%(partner)s shared the folder %(folder)s with you") % p
    if event == Event.INVITATION:
        return _("%(partner)s invites %(customer)s to collaborate in the portal") % p
    if event == Event.STORAGE_WARNING:
        p["used"] = human_size(int(p.get("used", 0)))
        p["included"] = human_size(int(p.get("included", 0)))
        if int(p.get("percent", 0)) >= 100:
            return _("%(partner)s has used all of its included storage (%(used)s of %(included)s)") % p
        return _("%(partner)s has used %(percent)s %% of its included storage (%(used)s of %(included)s)") % p
    if event == Event.STORAGE_BLOCK:
        p["used"] = human_size(int(p.get("used", 0)))
        return _("Paid storage block %(blocks)s has started for %(partner)s (%(used)s stored)") % p
    if event == Event.BALANCE_LOW:
        return (
            ngettext(
                "%(partner)s has %(balance)d signature left",
                "%(partner)s has %(balance)d signatures left",
                int(p.get("balance", 0)),
            )
            % p
        )
    if event == Event.SIGNING_REQUESTED:
        return _("%(sender)s asks you to sign %(document)s") % p
    if event == Event.SIGNING_REMINDER:
        return _("Reminder: %(document)s is waiting for your signature") % p
    if event == Event.SIGNING_COMPLETED:
        return _("%(document)s has been signed by everyone") % p
    if event == Event.SIGNING_DECLINED:
        return _("%(party)s declined to sign %(document)s") % p
    if event == Event.SIGNING_EXPIRED:
        return _("The signing of %(document)s expired before everyone had signed") % p
    if event == Event.SIGNING_ATTENTION:
        if p.get("changed_by"):  # someone else fixed the sender's signing (signing.services)
            return _("%(changed_by)s changed your signing of %(document)s") % p
        return _("The signing of %(document)s needs your attention") % p
    if event in (Event.DOCREQUEST_ASKED, Event.DOCREQUEST_REMINDER) and p.get("due"):
        p["due"] = date_format(dt.date.fromisoformat(str(p["due"])), "SHORT_DATE_FORMAT")
    if event == Event.DOCREQUEST_ASKED:
        return _("%(partner)s asks you for documents: %(title)s, by %(due)s") % p
    if event == Event.DOCREQUEST_REMINDER:
        if p.get("overdue"):
            return _("Reminder: %(title)s for %(partner)s was due %(due)s") % p
        return _("Reminder: %(partner)s asks for %(title)s by %(due)s") % p
    if event == Event.DOCREQUEST_DONE:
        return _("%(customer)s has marked %(title)s done") % p
    if event == Event.DOCREQUEST_CANCELLED:
        if p.get("reason") == "collaboration_ended":
            return _("%(partner)s cancelled its request for %(title)s: the collaboration has ended") % p
        return _("%(partner)s cancelled its request for %(title)s") % p
    return str(Event(event).label)


def names_line(params: dict[str, Any], count: int) -> str:
    """The first few file names of a batch ("a.pdf, b.pdf, c.pdf…"), or "" for one."""
    return _names(params, count) if count > 1 else ""
