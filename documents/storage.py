"""Writing and deleting document files. Keys are made here, never from a user's filename."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import os
import queue
import re
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeGuard

import filetype
from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.http import UnreadablePostError
from django.utils import timezone
from django.utils._os import safe_makedirs  # type: ignore[attr-defined]  # as FileSystemStorage does
from django.utils.translation import gettext as _

from portal.errors import ServiceError
from portal.units import human_size

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

logger = logging.getLogger(__name__)
CHUNK = 1024 * 1024  # the size of reads from the request and of writes to a file
HEAD = 8192  # the bytes sniff_content_type looks at
PART = 8 * 1024 * 1024  # an S3 multipart part (S3's least is 5 MiB, but for the last part)


def document_storage() -> Storage:
    # Looked up on each use, so tests that override STORAGES (S3 on SeaweedFS) take effect.
    return storages["default"]


def new_storage_key(*, collaboration_id: int, kind: str = "documents") -> str:
    return f"{kind}/{collaboration_id}/{uuid.uuid4().hex}"


# An upload's key (new_storage_key, kind "documents": the only kind a PendingUpload writes) and the
# hidden name of its unfinished file on a filesystem without O_TMPFILE (_FileSystemUpload).
_UPLOAD_KEY = re.compile(r"documents/[0-9]+/[0-9a-f]{32}")
_PART_NAME = re.compile(r"\.[0-9a-f]{32}\.part-[0-9a-f]{32}")


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


class _Hasher:
    """sha256 in a thread of its own once a file is past its first MiB: hashlib lets go of the GIL,
    so hashing a chunk overlaps with reading the next one from the socket and writing this one
    (hashing is the largest cost of an upload). At most QUEUED chunks wait; `hexdigest` and `close`
    end the thread. Chunks must not change once given (bytes)."""

    QUEUED = 4

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.queue: queue.Queue[bytes | None] | None = None
        self.thread: threading.Thread | None = None
        self.seen = 0
        self.done = False
        self.error: BaseException | None = None

    def update(self, chunk: bytes) -> None:
        if self.thread is None:
            self.seen += len(chunk)
            if self.seen <= CHUNK or self.done:  # a small file is hashed in place
                self.digest.update(chunk)
                return
            self.queue = queue.Queue(maxsize=self.QUEUED)
            self.thread = threading.Thread(target=self._run, name="upload-sha256", daemon=True)
            self.thread.start()
        assert self.queue is not None
        self.queue.put(chunk)

    def _run(self) -> None:
        assert self.queue is not None
        while (chunk := self.queue.get()) is not None:
            if self.error is None:  # keeps taking chunks, so that `update` never waits for ever
                try:
                    self.digest.update(chunk)
                except BaseException as error:  # noqa: BLE001 -- raised by hexdigest, in the caller
                    self.error = error

    def close(self) -> None:
        if self.thread is not None:
            assert self.queue is not None
            self.queue.put(None)
            self.thread.join()
            self.thread = self.queue = None
        self.done = True

    def hexdigest(self) -> str:
        self.close()
        if self.error is not None:
            raise self.error
        return self.digest.hexdigest()


class PendingUpload:
    """A new file on its way into document storage under a new key, written once as it arrives.

    `write` hashes, measures and keeps the first 8 KiB of each chunk (for sniff_content_type) while
    sending it on to a destination nobody can see yet; `commit` makes the file appear at `key`,
    `abort` removes every trace of it. As a context manager: a `with` block that fails removes the
    file, committed or not (a committed key is new and ours alone), so a refused upload leaves none.
    """

    def __init__(self, key: str, *, max_bytes: int) -> None:
        self.key = key
        self.max_bytes = max_bytes
        self.size = 0
        self.committed = False
        self._hasher = _Hasher()
        self._head = bytearray()

    @property
    def sha256(self) -> str:
        return self._hasher.hexdigest()

    @property
    def content_type(self) -> str:
        return sniff_content_type(bytes(self._head))

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise ServiceError(
                _("The file is larger than the limit of %(limit)s.") % {"limit": human_size(self.max_bytes)}
            )
        if len(self._head) < HEAD:
            self._head += chunk[: HEAD - len(self._head)]
        self._hasher.update(chunk)
        self._send(chunk)

    def commit(self) -> str:
        """Make the file visible at `key`; on failure nothing is left and the error is raised."""
        try:
            self._finish()
        except OSError as error:
            self.abort()
            _refuse_if_full(error, where="document storage")
            raise
        except BaseException:
            self.abort()
            raise
        self.committed = True
        return self.key

    def abort(self) -> None:
        """Remove what was written; never raises (it runs while another error is on its way)."""
        self._hasher.close()
        try:
            self._discard()
        except Exception:
            logger.exception("could not remove the unfinished upload of %s", self.key)

    def __enter__(self) -> PendingUpload:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if self.committed:
            if exc_type is not None:
                delete_quietly([self.key])
        else:
            self.abort()

    def _send(self, chunk: bytes) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        raise NotImplementedError

    def _discard(self) -> None:
        raise NotImplementedError


class _FileSystemUpload(PendingUpload):
    """Written into the key's directory as a file without a name (O_TMPFILE), linked at the key on
    commit: until then nothing is visible, and a refused upload, or a worker killed mid-body,
    leaves nothing, the kernel frees it. Where the filesystem cannot (no O_TMPFILE), the file is
    `.<name>.part-<random>` beside the key, created exclusively and renamed to the key on commit.
    Either way the file is opened at the first byte, with the storage's permissions."""

    use_tmpfile = hasattr(os, "O_TMPFILE")

    def __init__(self, storage: FileSystemStorage, key: str, *, max_bytes: int) -> None:
        super().__init__(key, max_bytes=max_bytes)
        self.storage = storage
        self.path = Path(storage.path(key))
        self.part: Path | None = None  # the visible temporary name, without O_TMPFILE
        self.fd: int | None = None

    def _open(self) -> int:
        directory = str(self.path.parent)
        if self.storage.directory_permissions_mode is not None:
            safe_makedirs(directory, self.storage.directory_permissions_mode, exist_ok=True)
        else:
            os.makedirs(directory, exist_ok=True)
        if self.use_tmpfile:
            try:
                return os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o666)
            except OSError as error:
                if error.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise
        self.part = self.path.with_name(f".{self.path.name}.part-{uuid.uuid4().hex}")
        return os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)

    def _send(self, chunk: bytes) -> None:
        if self.fd is None:
            self.fd = self._open()
        view = memoryview(chunk)
        while view:
            view = view[os.write(self.fd, view) :]

    def _finish(self) -> None:
        assert self.fd is not None
        if self.storage.file_permissions_mode is not None:
            os.fchmod(self.fd, self.storage.file_permissions_mode)
        if self.part is None:
            # linkat(AT_SYMLINK_FOLLOW), which os.link uses only with a dir_fd. Fails rather than
            # replace a file already there (never: the key is new).
            directory = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.link(f"/proc/self/fd/{self.fd}", self.path.name, dst_dir_fd=directory)
            finally:
                os.close(directory)
        else:
            os.replace(self.part, self.path)
            self.part = None
        fd, self.fd = self.fd, None
        try:
            os.close(fd)  # can report a failed write on some filesystems: then it is not stored
        except OSError:
            self.path.unlink(missing_ok=True)
            raise

    def _discard(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)
        if self.part is not None:
            self.part.unlink(missing_ok=True)


class _S3Upload(PendingUpload):
    """A multipart upload, begun once a first part of PART bytes is full and completed on commit;
    a smaller file is one put_object at commit. Parts are not readable before completion, so an
    aborted upload was never visible; abort_multipart_upload removes the parts. Written with the
    storage's own object parameters (location prefix, ACL, encryption, AWS_S3_OBJECT_PARAMETERS),
    as S3Storage._save would; the storage's gzip option does not apply (it is off here)."""

    def __init__(self, storage: S3Storage, key: str, *, max_bytes: int) -> None:
        from storages.utils import clean_name

        super().__init__(key, max_bytes=max_bytes)
        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name
        self.name = storage._normalize_name(clean_name(key))
        self.params = storage._get_write_parameters(self.name)
        self.buffer = bytearray()
        self.upload_id = ""
        self.parts: list[dict[str, Any]] = []

    def _send(self, chunk: bytes) -> None:
        self.buffer += chunk
        if len(self.buffer) >= PART:
            self._upload_part()

    def _upload_part(self) -> None:
        if not self.upload_id:
            started = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.name, **self.params)
            self.upload_id = started["UploadId"]
        number = len(self.parts) + 1
        answer = self.client.upload_part(
            Bucket=self.bucket,
            Key=self.name,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=bytes(self.buffer),
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.buffer.clear()

    def _finish(self) -> None:
        if not self.upload_id:
            self.client.put_object(Bucket=self.bucket, Key=self.name, Body=bytes(self.buffer), **self.params)
        else:
            if self.buffer:
                self._upload_part()
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.name,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": self.parts},
            )
        self.buffer = bytearray()

    def _discard(self) -> None:
        self.buffer = bytearray()
        if self.upload_id:
            upload_id, self.upload_id = self.upload_id, ""
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.name, UploadId=upload_id)


class _SpooledUpload(PendingUpload):
    """Any other storage: spooled to a temporary file and saved through the storage on commit."""

    def __init__(self, storage: Storage, key: str, *, max_bytes: int) -> None:
        super().__init__(key, max_bytes=max_bytes)
        self.storage = storage
        self.spool: IO[bytes] | None = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115

    def _send(self, chunk: bytes) -> None:
        assert self.spool is not None
        self.spool.write(chunk)

    def _finish(self) -> None:
        assert self.spool is not None
        self.spool.seek(0)
        try:
            self.key = self.storage.save(self.key, File(self.spool, name=self.key))
        except BaseException:
            delete_quietly([self.key])  # a partial file of its own writing, under our new key
            raise
        self._discard()

    def _discard(self) -> None:
        if self.spool is not None:
            spool, self.spool = self.spool, None
            spool.close()


def open_upload(key: str, *, max_bytes: int | None = None) -> PendingUpload:
    """A PendingUpload into document storage for the new key `key` (see new_storage_key)."""
    limit = settings.MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    storage = document_storage()
    try:
        if isinstance(storage, FileSystemStorage):
            return _FileSystemUpload(storage, key, max_bytes=limit)
        if _is_s3(storage):
            return _S3Upload(storage, key, max_bytes=limit)
        return _SpooledUpload(storage, key, max_bytes=limit)
    except OSError as error:
        _refuse_if_full(error, where="document storage")
        raise


def _is_s3(storage: Storage) -> TypeGuard[S3Storage]:
    if "storages.backends.s3" not in sys.modules:  # boto3 is imported only where S3 is used
        return False
    from storages.backends.s3 import S3Storage

    return isinstance(storage, S3Storage)


def receive(
    chunks: Iterable[bytes],
    *,
    key: str,
    max_bytes: int | None = None,
    tee: Callable[[bytes], None] | None = None,
) -> PendingUpload:
    """Read `chunks` straight into document storage under `key`, not yet visible there; each
    chunk also goes to `tee` (the virus scanner). Memory stays flat whatever the size: a chunk at a
    time, and on S3 one part.

    Raises ServiceError for an empty file or one over the limit (reading stops there), StorageFull
    for a full disk; then, and on any other error (a client gone mid-body), nothing is left. The
    caller commits the returned upload, in a `with` block that removes it again on failure."""
    upload = open_upload(key, max_bytes=max_bytes)
    try:
        for chunk in chunks:
            if not chunk:
                continue
            upload.write(chunk)
            if tee is not None:
                tee(chunk)
        if upload.size == 0:
            raise ServiceError(_("The file is empty."))
        upload.sha256  # noqa: B018 -- the hash of the last chunks, and its thread ended, here
    except OSError as error:
        upload.abort()
        if not isinstance(error, UnreadablePostError):
            _refuse_if_full(error, where="document storage")
        raise
    except BaseException:
        upload.abort()
        raise
    return upload


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


# No upload takes a day; an unfinished one older than that was left by a worker killed mid-body.
UNFINISHED_AFTER = dt.timedelta(days=1)


def sweep_unfinished(*, older_than: dt.timedelta = UNFINISHED_AFTER, now: dt.datetime | None = None) -> int:
    """Remove what uploads left unfinished when their process died before commit or abort (a
    worker killed mid-body, a crash, a lost machine): on S3 the multipart uploads begun more than
    `older_than` ago, whose parts are stored, and billed, until aborted; on a filesystem without
    O_TMPFILE the `.part` files last written to more than `older_than` ago. Only what an upload
    writes (keys of new_storage_key's "documents" shape, part names of _FileSystemUpload) is
    touched: a bucket or a media directory shared with anything else keeps the rest. Other storages
    spool into a file that is gone with its process. Idempotent; returns how many it removed."""
    cutoff = (now or timezone.now()) - older_than
    storage = document_storage()
    if isinstance(storage, FileSystemStorage):
        return _sweep_part_files(Path(storage.location) / "documents", cutoff)
    if _is_s3(storage):
        return _sweep_multipart_uploads(storage, cutoff)
    return 0


def _sweep_part_files(root: Path, cutoff: dt.datetime) -> int:
    last_written = cutoff.timestamp()  # st_mtime's scale, once for every file
    removed = 0
    try:
        directories = [entry for entry in os.scandir(root) if entry.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return 0
    for directory in directories:
        for entry in os.scandir(directory.path):
            if not _PART_NAME.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime >= last_written:
                continue  # still being written, or only just left
            try:
                os.unlink(entry.path)
            except FileNotFoundError:  # its upload ended meanwhile
                continue
            logger.warning("removed the unfinished upload %s", entry.path)
            removed += 1
    return removed


def _sweep_multipart_uploads(storage: S3Storage, cutoff: dt.datetime) -> int:
    from botocore.exceptions import ClientError
    from storages.utils import clean_name

    client, bucket = storage.connection.meta.client, storage.bucket_name
    location = clean_name(storage.location).strip("/")
    prefix = f"{location}/" if location else ""
    removed = 0
    paginator = client.get_paginator("list_multipart_uploads")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}documents/"):
        for upload in page.get("Uploads", []):
            key = upload["Key"]
            if not _UPLOAD_KEY.fullmatch(key[len(prefix) :]) or upload["Initiated"] >= cutoff:
                continue
            try:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"])
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
                    raise
                continue  # its upload ended meanwhile
            logger.warning("aborted the unfinished upload of %s, begun %s", key, upload["Initiated"])
            removed += 1
    return removed
