"""What people hear about: their preferences, the notifications themselves (the outbox), mutes.

A Notification row is written in the transaction of the change that raised it; delivery by email
happens after commit, by Celery, claimed with a conditional UPDATE so that it is sent at most once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Collaboration


class Event(models.TextChoices):
    DOCUMENT_ADDED = "document_added", _("Document added")
    DOCUMENT_REPLACED = "document_replaced", _("Document replaced by a new version")
    DOCUMENT_DELETED = "document_deleted", _("Document deleted")
    FOLDER_ACCESS = "folder_access", _("Folder shared with me")
    INVITATION = "invitation", _("Collaboration invitation")
    STORAGE_WARNING = "storage_warning", _("Storage warnings")
    STORAGE_BLOCK = "storage_block", _("New paid storage block")
    BALANCE_LOW = "balance_low", _("Signature balance low")
    SIGNING_REQUESTED = "signing_requested", _("Signing requested")
    SIGNING_REMINDER = "signing_reminder", _("Signing reminder")
    SIGNING_COMPLETED = "signing_completed", _("Signing completed")
    SIGNING_DECLINED = "signing_declined", _("Signing declined")
    SIGNING_EXPIRED = "signing_expired", _("Signing expired")
    SIGNING_ATTENTION = "signing_attention", _("Signing needs attention")
    DOCREQUEST_ASKED = "docrequest_asked", _("Documents requested from me")
    DOCREQUEST_REMINDER = "docrequest_reminder", _("Document request reminder")
    DOCREQUEST_DONE = "docrequest_done", _("Document request done")
    DOCREQUEST_CANCELLED = "docrequest_cancelled", _("Document request cancelled")


class EmailMode(models.TextChoices):
    IMMEDIATELY = "immediately", _("Immediately")
    DIGEST = "digest", _("Daily digest")
    OFF = "off", _("Off")


class Preference(models.Model):
    """One person's choice for one event type. No row: the event type's default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event = models.CharField(_("event"), max_length=30, choices=Event.choices)
    email = models.CharField(_("email"), max_length=12, choices=EmailMode.choices)
    in_app = models.BooleanField(_("in the portal"))

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="preference_once_per_event")]

    def __str__(self) -> str:
        return f"{self.user}: {self.event} email={self.email} in_app={self.in_app}"


class Mute(models.Model):
    """A person hears nothing about one collaboration."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    collaboration = models.ForeignKey(Collaboration, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("muted collaboration")
        verbose_name_plural = _("muted collaborations")
        constraints = [models.UniqueConstraint(fields=["user", "collaboration"], name="mute_once")]

    def __str__(self) -> str:
        return f"{self.user} mutes {self.collaboration_id}"


class Notification(models.Model):
    """One thing one person hears about, in the portal and/or by email.

    The text is made when it is shown, in the reader's language, from `event` and `params`
    (notifications.messages). Changes of one kind to one place within a short time share a row:
    uploading 30 files is one notification, "30 documents added to Bokslut 2026".
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(_("event"), max_length=30, choices=Event.choices)
    collaboration = models.ForeignKey(
        Collaboration, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    params = models.JSONField(default=dict, blank=True)
    # Where the notification leads (a path in the portal); the page checks access when opened.
    url = models.CharField(max_length=300, blank=True)
    # Same recipient, event and key within the batch window: one row, `count` grows.
    group_key = models.CharField(max_length=100, blank=True)
    count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The recipient's preference when it was raised.
    in_app = models.BooleanField(default=True)
    email_mode = models.CharField(max_length=12, choices=EmailMode.choices)
    read_at = models.DateTimeField(null=True, blank=True)
    # Email delivery: the Celery task id that claimed it, when, and when it went out.
    email_claim = models.CharField(max_length=64, blank=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    digested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "-updated_at"],
                condition=models.Q(in_app=True),
                name="notification_inbox",
            ),
            models.Index(
                fields=["created_at"],
                condition=models.Q(email_mode="immediately", emailed_at__isnull=True),
                name="notification_email_due",
            ),
            models.Index(
                fields=["recipient"],
                condition=models.Q(email_mode="digest", digested_at__isnull=True),
                name="notification_digest_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.event} x{self.count}"
