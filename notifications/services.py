"""Raising notifications (the outbox), reading them, and personal preferences.

`notifications_add` is called by the service that made the change, inside its transaction, with
the people who may see the object (the caller decides that: documents.selectors.folder_audience
and the like). Here the rules of hearing are applied: never the person who caused it, nobody who
muted the collaboration, each person's own preference for the event type.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Collaboration
from notifications.events import DEFAULTS
from notifications.models import EmailMode, Event, Mute, Notification, Preference
from portal.errors import ServiceError
from portal.models import User
from portal.queue import publish

logger = logging.getLogger(__name__)

# A batch keeps the first few names; the count says how many there were.
KEPT_NAMES = 5


def _batch_seconds() -> int:
    """How long changes of one kind to one place gather into one notification (and its email waits)."""
    return int(getattr(settings, "NOTIFICATION_BATCH_SECONDS", 60))


def notifications_add(
    *,
    event: str,
    recipients: Iterable[User],
    actor: User | None,
    collaboration: Collaboration | None,
    url: str = "",
    params: dict[str, Any] | None = None,
    names: Sequence[str] = (),
    group_key: str = "",
    email: bool = True,
) -> list[Notification]:
    """Tell `recipients` about `event`. Precondition: called in the transaction of the change, so
    the notifications commit (or vanish) with it; emails are sent after commit.

    `names` are the objects concerned (file names); with a `group_key`, a notification of the
    same event and key still gathering (not yet emailed, read or digested, younger than the batch
    window) grows by them instead of a new one being made. `email=False` keeps it in the portal
    only (the caller already emails these people, like a signing party's personal link).
    """
    if event not in Event.values:
        raise ValueError(f"unknown event {event}")
    people = {u.pk: u for u in recipients if u.is_active and (actor is None or u.pk != actor.pk)}
    if collaboration is not None and people:
        muted = set(
            Mute.objects.filter(collaboration=collaboration, user_id__in=people).values_list(
                "user_id", flat=True
            )
        )
        people = {pk: u for pk, u in people.items() if pk not in muted}
    if not people:
        return []
    default = DEFAULTS[event]
    chosen = {
        user_id: (email, in_app)
        for user_id, email, in_app in Preference.objects.filter(event=event, user_id__in=people).values_list(
            "user_id", "email", "in_app"
        )
    }
    now = timezone.now()
    params = dict(params or {})
    params["names"] = list(names)[:KEPT_NAMES]
    count = max(1, len(names))

    gathering: dict[int, Notification] = {}
    if group_key:
        open_rows = Notification.objects.select_for_update().filter(
            recipient_id__in=people,
            event=event,
            group_key=group_key,
            emailed_at__isnull=True,
            email_claim="",
            digested_at__isnull=True,
            read_at__isnull=True,
            created_at__gte=now - dt.timedelta(seconds=_batch_seconds()),
        )
        gathering = {n.recipient_id: n for n in open_rows}

    made: list[Notification] = []
    grown: list[Notification] = []
    for user_id in people:
        mode, in_app = chosen.get(user_id, (default.email, default.in_app))
        if not email:
            mode = EmailMode.OFF
        if mode == EmailMode.OFF and not in_app:
            continue
        existing = gathering.get(user_id)
        if existing is not None:
            existing.count += count
            kept = list(existing.params.get("names") or [])
            existing.params = {**existing.params, "names": (kept + list(names))[:KEPT_NAMES]}
            existing.updated_at = now
            grown.append(existing)
            continue
        made.append(
            Notification(
                recipient_id=user_id,
                event=event,
                collaboration=collaboration,
                actor=actor,
                params=params,
                url=url,
                group_key=group_key,
                count=count,
                created_at=now,
                updated_at=now,
                in_app=in_app,
                email_mode=mode,
            )
        )
    if grown:
        Notification.objects.bulk_update(grown, ["count", "params", "updated_at"])
    made = Notification.objects.bulk_create(made)
    immediate = [n.pk for n in made if n.email_mode == EmailMode.IMMEDIATELY]
    if immediate:
        countdown = _batch_seconds() if group_key else 0
        transaction.on_commit(partial(notification_emails_enqueue, immediate, countdown=countdown))
    return made + grown


def notification_emails_enqueue(notification_ids: Sequence[int], *, countdown: int = 0) -> None:
    """Send the delivery tasks over one connection; if the broker is down, the sweeper will."""
    publish("notifications.tasks.deliver_email", [(pk,) for pk in notification_ids], countdown=countdown)


# --- The inbox --------------------------------------------------------------------------------


def notifications_mark_read(*, user: User, notification_ids: Iterable[int]) -> int:
    """Mark the user's own notifications read; another person's ids change nothing."""
    return Notification.objects.filter(
        recipient=user, pk__in=list(notification_ids), read_at__isnull=True
    ).update(read_at=timezone.now())


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# --- Preferences ------------------------------------------------------------------------------


@transaction.atomic
def preferences_set(*, user: User, actor: User, choices: dict[str, tuple[str, bool]]) -> None:
    """Set `user`'s own preferences: event -> (email mode, in-app). Nobody sets another's."""
    if actor.pk != user.pk:
        raise ServiceError(_("You can only change your own notification settings."))
    for event, (email, _in_app) in choices.items():
        if event not in Event.values or email not in EmailMode.values:
            raise ServiceError(_("Choose immediately, daily digest or off for each kind of notification."))
    for event, (email, in_app) in choices.items():
        default = DEFAULTS[event]
        if (email, in_app) == (default.email, default.in_app):
            Preference.objects.filter(user=user, event=event).delete()
        else:
            Preference.objects.update_or_create(
                user=user, event=event, defaults={"email": email, "in_app": in_app}
            )


@transaction.atomic
def mutes_set(
    *, user: User, actor: User, collaborations: Iterable[Collaboration], muted_ids: Iterable[int]
) -> None:
    """Mute exactly `muted_ids` among `collaborations` (the ones the user may see) for `user`."""
    if actor.pk != user.pk:
        raise ServiceError(_("You can only change your own notification settings."))
    allowed = {c.pk for c in collaborations}
    wanted = set(muted_ids) & allowed
    Mute.objects.filter(user=user, collaboration_id__in=allowed - wanted).delete()
    have = set(Mute.objects.filter(user=user).values_list("collaboration_id", flat=True))
    Mute.objects.bulk_create([Mute(user=user, collaboration_id=pk) for pk in wanted - have])
