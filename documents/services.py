"""Writes for folders and documents. Each holds its rule, runs in one transaction, writes its
AuditEvent in that transaction, and removes stored files only after commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.db.models import F, Max, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing import services as billing
from customers.access import may_work_with
from customers.models import Collaboration, CustomerMembership
from customers.services import all_users_group_get_or_create
from documents import locks, retention, scanning, selectors, storage
from documents.links import folder_url
from documents.models import (
    Audience,
    CustomerAccess,
    Document,
    DocumentSource,
    DocumentVersion,
    Folder,
    FolderGroupObjectPermission,
    FolderUserObjectPermission,
    RetentionKind,
    TrashEntry,
    TrashKind,
    path_ids,
)
from documents.names import clean_name, free_name, search_key
from notifications.models import Event
from notifications.services import notifications_add
from portal.audit import audit_record
from portal.errors import ServiceError
from portal.models import User
from portal.outbox import outbox_add

logger = logging.getLogger(__name__)
MAX_DEPTH = 8
MAX_DOCUMENT_NAME = 255


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
    # Its documents take the rule of the top-level folder they land under (none at the top level:
    # a folder's own rule is cleared as it moves, like its access), never a shorter one.
    retention.refuse_shortening(
        Document.objects.filter(folder__path__startswith=folder.path),
        rule=_rule_of_root(new_parent) if new_parent is not None else None,
        change="move",
    )
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
            customer_access=CustomerAccess.NONE, primary_contact_manages=False, retention_kind=""
        )
    if new_parent is None:
        Folder.objects.filter(pk=folder.pk).update(
            customer_access=CustomerAccess.NONE,
            audience=Audience.ALL,
            primary_contact_manages=False,
            retention_kind="",
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
def folder_delete(*, folder: Folder, actor: User, by_customer: bool = False) -> None:
    """Move a folder with its subfolders and documents to the customer's trash (documents.trash):
    one entry, nothing leaves storage until it is purged. Refused while a document in it is part
    of a signing in progress or under a retention rule. `by_customer`: the actor deleted as a user
    of the customer (customers may restore only those)."""
    subtree = Folder.objects.filter(path__startswith=folder.path)
    # Lock order as uploads: the folder rows (no upload adds a document now), then the documents.
    list(subtree.select_for_update().values_list("pk", flat=True))
    live_documents = Document.objects.filter(folder__in=subtree, deleted_at__isnull=True)
    list(live_documents.select_for_update().values_list("pk", flat=True))
    held = locks.names_in_signing(live_documents)
    retention.refuse_retained(live_documents)
    if held:
        raise ServiceError(
            ngettext(
                "The folder was not deleted: %(names)s in it is part of a signing in progress. It can "
                "be deleted once the signing is finished or cancelled.",
                "The folder was not deleted: %(names)s in it are part of a signing in progress. It "
                "can be deleted once the signing is finished or cancelled.",
                len(held),
            )
            % {"names": ", ".join(held)}
        )
    now = timezone.now()
    versions = DocumentVersion.objects.filter(document__in=live_documents, deleted_at__isnull=True)
    documents = live_documents.count()
    entry = TrashEntry.objects.create(
        collaboration_id=folder.collaboration_id,
        kind=TrashKind.FOLDER,
        folder=folder,
        name=folder.name,
        location=_display_path(folder.parent) if folder.parent is not None else "",
        size=_stored_size(versions),
        deleted_at=now,
        deleted_by=actor,
        by_customer=by_customer,
    )
    # Versions, then documents, then folders: each query finds its rows through the ones still live.
    versions.update(deleted_at=now, deleted_by=actor, trash=entry)
    live_documents.update(deleted_at=now, deleted_by=actor, trash=entry)
    subtree.update(deleted_at=now, deleted_by=actor, trash=entry)
    audit_record(
        actor=actor,
        action="folder.delete",
        obj=folder,
        collaboration_id=folder.collaboration_id,
        path=_display_path(folder),
        documents=documents,
    )


def _stored_size(versions: QuerySet[DocumentVersion]) -> int:
    """The bytes `versions` still hold in storage (the not purged ones)."""
    return int(versions.filter(purged_at__isnull=True).aggregate(total=Sum("size"))["total"] or 0)


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
        folder = Folder.objects.get(pk=path_ids(folder.path)[0])
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
        group = all_users_group_get_or_create(customer=folder.collaboration.customer)
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
    notifications_add(
        event=Event.FOLDER_ACCESS,
        recipients=granted,
        actor=actor,
        collaboration=folder.collaboration,
        url=folder_url(folder, "customer"),
        params={"folder": folder.name, "partner": folder.collaboration.partner.name},
    )


def _notify_documents(*, event: str, folder: Folder, actor: User, names: Sequence[str]) -> None:
    """Tell everyone who can see `folder` about documents added, replaced or deleted in it. A batch
    (30 uploads one after another) gathers into one notification per person."""
    notifications_add(
        event=event,
        recipients=selectors.folder_audience(folder),
        actor=actor,
        collaboration=folder.collaboration,
        url=folder_url(folder, "customer"),
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
    """Store a file in `folder`. The same name in the same folder becomes a new version, except
    where that would replace what its uploader may not (see _version_target): the document of the
    returned version may then have another name than `name`, or the upload is refused.

    The bytes go once, as they arrive, into storage under a new key, hashed and measured on the way
    (storage.receive) and scanned for viruses alongside (see _virus_check); the file becomes
    visible there only once it passed: an empty, oversized or infected file, or one over the
    storage cap, is refused before that. If anything fails after, the stored file is removed: a
    refused upload leaves no file and no row behind. Call it outside a transaction, so the audit
    row of a virus survives.
    """
    name = clean_name(name, max_length=MAX_DOCUMENT_NAME)
    key = storage.new_storage_key(collaboration_id=folder.collaboration_id)
    # A sealed PDF is the portal's own output from files that were scanned on their way in.
    scan = scanning.StreamScan() if source == DocumentSource.UPLOAD and scanning.scanning_enabled() else None
    try:
        with storage.receive(chunks, key=key, tee=scan.feed if scan else None) as upload:
            if scan is not None:
                _virus_check(scan=scan, upload=upload, folder=folder, actor=actor, name=name)
            # Refuse a file over the storage cap before it appears in storage; _record_version decides.
            billing.storage_check(partner_id=_partner_id(folder), nbytes=upload.size)
            return _record_version(
                folder=folder,
                actor=actor,
                name=name,
                upload=upload,
                key=upload.commit(),
                by_customer=by_customer,
                source=source,
            )
    finally:
        if scan is not None:
            scan.close()


def _virus_check(
    *, scan: scanning.StreamScan, upload: storage.PendingUpload, folder: Folder, actor: User, name: str
) -> None:
    """With PORTAL_CLAMD_SOCKET set, refuse an infected file, and any file while clamd cannot give a
    verdict (unless PORTAL_CLAMD_FAIL_OPEN). Runs before the file is visible in storage and before
    rows or the quota are touched; the audit row of an infected file is written before the
    upload's transaction begins, so that transaction's rollback does not take it."""
    try:
        result = scan.verdict()
    except scanning.ScannerUnavailable as error:
        if settings.CLAMD_FAIL_OPEN:
            logger.warning("storing %s unscanned (PORTAL_CLAMD_FAIL_OPEN): %s", name, error)
            return
        logger.error("upload of %s refused, no virus scan: %s", name, error)
        raise ServiceError(
            _("The file could not be checked for viruses, so it was not stored. Please try again later.")
        ) from error
    if result.infected:
        audit_record(
            actor=actor,
            action="document.virus_refused",
            obj=folder,
            collaboration_id=folder.collaboration_id,
            name=name,
            signature=result.signature,
            size=upload.size,
            sha256=upload.sha256,
        )
        raise ServiceError(
            _("%(name)s contains a virus (%(signature)s) and was not stored.")
            % {"name": name, "signature": result.signature}
        )


@transaction.atomic
def _record_version(
    *,
    folder: Folder,
    actor: User,
    name: str,
    upload: storage.PendingUpload,
    key: str,
    by_customer: bool,
    source: str = DocumentSource.UPLOAD,
) -> DocumentVersion:
    # Lock order: the folder row, then the document row, then (last, in billing) the partner row.
    # The folder lock makes two uploads of the same name at once versions 1 and 2 (or two names);
    # the document lock makes the decision below see a signing sent, or a delete done, at the same
    # moment, since those lock the document row too.
    if Folder.objects.select_for_update().filter(pk=folder.pk).first() is None:
        raise ServiceError(_("The folder has been deleted."))
    requested = name
    name, document = _version_target(folder=folder, name=name, by_customer=by_customer, source=source)
    created = document is None
    now = timezone.now()
    if document is None:
        try:
            with transaction.atomic():
                document = Document.objects.create(
                    folder=folder,
                    name=name,
                    search_name=search_key(name),
                    uploaded_by_customer=by_customer,
                    source=source,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            # Every way a name arrives in a folder holds the folder lock (documents_move too), so
            # this is a safety net: never make the file a version of a document nobody checked.
            raise ServiceError(
                _("A document named %(name)s was added at the same moment. Upload the file again.")
                % {"name": name}
            ) from None
    version = _next_version(
        document=document, actor=actor, upload=upload, key=key, by_customer=by_customer, now=now
    )
    changes: dict[str, Any] = {
        "current_version": version,
        "updated_at": now,
        "version_count": 1 if created else F("version_count") + 1,
    }
    if not by_customer and document.uploaded_by_customer:
        # The firm's file on top makes the document the firm's: the customer can no longer delete
        # it (and the firm's version with it) nor stack versions on it.
        changes["uploaded_by_customer"] = False
        document.uploaded_by_customer = False
    Document.objects.filter(pk=document.pk).update(**changes)
    document.current_version = version
    if source != DocumentSource.SIGNED:  # a sealed PDF is told about as "signing completed"
        _notify_documents(
            event=Event.DOCUMENT_ADDED if created else Event.DOCUMENT_REPLACED,
            folder=folder,
            actor=actor,
            names=[name],
        )
    _count_version(
        folder=folder,
        actor=actor,
        version=version,
        action="document.upload" if created else "document.version",
        **({"requested_name": requested} if name != requested else {}),
    )
    return version


def _next_version(
    *,
    document: Document,
    actor: User,
    upload: storage.PendingUpload,
    key: str,
    by_customer: bool,
    now: datetime,
) -> DocumentVersion:
    """The row of the document's next version, for a file stored under `key`. Precondition: the
    document row is locked."""
    number = (DocumentVersion.objects.filter(document=document).aggregate(m=Max("number"))["m"] or 0) + 1
    return DocumentVersion.objects.create(
        document=document,
        number=number,
        storage_key=key,
        size=upload.size,
        content_type=upload.content_type,
        sha256=upload.sha256,
        uploaded_by=actor,
        uploaded_by_customer=by_customer,
        created_at=now,
    )


def _count_version(
    *, folder: Folder, actor: User, version: DocumentVersion, action: str, **detail: Any
) -> None:
    """Count a new version's bytes, audit it and render its preview after commit."""
    # Last, as it locks the partner row until commit; refuses (rolling all of this back) at the cap.
    billing.storage_add(partner_id=_partner_id(folder), nbytes=version.size, actor=actor)
    audit_record(
        actor=actor,
        action=action,
        obj=version.document,
        collaboration_id=folder.collaboration_id,
        version=version.number,
        size=version.size,
        sha256=version.sha256,
        content_type=version.content_type,
        **detail,
    )
    outbox_add("documents.tasks.render_preview", version.pk)


def version_add_copy(*, document: Document, actor: User, data: bytes, reason: str) -> DocumentVersion:
    """Store `data`, which the portal made from the document's current version (signing's copy of
    a PDF prepared for signing: signing.prepare), as the document's new current version.

    Precondition: inside the caller's transaction, which holds the document's row lock (a signing's
    send, through locks.lock_documents): the upload rules about names, holds and viruses are the
    caller's, as the bytes come from a file that passed them. The storage cap refuses it (nothing
    stored then); any failure in here removes the stored file. Once it returns, a rollback of the
    caller's transaction is the caller's to clean up (delete the version's storage_key).
    """
    folder = Folder.objects.select_related("collaboration").get(pk=document.folder_id)
    key = storage.new_storage_key(collaboration_id=folder.collaboration_id)
    with storage.receive([data], key=key, max_bytes=max(len(data), 1)) as upload:
        billing.storage_check(partner_id=_partner_id(folder), nbytes=upload.size)
        stored_key = upload.commit()
        with transaction.atomic():
            now = timezone.now()
            version = _next_version(
                document=document, actor=actor, upload=upload, key=stored_key, by_customer=False, now=now
            )
            Document.objects.filter(pk=document.pk).update(
                current_version=version, updated_at=now, version_count=F("version_count") + 1
            )
            document.current_version = version
            _count_version(
                folder=folder, actor=actor, version=version, action="document.version", reason=reason
            )
    return version


def _version_target(
    *, folder: Folder, name: str, by_customer: bool, source: str
) -> tuple[str, Document | None]:
    """The name the file is stored under and the document it becomes a new version of (None: a
    new document). Precondition: the folder row is locked; this locks the document row.

    A customer's file never becomes a version of a document the customer may not delete (the
    firm's) nor of one held by a signing: it is stored beside it under the next free name, as
    "Årsredovisning (2).pdf", and nothing of the firm's changes. A sealed PDF is always a document
    of its own. The firm's file onto a held document is refused: it would change what the parties
    are signing, or what was sealed.
    """
    document = (
        Document.objects.select_for_update().filter(folder=folder, name=name, deleted_at__isnull=True).first()
    )
    if document is None:
        return name, None
    if source == DocumentSource.SIGNED:
        return _free_name(folder=folder, name=name), None
    hold = locks.document_lock(document)
    if by_customer and (hold is not None or not document.uploaded_by_customer):
        return _free_name(folder=folder, name=name), None
    if hold == locks.PENDING:
        raise ServiceError(
            _(
                "%(name)s is out for signing: it cannot get a new version until the signing is "
                "finished or cancelled. Upload the file under another name."
            )
            % {"name": name}
        )
    if hold is not None:
        raise ServiceError(
            _(
                "%(name)s is a sealed signed document: it cannot get a new version. Upload the "
                "file under another name."
            )
            % {"name": name}
        )
    return name, document


def _free_name(*, folder: Folder, name: str) -> str:
    """The first of "stem (2).ext", "stem (3).ext", ... that no live document in `folder` has,
    within the 255 characters of a name. Precondition: the folder row is locked."""
    live = Document.objects.filter(folder=folder, deleted_at__isnull=True)
    return free_name(
        name,
        taken=lambda candidates: set(live.filter(name__in=candidates).values_list("name", flat=True)),
        max_length=MAX_DOCUMENT_NAME,
        extension=True,
    )


@transaction.atomic
def documents_delete(*, documents: Sequence[Document], actor: User, by_customer: bool = False) -> int:
    """Move documents with their versions to the customer's trash (documents.trash), one entry per
    document; nothing leaves storage until it is purged. `by_customer`: the actor deleted as a user
    of the customer. Returns how many were deleted."""
    now = timezone.now()
    ids = [d.pk for d in documents]
    live = list(
        Document.objects.select_for_update()
        .filter(pk__in=ids, deleted_at__isnull=True)
        .select_related("folder__collaboration")
    )
    # The rows are locked above, as a signing's send locks them: the answer holds until commit.
    held = locks.names_in_signing(Document.objects.filter(pk__in=[d.pk for d in live]))
    retention.refuse_retained(Document.objects.filter(pk__in=[d.pk for d in live]))
    if held:
        raise ServiceError(
            ngettext(
                "Nothing was deleted: %(names)s is part of a signing in progress. It can be deleted "
                "once the signing is finished or cancelled.",
                "Nothing was deleted: %(names)s are part of a signing in progress. They can be "
                "deleted once the signing is finished or cancelled.",
                len(held),
            )
            % {"names": ", ".join(held)}
        )
    versions = DocumentVersion.objects.filter(document__in=[d.pk for d in live], deleted_at__isnull=True)
    sizes = dict(
        versions.filter(purged_at__isnull=True)
        .order_by()
        .values_list("document_id")
        .annotate(total=Sum("size"))
    )
    paths = {d.folder_id: _display_path(d.folder) for d in live}
    entries = TrashEntry.objects.bulk_create(
        TrashEntry(
            collaboration_id=d.folder.collaboration_id,
            kind=TrashKind.DOCUMENT,
            document=d,
            name=d.name,
            location=paths[d.folder_id],
            size=int(sizes.get(d.pk) or 0),
            deleted_at=now,
            deleted_by=actor,
            by_customer=by_customer,
        )
        for d in live
    )
    for document, entry in zip(live, entries, strict=True):
        document.deleted_at, document.deleted_by, document.trash = now, actor, entry
    Document.objects.bulk_update(live, ["deleted_at", "deleted_by", "trash"])
    # Each version goes into its document's entry (set just above).
    versions.update(
        deleted_at=now,
        deleted_by=actor,
        trash_id=Subquery(Document.objects.filter(pk=OuterRef("document_id")).values("trash_id")[:1]),
    )
    for document in live:
        audit_record(
            actor=actor,
            action="document.delete",
            obj=document,
            collaboration_id=document.folder.collaboration_id,
        )
    by_folder: dict[int, list[str]] = {}
    for document in live:
        by_folder.setdefault(document.folder_id, []).append(document.name)
    for folder in Folder.objects.filter(pk__in=by_folder).select_related("collaboration"):
        _notify_documents(
            event=Event.DOCUMENT_DELETED, folder=folder, actor=actor, names=by_folder[folder.pk]
        )
    return len(live)


@transaction.atomic
def version_delete(*, version: DocumentVersion, actor: User) -> None:
    """Move one older version to the customer's trash. The current version goes with the document,
    not alone. Only the partner deletes versions."""
    # The document row first, as every other writer of a document's versions locks it.
    Document.objects.select_for_update().filter(pk=version.document_id).first()
    version = (
        DocumentVersion.objects.select_for_update().select_related("document__folder").get(id=version.id)
    )
    if version.deleted_at is not None:
        raise ServiceError(_("This version has already been deleted."))
    if locks.document_lock(version.document_id) == locks.PENDING:
        raise ServiceError(
            _(
                "The versions of %(name)s cannot be deleted while it is part of a signing in progress "
                "(it may be the version being signed)."
            )
            % {"name": version.document.name}
        )
    if version.document.current_version_id == version.pk:
        raise ServiceError(
            _("The current version cannot be deleted on its own; delete the document instead.")
        )
    until = retention.version_until(version)
    if until is not None and retention.is_retained(until):
        raise ServiceError(
            _("This version is under a retention rule and must be kept until %(date)s has passed.")
            % {"date": retention.day_label(until)}
        )
    now = timezone.now()
    document = version.document
    entry = TrashEntry.objects.create(
        collaboration_id=document.folder.collaboration_id,
        kind=TrashKind.VERSION,
        document=document,
        version=version,
        name=document.name,
        location=_display_path(document.folder),
        size=0 if version.purged_at else version.size,
        deleted_at=now,
        deleted_by=actor,
    )
    DocumentVersion.objects.filter(pk=version.pk).update(deleted_at=now, deleted_by=actor, trash=entry)
    Document.objects.filter(pk=version.document_id).update(version_count=F("version_count") - 1)
    audit_record(
        actor=actor,
        action="version.delete",
        obj=document,
        collaboration_id=document.folder.collaboration_id,
        version=version.number,
    )


@transaction.atomic
def documents_move(*, documents: Sequence[Document], actor: User, target: Folder) -> int:
    """Move documents to another folder of the same collaboration. A name already used in the target
    refuses the whole move, so nothing moves half-way."""
    # The target's folder row first, as uploads take it: a name checked here stays free.
    Folder.objects.select_for_update().filter(pk=target.pk).first()
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
    retention.refuse_shortening(
        Document.objects.filter(pk__in=[d.pk for d in moved]), rule=_rule_of_root(target), change="move"
    )
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


def _collaboration_id(document: Document) -> int:
    return int(Folder.objects.filter(pk=document.folder_id).values_list("collaboration_id", flat=True)[0])


def download_record(*, version: DocumentVersion, actor: User, as_zip: bool = False) -> None:
    audit_record(
        actor=actor,
        action="document.download",
        obj=version.document,
        collaboration_id=version.document.folder.collaboration_id,
        version=version.number,
        zip=as_zip,
    )


# --- Retention ------------------------------------------------------------------------------


def _rule_of_root(folder: Folder) -> retention.Rule | None:
    """The retention rule that covers `folder`: its top-level folder's, as stored now (the
    caller's instance may be older than the rule)."""
    root = Folder.all_objects.get(pk=retention.root_id(folder))
    return retention.Rule.of(root)


def _rule_detail(rule: retention.Rule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {"kind": rule.kind, "years": rule.years, "fiscal_end_month": rule.fiscal_end_month}


@transaction.atomic
def folder_set_retention(
    *, folder: Folder, actor: User, kind: str, years: int, fiscal_end_month: int
) -> Folder:
    """An account administrator of the partner sets the minimum retention of a top-level folder
    (`kind` "" removes it). Setting or lengthening a rule always works; shortening or removing it
    is refused while a document under it, live or in the trash, would lose retention it has today.
    """
    # Locked: a second change waits, and sees the rule this one leaves.
    folder = Folder.objects.select_for_update().select_related("collaboration").get(pk=folder.pk)
    org = may_work_with(actor, folder.collaboration)
    if org is None or not org.is_admin:
        raise ServiceError(_("Only an account administrator of the firm can set a retention rule."))
    if not folder.is_top_level:
        raise ServiceError(_("Retention is set on the top-level folder; subfolders follow its rule."))
    if kind not in RetentionKind.values:
        raise ServiceError(_("Choose how long documents are kept."), field="kind")
    if not 1 <= years <= 30:
        raise ServiceError(_("Choose between 1 and 30 years."), field="years")
    if not 1 <= fiscal_end_month <= 12:
        raise ServiceError(_("Choose the month the fiscal year ends in."), field="fiscal_end_month")
    old = retention.Rule.of(folder)
    new = retention.Rule(kind, years, fiscal_end_month) if kind else None
    retention.refuse_shortening(Document.objects.filter(folder__root_id=folder.pk), rule=new, change="rule")
    folder.retention_kind = kind
    folder.retention_years = years
    folder.retention_fiscal_end_month = fiscal_end_month
    folder.save(update_fields=["retention_kind", "retention_years", "retention_fiscal_end_month"])
    audit_record(
        actor=actor,
        action="folder.retention",
        obj=folder,
        collaboration_id=folder.collaboration_id,
        old=_rule_detail(old),
        new=_rule_detail(new),
    )
    return folder
