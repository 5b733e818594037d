"""Admin for folders, documents, their versions and the folder permission rows.

The portal's pages go through documents.services, which hold the rules: a folder's access lives in
guardian rows that match its top-level folder's settings, every change writes an AuditEvent, and
stored files are removed only after commit. So here operators look, rename, delete and re-run
previews through those services; access and structure are changed in the portal, never by
editing rows by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from documents import locks, services
from documents.models import (
    Document,
    DocumentVersion,
    Folder,
    FolderGroupObjectPermission,
    FolderUserObjectPermission,
    PreviewStatus,
)
from documents.names import clean_name
from portal.admin import ReadOnlyAdmin, admin_actor
from portal.errors import ServiceError
from portal.outbox import outbox_add
from portal.units import human_size


class DeletedFilter(admin.SimpleListFilter):
    title = _("deleted")
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


# --- Folder -----------------------------------------------------------------------------------------


class FolderForm(forms.ModelForm):
    class Meta:
        model = Folder
        fields = ("name",)

    def clean_name(self) -> str:
        try:
            return clean_name(self.cleaned_data.get("name") or "")
        except ServiceError as error:
            raise ValidationError(error.message, code="name") from None


@admin.register(Folder)
class FolderAdmin(admin.ModelAdmin):
    form = FolderForm
    list_display = ("name", "collaboration", "parent", "customer_access", "audience", "created_at")
    list_filter = (
        "customer_access",
        "audience",
        ("collaboration__partner", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("collaboration__partner", "collaboration__customer", "parent")
    search_fields = ("name", "collaboration__partner__name", "collaboration__customer__name")
    date_hierarchy = "created_at"
    fields = (
        "name",
        "collaboration",
        "parent",
        "path",
        "customer_access",
        "audience",
        "primary_contact_manages",
        "created_by",
        "created_at",
    )
    # Access and place in the tree are set in the portal, where the permission rows follow them.
    readonly_fields = (
        "collaboration",
        "parent",
        "path",
        "customer_access",
        "audience",
        "primary_contact_manages",
        "created_by",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a folder gets its path, root and access from services.folder_create

    def save_model(self, request: HttpRequest, obj: Folder, form: forms.ModelForm, change: bool) -> None:
        if change and "name" in form.changed_data:
            services.folder_rename(
                folder=Folder.objects.get(pk=obj.pk), actor=admin_actor(request), name=obj.name
            )

    def get_deleted_objects(
        self, objs: Sequence[Folder] | QuerySet[Folder], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        deleted, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        # The documents, versions and permission rows go with the folder through the service,
        # which is why their own admins refuse deleting them one by one. A folder holding a
        # document out for signing is refused there; say so on the confirmation page, before
        # anyone presses "Yes".
        held = [
            gettext("%(folder)s holds %(document)s, which is part of a signing in progress.")
            % {"folder": folder.name, "document": name}
            for folder in objs
            for name in locks.folder_names_in_signing(folder)
        ]
        return deleted, model_count, set(), [*protected, *held]

    def delete_model(self, request: HttpRequest, obj: Folder) -> None:
        services.folder_delete(folder=obj, actor=admin_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Folder]) -> None:
        # Deepest first: deleting a parent takes its subfolders along.
        for folder in sorted(queryset, key=lambda f: -len(f.path)):
            if Folder.objects.filter(pk=folder.pk).exists():
                services.folder_delete(folder=folder, actor=admin_actor(request))


# --- Document and its versions ------------------------------------------------------------------------


class VersionInline(admin.TabularInline):
    model = DocumentVersion
    fk_name = "document"
    extra = 0
    fields = ("number", "size", "content_type", "sha256", "uploaded_by", "created_at", "deleted_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[DocumentVersion]:
        return super().get_queryset(request).select_related("uploaded_by")


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("name", "folder", "current_size", "deleted_at")
    list_filter = (DeletedFilter, "source", "uploaded_by_customer")
    list_select_related = ("folder", "current_version")
    search_fields = ("name", "folder__name")
    date_hierarchy = "created_at"
    inlines = [VersionInline]
    actions = ["delete_documents"]

    @admin.display(description=_("size"), ordering="current_version__size")
    def current_size(self, obj: Document) -> str:
        return human_size(obj.current_version.size) if obj.current_version else "–"

    # The rows are read-only here; deleting goes through the service, for those who may delete.
    def has_delete_documents_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("documents.delete_document")

    @admin.action(
        description=_("Delete the selected documents and their stored files"),
        permissions=["delete_documents"],
    )
    def delete_documents(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        try:
            deleted = services.documents_delete(
                documents=list(queryset.filter(deleted_at__isnull=True)), actor=admin_actor(request)
            )
        except ServiceError as error:  # e.g. one of them is out for signing: nothing was deleted
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(
            request,
            ngettext("%(count)d document deleted.", "%(count)d documents deleted.", deleted)
            % {"count": deleted},
            messages.SUCCESS,
        )


@admin.register(DocumentVersion)
class DocumentVersionAdmin(ReadOnlyAdmin):
    list_display = (
        "document",
        "number",
        "size",
        "content_type",
        "preview_status",
        "uploaded_by",
        "created_at",
        "deleted_at",
    )
    list_filter = ("preview_status", DeletedFilter, "content_type")
    list_select_related = ("document", "uploaded_by")
    search_fields = ("document__name", "sha256", "storage_key")
    date_hierarchy = "created_at"
    actions = ["render_previews_again"]

    def has_render_previews_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("documents.change_documentversion")

    @admin.action(
        description=_("Render the preview again (failed or pending versions)"),
        permissions=["render_previews"],
    )
    def render_previews_again(self, request: HttpRequest, queryset: QuerySet[DocumentVersion]) -> None:
        ids = list(
            queryset.filter(
                deleted_at__isnull=True, preview_status__in=(PreviewStatus.FAILED, PreviewStatus.PENDING)
            ).values_list("pk", flat=True)
        )
        with transaction.atomic():
            DocumentVersion.objects.filter(pk__in=ids).update(preview_status=PreviewStatus.PENDING)
            for pk in ids:
                outbox_add("documents.tasks.render_preview", pk)
        self.message_user(
            request,
            gettext("Previews queued: %(count)d.") % {"count": len(ids)},
            messages.SUCCESS,
        )


# --- Folder permission rows (written by services.folder_set_access) -----------------------------------


@admin.register(FolderUserObjectPermission)
class FolderUserObjectPermissionAdmin(ReadOnlyAdmin):
    list_display = ("user", "content_object", "permission")
    list_select_related = ("user", "permission__content_type", "content_object")
    list_filter = ("permission",)
    search_fields = ("user__email", "user__name", "content_object__name")


@admin.register(FolderGroupObjectPermission)
class FolderGroupObjectPermissionAdmin(ReadOnlyAdmin):
    list_display = ("group", "content_object", "permission")
    list_select_related = ("group", "permission__content_type", "content_object")
    list_filter = ("permission",)
    search_fields = ("group__name", "content_object__name")
