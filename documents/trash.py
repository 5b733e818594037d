"""The trash: deleted folders, documents and versions wait here (still stored, still counted)
until restored or purged. Purging is the one place a document's file leaves storage.

`purge_versions` is the primitive every purge goes through (the trash's own purge, ending a
collaboration): the rows first, with the storage counter in the same transaction, and the files
only after commit, so a failure leaves an orphan file, never a row without its file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import services as billing
from customers.models import Collaboration
from documents import retention, storage
from documents.models import Document, DocumentVersion, Folder, TrashEntry, TrashKind
from documents.names import MAX_NAME, free_name, search_key
from partners.models import Partner
from portal.audit import audit_record
from portal.errors import ServiceError
from portal.models import User

PARTNER = "document__folder__collaboration__partner_id"


def purge_versions(versions: QuerySet[DocumentVersion]) -> int:
    """Purge the stored versions of `versions` (those not purged yet): mark them purged, count
    their bytes off their partners, and remove their files after commit. Returns how many.

    Precondition: inside a transaction that holds the row locks of the versions' documents, so a
    second purge of the same rows (a redelivered task, two beats) finds them purged and does
    nothing.
    """
    pending = versions.filter(purged_at__isnull=True)
    rows = list(pending.values_list("pk", "storage_key", "preview_key"))
    if not rows:
        return 0
    by_partner = (
        DocumentVersion.objects.filter(pk__in=[pk for pk, _key, _preview in rows])
        .order_by()
        .values_list(PARTNER)
        .annotate(total=Sum("size"))
    )
    freed = {partner_id: int(total or 0) for partner_id, total in by_partner}
    DocumentVersion.objects.filter(pk__in=[pk for pk, _key, _preview in rows]).update(
        purged_at=timezone.now(), trash=None
    )
    for partner_id, nbytes in sorted(freed.items()):
        billing.storage_remove(partner_id=partner_id, nbytes=nbytes)
    keys = [key for _pk, key, preview in rows for key in (key, preview) if key]
    transaction.on_commit(lambda: storage.delete_quietly(keys))
    return len(rows)


def purge_day(entry: TrashEntry) -> dt.date:
    """The day the beat purges `entry` for good (unless a retention rule still holds it)."""
    return timezone.localdate(entry.deleted_at + dt.timedelta(days=settings.PORTAL_TRASH_DAYS))


# --- Restore --------------------------------------------------------------------------------


@transaction.atomic
def trash_restore(*, entry: TrashEntry, actor: User) -> TrashEntry:
    """Put back what `entry` deleted, where it was. A folder in the way (an ancestor of something
    restored, in the trash or purged) comes back too, leaving its own entry; a name taken meanwhile
    gets the next free one ("name (2).pdf"). The caller has checked that `actor` may restore it
    (documents.access). Returns the entry, deleted."""
    locked = TrashEntry.objects.select_for_update().filter(pk=entry.pk).first()
    if locked is None:
        raise ServiceError(_("This is no longer in the trash: it was restored or purged."))
    entry = locked
    if entry.kind == TrashKind.VERSION:
        document = Document.objects.get(pk=_id(entry.document_id))
        if document.deleted_at is not None:
            message = _("The document of this version is deleted: restore %(name)s first.")
            raise ServiceError(message % {"name": document.name})
    # Where the restored rows go: their folders' paths must be live. A trashed document's folder
    # does not change (only live documents move), so reading it before the locks is safe.
    folder_ids = set(
        Document.objects.filter(Q(trash=entry) | Q(pk=entry.document_id)).values_list("folder_id", flat=True)
    )
    folder_ids |= set(Folder.all_objects.filter(trash=entry).values_list("pk", flat=True))
    path_ids = {pk for f in Folder.all_objects.filter(pk__in=folder_ids) for pk in (*f.ancestor_ids(), f.pk)}
    # Lock order as the other writers: the folder rows, then the documents.
    folders = list(
        Folder.all_objects.select_for_update().filter(Q(pk__in=path_ids) | Q(trash=entry)).order_by("pk")
    )
    documents = list(Document.objects.select_for_update().filter(Q(trash=entry) | Q(pk=entry.document_id)))
    touched_entries = {f.trash_id for f in folders if f.trash_id is not None and f.trash_id != entry.pk}
    # Top-down, so that each name is checked among live siblings.
    for folder in sorted((f for f in folders if f.deleted_at is not None), key=lambda f: f.path.count("/")):
        _restore_folder(folder)
    _restore_documents([d for d in documents if d.trash_id == entry.pk])
    DocumentVersion.objects.filter(trash=entry).update(deleted_at=None, deleted_by=None, trash=None)
    _recount_versions([d.pk for d in documents])
    audit_record(
        actor=actor,
        action="trash.restore",
        obj=entry.document if entry.kind != TrashKind.FOLDER else entry.folder,
        collaboration_id=entry.collaboration_id,
        kind=entry.kind,
        name=entry.name,
    )
    entry.delete()
    _drop_empty_entries(touched_entries)
    return entry


def _id(pk: int | None) -> int:
    assert pk is not None, "an entry of this kind always names its row"
    return pk


def _restore_folder(folder: Folder) -> None:
    """One trashed folder back to life, under the next free name ("name (2)") when its own is taken
    meanwhile: folder names are unique among siblings regardless of case."""
    siblings = Folder.objects.filter(collaboration_id=folder.collaboration_id, parent_id=folder.parent_id)
    taken = {n.lower() for n in siblings.values_list("name", flat=True)}
    name = folder.name
    if name.lower() in taken:
        name = free_name(
            name,
            taken=lambda candidates: {c for c in candidates if c.lower() in taken},
            max_length=MAX_NAME,
            extension=False,
        )
    Folder.all_objects.filter(pk=folder.pk).update(deleted_at=None, deleted_by=None, trash=None, name=name)


def _restore_documents(documents: list[Document]) -> None:
    from documents.services import _free_name  # services imports this module

    live_names = set(
        Document.objects.filter(
            folder_id__in={d.folder_id for d in documents}, deleted_at__isnull=True
        ).values_list("folder_id", "name")
    )
    for document in documents:
        name = document.name
        if (document.folder_id, name) in live_names:
            name = _free_name(folder=document.folder, name=name)
        live_names.add((document.folder_id, name))
        Document.objects.filter(pk=document.pk).update(
            deleted_at=None, deleted_by=None, trash=None, name=name, search_name=search_key(name)
        )


def _recount_versions(document_ids: Iterable[int]) -> None:
    live = (
        DocumentVersion.objects.filter(document=OuterRef("pk"), deleted_at__isnull=True)
        .order_by()
        .values("document")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Document.objects.filter(pk__in=list(document_ids)).update(
        version_count=Coalesce(Subquery(live), Value(0))
    )


def _drop_empty_entries(entry_ids: Iterable[int]) -> None:
    """Entries whose every row has come back (as folders of a restored path) have nothing left."""
    TrashEntry.objects.filter(pk__in=list(entry_ids)).exclude(
        Q(folders__isnull=False) | Q(documents__isnull=False) | Q(versions__isnull=False)
    ).delete()


# --- Purge ----------------------------------------------------------------------------------


def trash_purge_due(*, now: dt.datetime | None = None) -> int:
    """Purge every entry older than PORTAL_TRASH_DAYS, each in its own transaction (the beat).
    Entries still under a retention rule wait for it. Returns how many entries were purged; a
    second run, or one alongside, purges none of them again."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.PORTAL_TRASH_DAYS)
    due = TrashEntry.objects.filter(deleted_at__lt=cutoff).order_by("deleted_at", "pk")
    return sum(_purge_entry(pk, actor=None) for pk in list(due.values_list("pk", flat=True)))


def trash_empty(*, partner: Partner, actor: User) -> int:
    """Purge the whole trash of a partner's customers now (an account administrator's "Empty
    trash"); entries under a retention rule stay. Returns how many entries were purged."""
    entries = TrashEntry.objects.filter(collaboration__partner_id=partner.pk).order_by("deleted_at", "pk")
    return sum(_purge_entry(pk, actor=actor) for pk in list(entries.values_list("pk", flat=True)))


@transaction.atomic
def _purge_entry(entry_id: int, *, actor: User | None) -> bool:
    """Purge one entry: its versions leave storage (purge_versions), its documents and folders stay
    as tombstones, the entry goes. False when another run holds or has purged it, or a retention
    rule still holds what it deleted."""
    entry = TrashEntry.objects.select_for_update(skip_locked=True).filter(pk=entry_id).first()
    if entry is None:
        return False
    versions = DocumentVersion.objects.filter(trash=entry)
    document_ids = set(versions.values_list("document_id", flat=True))
    document_ids |= set(Document.objects.filter(trash=entry).values_list("pk", flat=True))
    list(Document.objects.select_for_update().filter(pk__in=document_ids).values_list("pk", flat=True))
    if _retained(entry, document_ids):
        return False
    purge_versions(versions)
    Document.objects.filter(trash=entry).update(trash=None)
    Folder.all_objects.filter(trash=entry).update(trash=None)
    audit_record(
        actor=actor,
        action="trash.purge",
        object_type=entry.kind,
        object_repr=entry.name,
        collaboration_id=entry.collaboration_id,
        size=entry.size,
    )
    entry.delete()
    return True


def _retained(entry: TrashEntry, document_ids: set[int]) -> bool:
    if entry.kind == TrashKind.VERSION and entry.version is not None:
        return retention.is_retained(retention.version_until(entry.version))
    return bool(retention.retained_documents(Document.objects.filter(pk__in=document_ids)))


# --- Selectors ------------------------------------------------------------------------------


def trash_for_partner(*, collaboration: Collaboration) -> QuerySet[TrashEntry]:
    """Everything in a customer's trash, for the partner side (access.collaboration_for_partner_
    documents has checked the user)."""
    return TrashEntry.objects.filter(collaboration=collaboration).select_related("deleted_by", "version")


def trash_for_customer(*, collaboration: Collaboration, root_ids: Iterable[int]) -> QuerySet[TrashEntry]:
    """What a customer user sees of the trash: the documents users of the customer deleted, from
    the top-level folders `root_ids` they see (access.customer_trash_rights)."""
    roots = list(root_ids)
    return (
        TrashEntry.objects.filter(collaboration=collaboration, by_customer=True, kind=TrashKind.DOCUMENT)
        .filter(Q(document__folder__root_id__in=roots) | Q(document__folder_id__in=roots))
        .select_related("deleted_by", "document__folder")
    )


def trash_held(partner_id: int) -> tuple[int, int]:
    """(bytes, entries) in the trash of every customer of a partner, for the Storage page
    (billing.usage): one aggregate query, over the sizes the entries recorded."""
    held = TrashEntry.objects.filter(collaboration__partner_id=partner_id).aggregate(
        size=Sum("size"), items=Count("pk")
    )
    return int(held["size"] or 0), int(held["items"] or 0)
