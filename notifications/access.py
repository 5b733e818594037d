"""Every access decision about notifications: a notification is its recipient's alone. Another
person's id is a 404, the same as a missing one."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from notifications.models import Notification
from portal.context import AuthedRequest


def notification_for_recipient(request: AuthedRequest, notification_id: int) -> Notification:
    """The user's own notification; 404 for anyone else's."""
    return get_object_or_404(Notification, pk=notification_id, recipient=request.user)
