"""Asking the customer for documents: a request in one of the customer's folders, its items (one
line each), the files the customer uploaded against each item, and the firm's reusable templates.

State changes are conditional UPDATEs in docrequests.services (open -> done or cancelled, the
reminder's `last_reminded`), so a repeated click or a second beat run changes nothing twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Collaboration
from documents.models import DocumentVersion, Folder
from partners.models import Partner


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class DocumentRequest(models.Model):
    """The firm asks some of the customer's users for documents, uploaded into `folder`."""

    collaboration = models.ForeignKey(Collaboration, on_delete=models.CASCADE, related_name="docrequests")
    # The folder goes with the request's files: a deleted folder leaves the request as history.
    folder = models.ForeignKey(
        Folder, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("folder")
    )
    title = models.CharField(_("title"), max_length=200)
    due_date = models.DateField(_("due date"))
    asked = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", verbose_name=_("asked"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)  # done or cancelled
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The last reminder (before or after the due date), claimed by a conditional UPDATE.
    last_reminded = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("document request")
        verbose_name_plural = _("document requests")
        ordering = ["due_date", "pk"]
        indexes = [
            models.Index(fields=["collaboration", "status"]),
            models.Index(fields=["status", "due_date"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == Status.OPEN

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_date < timezone.localdate()


class RequestItem(models.Model):
    """One thing asked for ("Kontoutdrag december, företagskontot")."""

    docrequest = models.ForeignKey(DocumentRequest, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(_("item"), max_length=300)

    class Meta:
        verbose_name = _("requested item")
        verbose_name_plural = _("requested items")
        ordering = ["docrequest", "position", "pk"]

    def __str__(self) -> str:
        return self.text


class ItemFile(models.Model):
    """A file uploaded against an item: the exact version stored by that upload."""

    item = models.ForeignKey(RequestItem, on_delete=models.CASCADE, related_name="files")
    version = models.ForeignKey(DocumentVersion, on_delete=models.CASCADE, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["item", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.version_id}"


class RequestTemplate(models.Model):
    """A firm's reusable request: a title and its items ("Bokslut: underlag")."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="docrequest_templates")
    title = models.CharField(_("title"), max_length=200)
    items = models.JSONField(_("items"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("request template")
        verbose_name_plural = _("request templates")
        ordering = ["title", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "title"], name="docrequest_template_title_unique")
        ]

    def __str__(self) -> str:
        return self.title
