"""Documents another app holds, for the services that replace and delete documents.

A signing in progress holds its document and its attachments: they are neither deleted nor given
a new version until it is finished, or what the parties sign would change under them. A signing's
sealed PDF is held for good against new versions (it may still be deleted). Documents knows no
signing model (signing depends on documents, not the other way round), so the holder registers a
checker in its AppConfig.ready(), as billing.usage does for stored bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

from django.db.models import QuerySet

from documents.models import Document, Folder

PENDING = "pending"  # in an unfinished signing: not deleted, no new version
SEALED = "sealed"  # a signing's sealed output: no new version

# A list of ids, or a queryset of ids (`.values("pk")`) that a checker uses as a subquery.
DocumentIds: TypeAlias = "list[int] | QuerySet[Any]"
# checker(document ids) -> {document id: PENDING or SEALED} for the held ones, in one query.
LockChecker: TypeAlias = Callable[[DocumentIds], Mapping[int, str]]
_checkers: list[LockChecker] = []


def lock_documents(document_ids: Iterable[int]) -> dict[int, Document]:
    """Lock the rows of the live documents among `document_ids` until commit (in id order, so two
    callers never deadlock) and return them by id; a deleted one is missing. Call it first in the
    transaction that creates a hold (a signing's send): an upload or a delete of the same document
    locks the same row, so it waits for the hold to commit and then sees it."""
    documents = Document.objects.select_for_update().filter(
        pk__in=list(document_ids), deleted_at__isnull=True
    )
    return {document.pk: document for document in documents.order_by("pk")}


def register_lock(checker: LockChecker) -> None:
    if checker not in _checkers:
        _checkers.append(checker)


def locked_document_ids(document_ids: Iterable[int] | QuerySet[Any]) -> dict[int, str]:
    """The held documents among `document_ids` and why: one query per registered checker however
    many documents (a folder's delete asks about all of its documents at once). PENDING wins
    where checkers disagree, as it is the stricter hold."""
    ids: DocumentIds = document_ids if isinstance(document_ids, QuerySet) else list(document_ids)
    if isinstance(ids, list) and not ids:
        return {}
    held: dict[int, str] = {}
    for checker in _checkers:
        for document_id, reason in checker(ids).items():
            if held.get(document_id) != PENDING:
                held[document_id] = reason
    return held


def document_lock(document: Document | int) -> str | None:
    """PENDING, SEALED or None (free) for one document."""
    pk = document if isinstance(document, int) else document.pk
    return locked_document_ids([pk]).get(pk)


def names_in_signing(documents: QuerySet[Document]) -> list[str]:
    """The sorted names of those of `documents` that are part of a signing in progress, which may
    not be deleted: one query however many documents, and one more for the names if any."""
    pending = [pk for pk, reason in locked_document_ids(documents.values("pk")).items() if reason == PENDING]
    return sorted(Document.objects.filter(pk__in=pending).values_list("name", flat=True)) if pending else []


def folder_names_in_signing(folder: Folder) -> list[str]:
    """What keeps `folder` from being deleted: its live documents, subfolders' included, that are
    part of a signing in progress."""
    return names_in_signing(
        Document.objects.filter(folder__path__startswith=folder.path, deleted_at__isnull=True)
    )
