"""Documents' background work: preview rendering, purging the trash and ended collaborations' files, and
sweeping uploads left unfinished."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.files.base import ContentFile

from documents import trash
from documents.models import DocumentVersion, PreviewStatus
from documents.rendering import render_thumbnail
from documents.storage import document_storage, new_storage_key, sweep_unfinished

logger = logging.getLogger(__name__)
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"}


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def render_preview(version_id: int) -> None:
    """Render a first-page PNG thumbnail of a PDF or an image. Idempotent: a version that has a
    preview (or cannot have one) is left alone; a deleted version is a normal exit."""
    version = (
        DocumentVersion.objects.filter(
            pk=version_id, deleted_at__isnull=True, preview_status=PreviewStatus.PENDING
        )
        .select_related("document__folder")
        .first()
    )
    if version is None:
        return
    if not (version.is_pdf or version.content_type in IMAGE_TYPES):
        DocumentVersion.objects.filter(pk=version.pk).update(preview_status=PreviewStatus.NONE)
        return
    storage = document_storage()
    try:
        with storage.open(version.storage_key, "rb") as handle:
            # The stream, not a bytes copy of it: PDFium reads the parts it needs from the file.
            png = render_thumbnail(handle, is_pdf=version.is_pdf)
    except Exception:
        logger.exception("preview of version %s failed", version.pk)
        DocumentVersion.objects.filter(pk=version.pk).update(preview_status=PreviewStatus.FAILED)
        return
    key = storage.save(
        new_storage_key(collaboration_id=version.document.folder.collaboration_id, kind="previews"),
        ContentFile(png),
    )
    updated = DocumentVersion.objects.filter(
        pk=version.pk, preview_status=PreviewStatus.PENDING, deleted_at__isnull=True
    ).update(preview_key=key, preview_status=PreviewStatus.READY)
    if not updated:  # deleted or done meanwhile: don't leave the thumbnail behind
        storage.delete(key)


@shared_task
def purge_trash() -> None:
    """The beat: purge what has been in the trash longer than PORTAL_TRASH_DAYS (idempotent)."""
    trash.trash_purge_due()


@shared_task
def purge_ended_collaborations() -> None:
    """The beat: the files of ended collaborations whose read period, or retention, is over
    (documents.ending; idempotent, each collaboration in its own transaction)."""
    from documents import ending

    for collaboration_id in ending.ended_due_ids():
        ending.collaboration_purge(collaboration_id=collaboration_id)


@shared_task
def sweep_unfinished_uploads() -> int:
    """Nightly (beat): remove what uploads left behind when their worker died mid-body: S3
    multipart uploads and .part files a day old (documents.storage.sweep_unfinished; idempotent)."""
    return sweep_unfinished()
