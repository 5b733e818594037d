"""Writes for folders and documents. Each holds its rule, runs in one transaction, writes its
AuditEvent in that transaction, and removes stored files only after commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.db.models import F, Max, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import services as billing
from customers.models import Collaboration, CustomerMembership
from customers.services import customer_all_users_group
from documents import selectors, storage
from documents.models import (
    Audience,
    CustomerAccess,
    Document,
    DocumentSource,
    DocumentVersion,
    Folder,
    FolderGroupObjectPermission,
    FolderUserObjectPermission,
)
from documents.names import clean_name
from notifications.models import Event
from notifications.services import notify
from portal.audit import audit_record
from portal.errors import ServiceError
from portal.models import User
from portal.queue import enqueue_on_commit

MAX_DEPTH = 8


def _permission(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="documents", codename=codename)


def _name_taken(
    *, collaboration: Collaboration, parent: Folder | None, name: str, exclude: int | None = None
) -> bool:
    qs = Folder.objects.filter(collaboration=collaboration, parent=parent, name__iexact=name)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


# --- Folders -------------------------------------------------------------------------------


@transaction.atomic
def folder_create(
    *,
    collaboration: Collaboration,
    actor: User,
    name: str,
    parent: Folder | None = None,
    customer_access: str = CustomerAccess.NONE,
    audience: str = Audience.ALL,
    selected_user_ids: Iterable[int] = (),
    primary_contact_manages: bool = False,
) -> Folder:
    """Create a folder. A top-level folder gets its access here; a subfolder inherits its parent's."""
    name = clean_name(name)
    if parent is not None:
        if parent.collaboration_id != collaboration.pk:
            raise ServiceError(_("The parent folder belongs to another customer."))
        if len(parent.ancestor_ids()) + 1 >= MAX_DEPTH:
            raise ServiceError(
                _("Folders can be nested at most %(depth)d levels deep.") % {"depth": MAX_DEPTH}
            )
    if _name_taken(collaboration=collaboration, parent=parent, name=name):
        raise ServiceError(_("There is already a folder named %(name)s here.") % {"name": name}, field="name")
    folder = Folder.objects.create(collaboration=collaboration, parent=parent, name=name, created_by=actor)
    folder.root = parent.root if parent is not None else folder
    folder.path = f"{parent.path if parent is not None else '/'}{folder.pk}/"
    folder.save(update_fields=["root", "path"])
    audit_record(
        actor=actor,
        action="folder.create",
        obj=folder,
        collaboration_id=collaboration.pk,
        path=_display_path(folder),
    )
    if parent is None:
        _apply_access(
            folder=folder,
            actor=actor,
            customer_access=customer_access,
            audience=audience,
            selected_user_ids=selected_user_ids,
            primary_contact_manages=primary_contact_manages,
        )
    return folder


def _display_path(folder: Folder) -> str:
    ancestors = {f.pk: f.name for f in Folder.objects.filter(pk__in=folder.ancestor_ids())}
    return " / ".join([*(ancestors.get(pk, "?") for pk in folder.ancestor_ids()), folder.name])


@transaction.atomic
def folder_rename(*, folder: Folder, actor: User, name: str) -> Folder:
    name = clean_name(name)
    if _name_taken(collaboration=folder.collaboration, parent=folder.parent, name=name, exclude=folder.pk):
        raise ServiceError(_("There is already a folder named %(name)s here.") % {"name": name}, field="name")
    old = folder.name
    folder.name = name
    folder.save(update_fields=["name"])
    audit_record(
        actor=actor,
        action="folder.rename",
        obj=folder,
        collaboration_id=folder.collaboration_id,
        old_name=old,
    )
    return folder


@transaction.atomic
def folder_move(*, folder: Folder, actor: User, new_parent: Folder | None) -> Folder:
    """Move a folder (with everything below it) under `new_parent`, or to the top level.

    Moved under another folder it takes that folder's access; moved to the top level it becomes
    internal to the firm until access is given, so a move never widens who can see files.
    """
    if new_parent is not None:
        if new_parent.collaboration_id != folder.collaboration_id:
            raise ServiceError(_("A folder can only be moved within the same customer."))
        if new_parent.path.startswith(folder.path):
            raise ServiceError(_("A folder cannot be moved into itself or one of its subfolders."))
    if (new_parent.pk if new_parent else None) == folder.parent_id:
        return folder
    if _name_taken(
        collaboration=folder.collaboration, parent=new_parent, name=folder.name, exclude=folder.pk
    ):
        raise ServiceError(_("There is already a folder named %(name)s there.") % {"name": folder.name})
    old_path = folder.path
    was_top = folder.parent_id is None
    new_path = f"{new_parent.path if new_parent else '/'}{folder.pk}/"
    new_root_id = new_parent.root_id if new_parent is not None else folder.pk
    subtree = Folder.objects.filter(path__startswith=old_path)
    for sub in subtree.only("pk", "path"):
        sub.path = new_path + sub.path[len(old_path) :]
        sub.save(update_fields=["path"])
    subtree = Folder.objects.filter(path__startswith=new_path)
    subtree.update(root_id=new_root_id)
    folder.refresh_from_db()
    folder.parent = new_parent
    folder.save(update_fields=["parent"])
    if was_top and new_parent is not None:
        # Its own grants no longer apply: the new top-level folder's do.
        FolderUserObjectPermission.objects.filter(content_object=folder).delete()
        FolderGroupObjectPermission.objects.filter(content_object=folder).delete()
        Folder.objects.filter(pk=folder.pk).update(
            customer_access=CustomerAccess.NONE, primary_contact_manages=False
        )
    if new_parent is None:
        Folder.objects.filter(pk=folder.pk).update(
            customer_access=CustomerAccess.NONE, audience=Audience.ALL, primary_contact_manages=False
        )
    folder.refresh_from_db()
    audit_record(
        actor=actor,
        action="folder.move",
        obj=folder,
        collaboration_id=folder.collaboration_id,
        to=_display_path(folder),
    )
    return folder


@transaction.atomic
def folder_delete(*, folder: Folder, actor: User) -> None:
    """Delete a folder with its subfolders and documents; stored files go after commit."""
    subtree = Folder.objects.filter(path__startswith=folder.path)
    versions = DocumentVersion.objects.filter(document__folder__in=subtree)
    keys = [k for pair in versions.values_list("storage_key", "preview_key") for k in pair if k]
    documents = Document.objects.filter(folder__in=subtree, deleted_at__isnull=True).count()
    freed = _bytes_by_partner(versions.filter(deleted_at__isnull=True))
    audit_record(
        actor=actor,
        action="folder.delete",
        obj=folder,
        collaboration_id=folder.collaboration_id,
        path=_display_path(folder),
        documents=documents,
    )
    folder.delete()
    for partner_id, nbytes in freed.items():
        billing.storage_remove(partner_id=partner_id, nbytes=nbytes)
    transaction.on_commit(lambda: storage.delete_quietly(keys))


@transaction.atomic
def folder_set_access(
    *,
    folder: Folder,
    actor: User,
    customer_access: str,
    audience: str,
    selected_user_ids: Iterable[int] = (),
    primary_contact_manages: bool = False,
) -> Folder:
    """The partner sets what the customer may do in a top-level folder and who at the customer."""
    if not folder.is_top_level:
        raise ServiceError(_("Access is set on the top-level folder; subfolders inherit it."))
    _apply_access(
        folder=folder,
        actor=actor,
        customer_access=customer_access,
        audience=audience,
        selected_user_ids=selected_user_ids,
        primary_contact_manages=primary_contact_manages,
    )
    audit_record(
        actor=actor,
        action="folder.access",
        obj=folder,
        collaboration_id=folder.collaboration_id,
        customer_access=customer_access,
        audience=audience,
        selected=sorted(set(selected_user_ids)) if audience == Audience.SELECTED else [],
        primary_contact_manages=primary_contact_manages,
    )
    return folder


@transaction.atomic
def folder_set_audience(
    *, folder: Folder, actor: User, audience: str, selected_user_ids: Iterable[int] = ()
) -> Folder:
    """The customer's primary contact changes who at the customer has the folder's access
    (the access level itself stays the partner's to set). The caller checked the right."""
    if not folder.is_top_level:
        folder = Folder.objects.get(pk=folder.path.strip("/").split("/")[0])
    _apply_access(
        folder=folder,
        actor=actor,
        customer_access=folder.customer_access,
        audience=audience,
        selected_user_ids=selected_user_ids,
        primary_contact_manages=folder.primary_contact_manages,
    )
    audit_record(
        actor=actor,
        action="folder.access",
        obj=folder,
        collaboration_id=folder.collaboration_id,
        audience=audience,
        selected=sorted(set(selected_user_ids)) if audience == Audience.SELECTED else [],
        by_primary_contact=True,
    )
    return folder


def _apply_access(
    *,
    folder: Folder,
    actor: User,
    customer_access: str,
    audience: str,
    selected_user_ids: Iterable[int],
    primary_contact_manages: bool,
) -> None:
    """Make the permission rows of a top-level folder say exactly this. Precondition: in a transaction."""
    if customer_access not in CustomerAccess.values or audience not in Audience.values:
        raise ServiceError(_("Choose the customer's access and who has it."))
    selected = set(selected_user_ids)
    customer_id = folder.collaboration.customer_id
    if audience == Audience.SELECTED and customer_access != CustomerAccess.NONE:
        members = set(
            CustomerMembership.objects.filter(customer_id=customer_id, user_id__in=selected).values_list(
                "user_id", flat=True
            )
        )
        if selected - members:
            raise ServiceError(
                _("Only users of %(customer)s can be given access.")
                % {"customer": folder.collaboration.customer.name}
            )
        if not selected:
            raise ServiceError(_("Select at least one user, or give access to all users."), field="users")
    had_access = set(selectors.folder_audience(folder, customer_only=True).values_list("pk", flat=True))
    Folder.objects.filter(pk=folder.pk).update(
        customer_access=customer_access, audience=audience, primary_contact_manages=primary_contact_manages
    )
    folder.customer_access, folder.audience = customer_access, audience
    folder.primary_contact_manages = primary_contact_manages

    FolderUserObjectPermission.objects.filter(content_object=folder).delete()
    FolderGroupObjectPermission.objects.filter(content_object=folder).delete()
    if customer_access == CustomerAccess.NONE:
        return
    codenames = ["view_folder"] + (["upload_to_folder"] if customer_access == CustomerAccess.EDIT else [])
    permissions = [_permission(code) for code in codenames]
    if audience == Audience.ALL:
        group = customer_all_users_group(customer=folder.collaboration.customer)
        FolderGroupObjectPermission.objects.bulk_create(
            [
                FolderGroupObjectPermission(content_object=folder, group=group, permission=p)
                for p in permissions
            ]
        )
    else:
        FolderUserObjectPermission.objects.bulk_create(
            [
                FolderUserObjectPermission(content_object=folder, user_id=uid, permission=p)
                for uid in selected
                for p in permissions
            ]
        )
    granted = selectors.folder_audience(folder, customer_only=True).exclude(pk__in=had_access)
    notify(
        event=Event.FOLDER_ACCESS,
        recipients=granted,
        actor=actor,
        collaboration=folder.collaboration,
        url=_customer_folder_url(folder),
        params={"folder": folder.name, "partner": folder.collaboration.partner.name},
    )


def _customer_folder_url(folder: Folder) -> str:
    """The folder's page for a customer user; a partner user who opens it is sent to the partner's."""
    return reverse("documents:customer_folder", args=[folder.collaboration_id, folder.pk])


def _notify_documents(*, event: str, folder: Folder, actor: User, names: Sequence[str]) -> None:
    """Tell everyone who can see `folder` about documents added, replaced or deleted in it. A batch
    (30 uploads one after another) gathers into one notification per person."""
    notify(
        event=event,
        recipients=selectors.folder_audience(folder),
        actor=actor,
        collaboration=folder.collaboration,
        url=_customer_folder_url(folder),
        params={"folder": folder.name},
        names=names,
        group_key=f"folder:{folder.pk}",
    )


# --- Documents -------------------------------------------------------------------------------


def document_upload(
    *,
    folder: Folder,
    actor: User,
    name: str,
    chunks: Iterable[bytes],
    by_customer: bool,
    source: str = DocumentSource.UPLOAD,
) -> DocumentVersion:
    """Store a file in `folder`. The same name in the same folder becomes a new version.

    The bytes are hashed and measured into a temporary file first, so an empty or oversized file
    is refused before anything reaches storage. If anything fails after the file is stored, the
    stored file is removed: a refused upload leaves no file and no row behind.
    """
    name = clean_name(name, max_length=255)
    spooled = storage.spool_upload(chunks)
    stored_key = ""
    try:
        # Refuse a file over the storage cap before sending it to storage; _record_version decides.
        billing.storage_check(partner_id=_partner_id(folder), nbytes=spooled.size)
        stored_key = storage.store(
            spooled, key=storage.new_storage_key(collaboration_id=folder.collaboration_id)
        )
        version = _record_version(
            folder=folder,
            actor=actor,
            name=name,
            spooled=spooled,
            key=stored_key,
            by_customer=by_customer,
            source=source,
        )
    except BaseException:
        if stored_key:
            storage.delete_quietly([stored_key])
        raise
    finally:
        spooled.close()
    return version


@transaction.atomic
def _record_version(
    *,
    folder: Folder,
    actor: User,
    name: str,
    spooled: storage.SpooledUpload,
    key: str,
    by_customer: bool,
    source: str = DocumentSource.UPLOAD,
) -> DocumentVersion:
    # Lock the folder row: two uploads of the same name at once must become versions 1 and 2.
    Folder.objects.select_for_update().filter(pk=folder.pk).first()
    document = Document.objects.filter(folder=folder, name=name, deleted_at__isnull=True).first()
    created = document is None
    now = timezone.now()
    if document is None:
        try:
            with transaction.atomic():
                document = Document.objects.create(
                    folder=folder,
                    name=name,
                    uploaded_by_customer=by_customer,
                    source=source,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            document = Document.objects.get(folder=folder, name=name, deleted_at__isnull=True)
            created = False
    number = (DocumentVersion.objects.filter(document=document).aggregate(m=Max("number"))["m"] or 0) + 1
    version = DocumentVersion.objects.create(
        document=document,
        number=number,
        storage_key=key,
        size=spooled.size,
        content_type=spooled.content_type,
        sha256=spooled.sha256,
        uploaded_by=actor,
        uploaded_by_customer=by_customer,
        created_at=now,
    )
    Document.objects.filter(pk=document.pk).update(
        current_version=version, updated_at=now, version_count=1 if created else F("version_count") + 1
    )
    document.current_version = version
    if source != DocumentSource.SIGNED:  # a sealed PDF is told about as "signing completed"
        _notify_documents(
            event=Event.DOCUMENT_ADDED if created else Event.DOCUMENT_REPLACED,
            folder=folder,
            actor=actor,
            names=[name],
        )
    # Last, as it locks the partner row until commit; refuses (rolling all of this back) at the cap.
    billing.storage_add(partner_id=_partner_id(folder), nbytes=spooled.size, actor=actor)
    audit_record(
        actor=actor,
        action="document.upload" if created else "document.version",
        obj=document,
        collaboration_id=folder.collaboration_id,
        version=number,
        size=spooled.size,
        sha256=spooled.sha256,
        content_type=spooled.content_type,
    )
    from documents import tasks

    enqueue_on_commit(tasks.render_preview, version.pk)
    return version


@transaction.atomic
def documents_delete(*, documents: Sequence[Document], actor: User) -> int:
    """Delete documents with all their versions. Rows stay as tombstones (so an old link says
    "deleted"), stored files go after commit. Returns how many were deleted."""
    now = timezone.now()
    ids = [d.pk for d in documents]
    live = list(Document.objects.select_for_update().filter(pk__in=ids, deleted_at__isnull=True))
    versions = DocumentVersion.objects.filter(document__in=live, deleted_at__isnull=True)
    keys = [k for pair in versions.values_list("storage_key", "preview_key") for k in pair if k]
    freed = _bytes_by_partner(versions)
    versions.update(deleted_at=now, deleted_by=actor)
    Document.objects.filter(pk__in=[d.pk for d in live]).update(deleted_at=now, deleted_by=actor)
    for document in live:
        audit_record(
            actor=actor, action="document.delete", obj=document, collaboration_id=_collaboration_id(document)
        )
    by_folder: dict[int, list[str]] = {}
    for document in live:
        by_folder.setdefault(document.folder_id, []).append(document.name)
    for folder in Folder.objects.filter(pk__in=by_folder).select_related("collaboration"):
        _notify_documents(
            event=Event.DOCUMENT_DELETED, folder=folder, actor=actor, names=by_folder[folder.pk]
        )
    for partner_id, nbytes in freed.items():
        billing.storage_remove(partner_id=partner_id, nbytes=nbytes)
    transaction.on_commit(lambda: storage.delete_quietly(keys))
    return len(live)


@transaction.atomic
def version_delete(*, version: DocumentVersion, actor: User) -> None:
    """Delete one older version. The current version goes with the document, not alone."""
    version = DocumentVersion.objects.select_for_update().select_related("document").get(id=version.id)
    if version.deleted_at is not None:
        raise ServiceError(_("This version has already been deleted."))
    if version.document.current_version_id == version.pk:
        raise ServiceError(
            _("The current version cannot be deleted on its own; delete the document instead.")
        )
    keys = [k for k in (version.storage_key, version.preview_key) if k]
    DocumentVersion.objects.filter(pk=version.pk).update(deleted_at=timezone.now(), deleted_by=actor)
    Document.objects.filter(pk=version.document_id).update(version_count=F("version_count") - 1)
    billing.storage_remove(partner_id=_partner_id(version.document.folder), nbytes=version.size)
    audit_record(
        actor=actor,
        action="version.delete",
        obj=version.document,
        collaboration_id=_collaboration_id(version.document),
        version=version.number,
    )
    transaction.on_commit(lambda: storage.delete_quietly(keys))


@transaction.atomic
def documents_move(*, documents: Sequence[Document], actor: User, target: Folder) -> int:
    """Move documents to another folder of the same collaboration. A name already used in the target
    refuses the whole move, so nothing moves half-way."""
    live = list(
        Document.objects.select_for_update().filter(pk__in=[d.pk for d in documents], deleted_at__isnull=True)
    )
    if any(_collaboration_id(d) != target.collaboration_id for d in live):
        raise ServiceError(_("Documents can only be moved within the same customer."))
    names = [d.name for d in live if d.folder_id != target.pk]
    clash = Document.objects.filter(folder=target, name__in=names, deleted_at__isnull=True).values_list(
        "name", flat=True
    )
    if clash:
        raise ServiceError(
            _("%(folder)s already has a document named %(name)s.")
            % {"folder": target.name, "name": sorted(clash)[0]}
        )
    moved = [d for d in live if d.folder_id != target.pk]
    Document.objects.filter(pk__in=[d.pk for d in moved]).update(folder=target, updated_at=F("updated_at"))
    for document in moved:
        audit_record(
            actor=actor,
            action="document.move",
            obj=document,
            collaboration_id=target.collaboration_id,
            to=_display_path(target),
        )
    return len(moved)


def _partner_id(folder: Folder) -> int:
    """The folder's partner, through its collaboration: loaded once per folder instance (the
    notifications of the same upload read it too), not queried on every call."""
    return folder.collaboration.partner_id


def _bytes_by_partner(versions: QuerySet[DocumentVersion]) -> dict[int, int]:
    """The live bytes of `versions` per partner, before they are deleted (one GROUP BY)."""
    rows = (
        versions.filter(deleted_at__isnull=True)
        .order_by()
        .values_list("document__folder__collaboration__partner_id")
        .annotate(total=Sum("size"))
    )
    return {partner_id: int(total or 0) for partner_id, total in rows}


def _collaboration_id(document: Document) -> int:
    return int(Folder.objects.filter(pk=document.folder_id).values_list("collaboration_id", flat=True)[0])


def record_download(*, version: DocumentVersion, actor: User, as_zip: bool = False) -> None:
    audit_record(
        actor=actor,
        action="document.download",
        obj=version.document,
        collaboration_id=version.document.folder.collaboration_id,
        version=version.number,
        zip=as_zip,
    )
