"""Admin for signing: requests with their parties, attachments and timelines, all read-only
(signing.services writes every row, and a signing's evidence must stay as it was recorded).

A party's link secrets are never shown: with `token_salt` and the secret key anyone could open the
party's personal link, and `token_hash` / `code_hash` help nobody but a guesser. Fields are listed
explicitly, so a field added to a model later stays out of the admin until someone decides it may
be shown. BankID's raw completion data and personal identity numbers stay out too: the sealed PDF
carries the evidence.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.admin import ReadOnlyAdmin, ReadOnlyInline
from signing.models import Attachment, Event, Party, SigningRequest

PARTY_FIELDS = (
    "request",
    "name",
    "email",
    "mobile",
    "role",
    "method",
    "order",
    "user",
    "notified_at",
    "reminded_at",
    "code_sent_at",
    "code_attempts",
    "code_verified_at",
    "code_failures",
    "locked_at",
    "action",
    "acted_at",
    "ip",
    "user_agent",
    "decline_reason",
    "sealed_sent_at",
    "bankid_order_ref",
)


class _ReadOnlyInline(ReadOnlyInline):
    show_change_link = True


class PartyInline(_ReadOnlyInline):
    model = Party
    fields = ("name", "email", "role", "method", "order", "action", "acted_at", "locked_at")


class AttachmentInline(_ReadOnlyInline):
    model = Attachment
    fields = ("position", "name", "sha256")


class EventInline(_ReadOnlyInline):
    model = Event
    fields = ("created_at", "kind", "party", "actor", "ip", "detail")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        return super().get_queryset(request).select_related("party", "actor")


@admin.register(SigningRequest)
class SigningRequestAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "title",
        "partner",
        "customer",
        "status",
        "created_by",
        "sent_at",
        "sealed_at",
    )
    list_filter = ("status", "language")
    list_select_related = ("collaboration__partner", "collaboration__customer", "created_by")
    search_fields = (
        "title",
        "collaboration__partner__name",
        "collaboration__customer__name",
        "parties__email",
    )
    date_hierarchy = "created_at"
    fields = (
        "collaboration",
        "title",
        "status",
        "document",
        "version",
        "version_sha256",
        "pages",
        "created_by",
        "language",
        "message",
        "deadline",
        "reminder_days",
        "created_at",
        "sent_at",
        "last_reminder_at",
        "finished_at",
        "sealed_version",
        "sealed_at",
        "seal_failed_at",
        "seal_error",
    )
    inlines = (PartyInline, AttachmentInline, EventInline)

    @admin.display(description=_("partner"), ordering="collaboration__partner__name")
    def partner(self, obj: SigningRequest) -> str:
        return obj.collaboration.partner.name

    @admin.display(description=_("customer"), ordering="collaboration__customer__name")
    def customer(self, obj: SigningRequest) -> str:
        return obj.collaboration.customer.name


@admin.register(Party)
class PartyAdmin(ReadOnlyAdmin):
    list_display = ("name", "email", "request", "role", "method", "action", "acted_at")
    list_filter = ("role", "method", "action")
    list_select_related = ("request",)
    search_fields = ("name", "email", "request__title")
    fields = PARTY_FIELDS


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "request", "position", "sha256")
    list_select_related = ("request",)
    search_fields = ("name", "request__title")
    fields = ("request", "position", "name", "version", "sha256")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "request", "kind", "party", "actor", "ip")
    list_filter = ("kind",)
    list_select_related = ("request", "party", "actor")
    search_fields = ("request__title", "kind")
    date_hierarchy = "created_at"
    fields = ("request", "kind", "party", "actor", "ip", "detail", "created_at")
