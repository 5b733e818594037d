"""Writing and deleting document files. Keys are made here, never from a user's filename."""

from __future__ import annotations

import errno
import hashlib
import logging
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

import filetype
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.utils.translation import gettext as _

from portal.errors import ServiceError
from portal.units import human_size

logger = logging.getLogger(__name__)
CHUNK = 1024 * 1024


def document_storage() -> Storage:
    # Looked up on each use, so tests that override STORAGES (S3 on SeaweedFS) take effect.
    return storages["default"]


def new_storage_key(*, collaboration_id: int, kind: str = "documents") -> str:
    return f"{kind}/{collaboration_id}/{uuid.uuid4().hex}"


@dataclass
class SpooledUpload:
    """A received file, hashed and measured on the way into a temporary file on disk."""

    file: IO[bytes]
    size: int
    sha256: str
    content_type: str

    def close(self) -> None:
        self.file.close()


def spool_upload(chunks: Iterable[bytes], *, max_bytes: int | None = None) -> SpooledUpload:
    """Read `chunks` into a temporary file, hashing as they come; memory stays flat whatever the size.

    Raises ServiceError for an empty file or one over the limit; the temporary file is gone then.
    """
    limit = settings.MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    digest = hashlib.sha256()
    size = 0
    head = b""
    spool = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115 -- handed to the caller
    try:
        for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if size > limit:
                raise ServiceError(
                    _("The file is larger than the limit of %(limit)s.") % {"limit": human_size(limit)}
                )
            if len(head) < 8192:
                head += chunk[: 8192 - len(head)]
            digest.update(chunk)
            spool.write(chunk)
        if size == 0:
            raise ServiceError(_("The file is empty."))
        spool.seek(0)  # inside: the last buffered bytes are written here, and may not fit
    except OSError as error:
        spool.close()
        _refuse_if_full(error, where="the upload spool")
        raise
    except BaseException:
        spool.close()
        raise
    return SpooledUpload(
        file=spool, size=size, sha256=digest.hexdigest(), content_type=sniff_content_type(head)
    )


def sniff_content_type(head: bytes) -> str:
    """The type the bytes say they are, not what the browser or the filename claims."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # A cut in the middle of a multi-byte character at the 8 KiB edge is still text.
        try:
            head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
    return "text/plain"


def store(upload: SpooledUpload, *, key: str) -> str:
    """Write the spooled file to document storage under `key` and return the key actually used.

    A failed write leaves nothing: FileSystemStorage keeps what it wrote of a file it could not
    finish (a full disk), so the key, new and ours alone, is removed here. A full disk refuses
    the upload with a message instead of an error page."""
    try:
        return document_storage().save(key, File(upload.file, name=key))
    except OSError as error:
        delete_quietly([key])
        _refuse_if_full(error, where="document storage")
        raise


class StorageFull(ServiceError, OSError):
    """A full disk: refused with a message to whoever uploads, and still an OSError to the tasks
    that retry on one (sealing stores its PDF through document_upload)."""


def _refuse_if_full(error: OSError, *, where: str) -> None:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        logger.error("upload refused, %s is full: %s", where, error)
        raise StorageFull(
            _("There is no room to store the file just now, so it was not stored. Please try again later.")
        ) from error


def delete_quietly(keys: Iterable[str]) -> None:
    """Remove stored files; called after commit, so a failure leaves an orphan file, never a broken row."""
    storage = document_storage()
    for key in keys:
        if not key:
            continue
        try:
            storage.delete(key)
        except Exception:
            logger.exception("could not delete stored file %s", key)
