"""Admin for document requests: read-only (docrequests.services writes every row)."""

from __future__ import annotations

from django.contrib import admin

from docrequests.models import DocumentRequest, RequestTemplate
from portal.admin import ReadOnlyAdmin


@admin.register(DocumentRequest)
class DocumentRequestAdmin(ReadOnlyAdmin):
    list_display = ("title", "collaboration", "due_date", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("title", "collaboration__customer__name", "collaboration__partner__name")
    fields = (
        "collaboration",
        "folder",
        "title",
        "due_date",
        "status",
        "created_by",
        "created_at",
        "finished_at",
        "last_reminded",
    )
    list_select_related = ("collaboration__partner", "collaboration__customer")


@admin.register(RequestTemplate)
class RequestTemplateAdmin(ReadOnlyAdmin):
    list_display = ("title", "partner", "created_at")
    search_fields = ("title", "partner__name")
    fields = ("partner", "title", "items", "created_by", "created_at")
    list_select_related = ("partner",)
