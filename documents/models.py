"""Folders, documents and their versions, folder permissions and the trash."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from customers.models import Collaboration


class CustomerAccess(models.TextChoices):
    NONE = "none", _("None (internal to the firm)")
    READ = "read", _("Read")
    EDIT = "edit", _("Read and upload")


class Audience(models.TextChoices):
    ALL = "all", _("All users at the customer")
    SELECTED = "selected", _("Selected users")


class RetentionKind(models.TextChoices):
    NONE = "", _("No retention")
    FISCAL = "fiscal", _("Years from the end of the fiscal year of the upload")
    UPLOAD = "upload", _("Years from the upload")


class LiveFolderManager(models.Manager["Folder"]):
    """Folders not in the trash. The default manager, so every page, tree and count skips a trashed
    folder without saying so; `Folder.all_objects` sees them too (the trash, restore and purge).
    Following a foreign key to a folder (document.folder) uses the base manager and always works."""

    def get_queryset(self) -> models.QuerySet[Folder]:
        return super().get_queryset().filter(deleted_at__isnull=True)


def path_ids(path: str) -> list[int]:
    """The folder ids of a materialised path ("/12/45/" -> [12, 45]), top-level folder first."""
    return [int(part) for part in path.strip("/").split("/") if part]


class Folder(models.Model):
    """A folder of a collaboration. Access is set on the top-level folder (`root`) and inherited
    by everything below it; `root` points at the folder itself for a top-level folder."""

    collaboration = models.ForeignKey(Collaboration, on_delete=models.CASCADE, related_name="folders")
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    root = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # Materialised path of ids, "/12/45/", for subtree queries (delete, move, counts).
    path = models.CharField(max_length=500, db_index=True, editable=False, default="")
    name = models.CharField(_("name"), max_length=200)
    customer_access = models.CharField(
        _("customer access"), max_length=10, choices=CustomerAccess.choices, default=CustomerAccess.NONE
    )
    audience = models.CharField(
        _("who at the customer"), max_length=10, choices=Audience.choices, default=Audience.ALL
    )
    primary_contact_manages = models.BooleanField(
        _("the primary contact manages access"),
        default=False,
        help_text=_("The customer's primary contact may change who at the customer sees the folder."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Minimum retention, set on a top-level folder by a partner administrator (documents.retention
    # works out the date): nobody deletes or purges a document under it before that day has passed.
    retention_kind = models.CharField(
        _("retention"), max_length=10, choices=RetentionKind.choices, default=RetentionKind.NONE, blank=True
    )
    retention_years = models.PositiveSmallIntegerField(_("years"), default=7)
    # The month the customer's fiscal year ends in (12: the calendar year), for RetentionKind.FISCAL.
    retention_fiscal_end_month = models.PositiveSmallIntegerField(_("fiscal year ends in"), default=12)
    # In the trash (documents.trash): deleted_at set, and `trash` the entry that put it there. A
    # purged folder keeps deleted_at with no entry: its row stays, like a deleted document's.
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    trash = models.ForeignKey(
        "TrashEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="folders"
    )

    objects = LiveFolderManager()
    all_objects = models.Manager()  # noqa: DJ012 (a manager, which ruff takes for a field)

    class Meta:
        verbose_name = _("folder")
        verbose_name_plural = _("folders")
        ordering = ["name"]
        base_manager_name = "all_objects"
        constraints = [
            # What a document's (folder, collaboration) refers to on PostgreSQL (Document.collaboration).
            models.UniqueConstraint(fields=["id", "collaboration"], name="folder_id_collaboration_unique"),
            models.UniqueConstraint(
                fields=["collaboration", "name"],
                condition=models.Q(parent__isnull=True, deleted_at__isnull=True),
                name="folder_top_name_live_unique",
            ),
            models.UniqueConstraint(
                fields=["parent", "name"],
                condition=models.Q(parent__isnull=False, deleted_at__isnull=True),
                name="folder_sub_name_live_unique",
            ),
        ]
        indexes = [models.Index(fields=["collaboration", "parent"])]
        permissions = [
            ("upload_to_folder", "Can upload to the folder"),
            ("manage_folder_access", "Can change who at the customer has access to the folder"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_top_level(self) -> bool:
        return self.parent_id is None

    def ancestor_ids(self) -> list[int]:
        """Ids from the top-level folder down to this one's parent."""
        return path_ids(self.path)[:-1]


class FolderUserObjectPermission(UserObjectPermissionBase):
    """A selected customer user's right on a top-level folder (guardian, direct foreign key)."""

    content_object = models.ForeignKey(Folder, on_delete=models.CASCADE)


class FolderGroupObjectPermission(GroupObjectPermissionBase):
    """ "All users at the customer": one row for the customer's all-users group."""

    content_object = models.ForeignKey(Folder, on_delete=models.CASCADE)


class DocumentSource(models.TextChoices):
    UPLOAD = "upload", _("Uploaded")
    SIGNED = "signed", _("Signed")


class Document(models.Model):
    """A named file in a folder; its content is the current DocumentVersion."""

    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="documents")
    # The folder's collaboration, set when the document is made (save() below) and never changed:
    # neither a folder nor a document moves to another collaboration (documents.services refuses
    # it), and on PostgreSQL a foreign key of (folder, collaboration) to the folder's own pair
    # refuses any other value (migration 0006). The search across a firm's customers filters on it
    # instead of joining every folder of the firm (issue 16). Deleted with its folder, which a
    # collaboration takes with it, hence no action of its own and no index.
    collaboration = models.ForeignKey(
        Collaboration, on_delete=models.DO_NOTHING, related_name="+", editable=False, db_index=False
    )
    name = models.CharField(_("name"), max_length=255)
    # The name as search matches it (documents.names.search_key: lowercase, no accents), set by the
    # services with the name. On PostgreSQL a trigram GIN index (migration 0003, created there only)
    # makes `search_name__contains` fast at any part of the name.
    search_name = models.TextField(default="", editable=False)
    current_version = models.ForeignKey(
        "DocumentVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Customers may delete what customers uploaded, never the firm's files.
    uploaded_by_customer = models.BooleanField(default=False)
    # Live versions, kept by the services: the file list reads it instead of counting per row.
    version_count = models.PositiveIntegerField(default=1)
    source = models.CharField(max_length=10, choices=DocumentSource.choices, default=DocumentSource.UPLOAD)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    # Deleted: in the trash while `trash` is set, purged (a tombstone, so an old link says
    # "deleted") once it is not.
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    trash = models.ForeignKey(
        "TrashEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="documents"
    )

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["folder", "name"],
                condition=models.Q(deleted_at__isnull=True),
                name="document_name_unique",
            )
        ]
        indexes = [models.Index(fields=["folder", "deleted_at", "name"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.collaboration_id is None:
            self.collaboration_id = self.folder.collaboration_id
        super().save(*args, **kwargs)


class PreviewStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    READY = "ready", _("Ready")
    NONE = "none", _("No preview")
    FAILED = "failed", _("Failed")


class DocumentVersion(models.Model):
    """One stored file. The storage key is made by the server, never from the user's filename."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    storage_key = models.CharField(max_length=255, unique=True)
    size = models.BigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=100)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_by_customer = models.BooleanField(default=False)
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    preview_key = models.CharField(max_length=255, blank=True)
    preview_status = models.CharField(
        max_length=10, choices=PreviewStatus.choices, default=PreviewStatus.PENDING
    )
    # Deleted: in the trash (still stored, still counted) while `trash` is set; purged_at is when
    # the file left storage and stopped counting (billing sums the versions without it).
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    trash = models.ForeignKey(
        "TrashEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="versions"
    )
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("document version")
        verbose_name_plural = _("document versions")
        ordering = ["document", "-number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="version_number_unique")]

    def __str__(self) -> str:
        return f"{self.document.name} v{self.number}"

    @property
    def is_pdf(self) -> bool:
        return self.content_type == "application/pdf"


class TrashKind(models.TextChoices):
    FOLDER = "folder", _("Folder")
    DOCUMENT = "document", _("Document")
    VERSION = "version", _("Version")


class TrashEntry(models.Model):
    """One deletion, as the customer's trash lists it: a folder (with everything in it), a document
    (with its versions) or one older version. The rows it deleted point at it (`trash`), so restoring
    or purging it touches exactly those; it goes when they are restored or purged."""

    collaboration = models.ForeignKey(Collaboration, on_delete=models.CASCADE, related_name="trash")
    kind = models.CharField(max_length=10, choices=TrashKind.choices)
    # What was deleted: the folder, the document, or the version (with its document).
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    version = models.ForeignKey(
        DocumentVersion, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("name"), max_length=255)
    # Where it was, as the folder path read then ("Bokslut 2025 / Underlag").
    location = models.CharField(_("location"), max_length=1000, blank=True)
    size = models.BigIntegerField(_("size"), default=0)  # the stored bytes it holds
    deleted_at = models.DateTimeField(_("deleted"), default=timezone.now)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Deleted by a user of the customer: customers may restore only these.
    by_customer = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("trash entry")
        verbose_name_plural = _("trash entries")
        ordering = ["-deleted_at", "-pk"]
        indexes = [
            models.Index(fields=["collaboration", "-deleted_at"]),
            models.Index(fields=["deleted_at"]),
        ]

    def __str__(self) -> str:
        return self.name
