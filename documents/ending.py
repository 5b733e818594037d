"""The documents' part in ending a collaboration (customers.services.collaboration_end).

When a collaboration ends, its files are either deleted at once or kept for the customer to read
until `read_until`; either way the documents still under a retention rule stay, read-only for the
partner's account administrators and still counted in storage, until their retention has passed.
`collaboration_purge` is the one way they go (through documents.trash.purge_versions), from the
ending itself or from the nightly `documents.tasks.purge_ended_collaborations`. Nothing is
stranded: every stored version of an ended collaboration is either reachable (the customer's read
period, the partner's files-kept page) or purged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import ngettext

from customers.models import Collaboration, CollaborationStatus
from documents import retention
from documents.models import Document, DocumentVersion, Folder, TrashEntry
from documents.trash import purge_versions
from portal.audit import audit_record
from portal.models import User
from portal.units import human_size


def _documents(collaboration_id: int) -> QuerySet[Document]:
    """Every document of the collaboration, in any folder (trashed ones too: the join to the
    folder does not go through its live-only manager)."""
    return Document.objects.filter(folder__collaboration_id=collaboration_id)


def collaboration_purge(*, collaboration_id: int, today: dt.date | None = None) -> int:
    """Purge every stored version of an ended collaboration's documents but those of documents
    still under retention `today`; the purged documents become tombstones (deleted_at), the trash
    entries left with nothing to restore go, and `files_deleted_at` is set. Returns how many
    versions were purged. Idempotent: a second run finds them purged. Does nothing for a
    collaboration that is not ended, or whose customer may still read its files."""
    with transaction.atomic():
        collaboration = (
            Collaboration.objects.select_for_update(no_key=True).filter(pk=collaboration_id).first()
        )
        if collaboration is None or collaboration.status != CollaborationStatus.ENDED:
            return 0
        return _purge(collaboration, today=today)


def _purge(collaboration: Collaboration, *, today: dt.date | None) -> int:
    """Precondition: the collaboration's row is locked, in a transaction."""
    now = timezone.now()
    if collaboration.read_until is not None and collaboration.read_until > now:
        return 0
    documents = _documents(collaboration.pk)
    # The documents' row locks, as every purge holds them (documents.trash.purge_versions).
    list(documents.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True))
    retained = retention.retained_documents(documents, today=today)
    going = documents.exclude(pk__in=list(retained))
    purged = purge_versions(DocumentVersion.objects.filter(document__in=going))
    going.filter(deleted_at__isnull=True).update(deleted_at=now)
    going.exclude(trash=None).update(trash=None)
    _drop_empty_trash(collaboration)
    if collaboration.files_deleted_at is None:
        collaboration.files_deleted_at = now
        collaboration.save(update_fields=["files_deleted_at"])
    return purged


def _drop_empty_trash(collaboration: Collaboration) -> None:
    """The trash entries of the collaboration with nothing left to restore: no document and no
    stored version points at them any more (a retained document in the trash keeps its entry). A
    trashed folder's pointer goes with its entry (SET_NULL): it stays a tombstone."""
    TrashEntry.objects.filter(collaboration=collaboration).exclude(
        pk__in=DocumentVersion.objects.filter(purged_at__isnull=True, trash__isnull=False).values("trash_id")
    ).exclude(pk__in=Document.objects.filter(trash__isnull=False).values("trash_id")).delete()


def on_collaboration_ended(*, collaboration: Collaboration, actor: User | None, delete_now: bool) -> None:
    """customers.hooks.collaboration_ended: the files go at once when the partner chose so."""
    if delete_now:
        _purge(collaboration, today=None)


def ended_due_ids(*, now: dt.datetime | None = None) -> list[int]:
    """The ended collaborations with something to purge: the read period over and the files not
    yet deleted, or the files deleted but some kept for retention (whose retention may have
    passed: collaboration_purge works out which)."""
    now = now or timezone.now()
    ended = Collaboration.objects.filter(status=CollaborationStatus.ENDED)
    read_over = ended.filter(files_deleted_at__isnull=True).filter(
        Q(read_until__lte=now) | Q(read_until__isnull=True)
    )
    kept = ended.filter(
        files_deleted_at__isnull=False,
        pk__in=DocumentVersion.objects.filter(purged_at__isnull=True).values(
            "document__folder__collaboration_id"
        ),
    )
    return sorted(set(read_over.values_list("pk", flat=True)) | set(kept.values_list("pk", flat=True)))


# --- What the end page and the files-kept page show ------------------------------------------


@dataclass(frozen=True)
class StoredSummary:
    files: int
    versions: int
    size: int


def stored_summary(collaboration: Collaboration) -> StoredSummary:
    """The collaboration's stored files: live documents, and every stored version with its bytes
    (older versions and the trash included: what it counts in storage)."""
    versions = DocumentVersion.objects.filter(
        document__folder__collaboration_id=collaboration.pk, purged_at__isnull=True
    ).aggregate(n=Count("pk"), size=Sum("size"))
    files = _documents(collaboration.pk).filter(deleted_at__isnull=True).count()
    return StoredSummary(files=files, versions=versions["n"] or 0, size=int(versions["size"] or 0))


def ending_summary(*, collaboration: Collaboration) -> list[str]:
    """What the end page says of the files (customers.hooks)."""
    summary = stored_summary(collaboration)
    return [
        ngettext(
            "%(n)d file is stored for this customer, %(size)s with older versions and the trash.",
            "%(n)d files are stored for this customer, %(size)s with older versions and the trash.",
            summary.files,
        )
        % {"n": summary.files, "size": human_size(summary.size)}
    ]


@dataclass(frozen=True)
class KeptDocument:
    document: Document
    parts: tuple[str, ...]  # the folder path, top-level folder first
    until: dt.date | None  # the last day of retention, or None

    @property
    def path(self) -> str:
        return " / ".join(self.parts)


def kept_documents(collaboration: Collaboration, *, live_only: bool = False) -> list[KeptDocument]:
    """The collaboration's documents whose current file is still stored, with their folder path and
    retention date, by folder and name: after it ended, everything during the read period and
    afterwards those under retention (the trash's too, unless `live_only`: only live documents in
    live folders, as the zip takes them). Three queries, however many documents."""
    documents = (
        _documents(collaboration.pk)
        .exclude(current_version=None)
        .filter(current_version__purged_at__isnull=True)
    )
    if live_only:
        documents = documents.filter(deleted_at__isnull=True, folder__deleted_at__isnull=True)
    rows = list(documents.select_related("folder", "current_version").order_by("folder__path", "name"))
    until = retention.documents_until(Document.objects.filter(pk__in=[d.pk for d in rows]))
    names = dict(Folder.all_objects.filter(collaboration=collaboration).values_list("pk", "name"))
    return [
        KeptDocument(
            d, tuple(names.get(pk, "?") for pk in [*d.folder.ancestor_ids(), d.folder_id]), until.get(d.pk)
        )
        for d in rows
    ]


def zip_entries(kept: list[KeptDocument]) -> list[tuple[DocumentVersion, str]]:
    """(current version, "Folder/Sub/name") of each document, for one zip with the folders as
    directories."""
    entries = []
    for item in kept:
        version = item.document.current_version
        if version is not None:
            entries.append((version, "/".join([*(_safe(p) for p in item.parts), _safe(item.document.name)])))
    return entries


def _safe(part: str) -> str:
    """A name as a zip path element: no separators, no "." or "..", never empty."""
    cleaned = part.replace("/", "_").replace("\\", "_").strip()
    return "_" if cleaned in ("", ".", "..") else cleaned


def zip_download_record(*, collaboration: Collaboration, actor: User, count: int) -> None:
    """One line in the log for the whole zip of a customer's folders."""
    audit_record(
        actor=actor,
        action="collaboration.zip",
        obj=collaboration,
        collaboration_id=collaboration.pk,
        documents=count,
    )
