"""Uploads go once, as they arrive, into document storage (documents.storage.receive): on the
filesystem into a hidden `.part` file beside the key, renamed when accepted; on S3 into a multipart
upload, completed when accepted. These are the hostile cases: a refusal at any point (too large
mid-stream, the client gone mid-body, the storage cap, a virus) leaves no file, no `.part` file, no
unfinished multipart upload and no row; the bytes and the hash are the input's at the 8 KiB head
and S3 part edges; and the raw-body upload never touches the upload spool directory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.http import UnreadablePostError
from django.urls import reverse
from django.utils import translation

from billing import services as billing
from documents import services, storage
from documents.models import Document, DocumentVersion, Folder
from portal.errors import ServiceError
from tests.documents.conftest import SeaweedFS

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

MIB = 1024 * 1024
HEAD, PART = storage.HEAD, storage.PART
EDGES = [1, HEAD - 1, HEAD, HEAD + 1, PART - 1, PART, PART + 1, 2 * PART + 1]


@dataclass
class Backend:
    name: str
    keys: Callable[[], set[str]]  # every file or object in storage, hidden or not
    unfinished: Callable[[], list[str]]  # .part files, or multipart uploads in progress
    read: Callable[[str], bytes]


@pytest.fixture(params=["filesystem", "s3"])
def backend(request: pytest.FixtureRequest, settings: Any) -> Backend:
    if request.param == "s3":
        s3: SeaweedFS = request.getfixturevalue("s3_storage")

        def uploads() -> list[str]:
            answer = s3.client().list_multipart_uploads(Bucket=s3.bucket)
            return [item["Key"] for item in answer.get("Uploads", [])]

        def read_object(key: str) -> bytes:
            return bytes(s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read())

        return Backend("s3", s3.keys, uploads, read_object)

    root = Path(settings.MEDIA_ROOT)

    def files() -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()

    def parts() -> list[str]:
        return [name for name in files() if ".part-" in name]

    return Backend("filesystem", files, parts, lambda key: (root / key).read_bytes())


@pytest.fixture
def folder(world: Any) -> Folder:
    return services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Bokslut")


def _data(size: int) -> bytes:
    block = os.urandom(MIB)
    return (block * (size // MIB + 1))[:size]


def _pieces(data: bytes, size: int = MIB) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _upload(folder: Folder, actor: Any, chunks: Any, name: str = "Huvudbok.bin") -> DocumentVersion:
    return services.document_upload(folder=folder, actor=actor, name=name, chunks=chunks, by_customer=False)


def _nothing_left(backend: Backend, before: set[str]) -> None:
    assert backend.keys() == before
    assert backend.unfinished() == []
    assert not Document.objects.exists() and not DocumentVersion.objects.exists()


@pytest.mark.parametrize("size", EDGES)
def test_the_stored_bytes_and_hash_are_the_input_at_the_edges(
    world: Any, folder: Folder, backend: Backend, size: int
) -> None:
    data = _data(size)
    # Chunks of an odd size, so the head and the parts are cut across chunk boundaries.
    version = _upload(folder, world.admin, _pieces(data, 300_001))
    assert version.size == size
    assert version.sha256 == hashlib.sha256(data).hexdigest()
    assert backend.read(version.storage_key) == data
    assert backend.keys() == {version.storage_key}
    assert backend.unfinished() == []
    assert world.partner.__class__.objects.get(pk=world.partner.pk).storage_used_bytes == size


def test_the_type_is_sniffed_from_the_head_across_chunks(
    world: Any, folder: Folder, backend: Backend
) -> None:
    data = b"%PDF-1.7\n" + _data(20_000)
    version = _upload(folder, world.admin, [data[:3], data[3:5000], data[5000:]], name="a.bin")
    assert version.content_type == "application/pdf"


def test_a_client_gone_mid_body_leaves_nothing(world: Any, folder: Folder, backend: Backend) -> None:
    before = backend.keys()
    during: list[str] = []

    def body() -> Iterator[bytes]:
        yield from _pieces(_data(2 * storage.PART + MIB))  # past a first part on S3
        during.extend(backend.unfinished())
        raise UnreadablePostError("the client went away")

    with pytest.raises(UnreadablePostError):
        _upload(folder, world.admin, body())
    if backend.name == "s3":
        assert len(during) == 1  # a multipart upload was under way, and is aborted
    _nothing_left(backend, before)


def test_a_file_over_the_limit_is_refused_mid_stream_and_leaves_nothing(
    world: Any, folder: Folder, backend: Backend, settings: Any
) -> None:
    settings.MAX_UPLOAD_BYTES = 2 * storage.PART + 10
    before = backend.keys()
    read = 0

    def endless() -> Iterator[bytes]:
        nonlocal read
        block = _data(MIB)
        while True:
            read += 1
            yield block

    with translation.override("en"), pytest.raises(ServiceError, match="larger than the limit"):
        _upload(folder, world.admin, endless())
    assert read == settings.MAX_UPLOAD_BYTES // MIB + 1  # reading stopped at the chunk past the limit
    _nothing_left(backend, before)


@pytest.mark.parametrize("decided", ["before storing", "under the lock"])
def test_a_large_upload_over_the_storage_cap_leaves_no_file_and_no_unfinished_upload(
    world: Any, folder: Folder, backend: Backend, settings: Any, monkeypatch: pytest.MonkeyPatch, decided: str
) -> None:
    settings.STORAGE_INCLUDED_BYTES = {"portal": storage.PART, "byra": storage.PART}
    settings.STORAGE_BLOCK_BYTES = 1000
    billing.storage_set_cap(partner=world.partner, actor=world.admin, cap_blocks=0)
    if decided == "under the lock":
        monkeypatch.setattr(billing, "storage_check", lambda **kwargs: None)
    before = backend.keys()
    with pytest.raises(billing.StorageCapReached):
        _upload(folder, world.admin, _pieces(_data(2 * storage.PART + 1)))
    _nothing_left(backend, before)
    world.partner.refresh_from_db()
    assert world.partner.storage_used_bytes == 0


def test_a_failure_while_committing_leaves_nothing(
    world: Any, folder: Folder, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rename (filesystem) or the completion of the parts sent (S3) fails."""
    before = backend.keys()
    if backend.name == "filesystem":

        def rename_fails(*args: Any, **kwargs: Any) -> None:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(storage.os, "replace", rename_fails)  # the .part file's
        monkeypatch.setattr(storage.os, "link", rename_fails)  # the O_TMPFILE's
    else:

        def completion_fails(self: storage._S3Upload) -> None:
            assert self.upload_id and self.parts  # parts were sent
            raise RuntimeError("the bucket went away")

        monkeypatch.setattr(storage._S3Upload, "_finish", completion_fails)
    with pytest.raises((PermissionError, RuntimeError)):
        _upload(folder, world.admin, _pieces(_data(2 * storage.PART + 1)))
    _nothing_left(backend, before)


def test_the_raw_body_is_written_once_without_the_upload_spool(
    world: Any, folder: Folder, login: Any, settings: Any, tmp_path: Path
) -> None:
    # The spool directory does not exist: anything that spooled the body there would fail.
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "no-such-spool")
    data = _data(3 * MIB + 17)
    response = login(world.admin).post(
        reverse("documents:upload", args=[folder.pk]),
        data=data,
        content_type="application/octet-stream",
        headers={"X-File-Name": "Huvudbok.bin"},
    )
    assert response.status_code == 201, response.content[:500]
    version = DocumentVersion.objects.get()
    assert (Path(settings.MEDIA_ROOT) / version.storage_key).read_bytes() == data
    assert version.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("tmpfile", [True, False], ids=["O_TMPFILE", ".part file"])
def test_while_the_body_arrives_nothing_is_visible_at_the_key(
    world: Any, folder: Folder, settings: Any, monkeypatch: pytest.MonkeyPatch, tmpfile: bool
) -> None:
    """With O_TMPFILE nothing at all is visible until the file is accepted; without it, only a
    hidden .part file beside the key. Either way the file gets the storage's permissions."""
    monkeypatch.setattr(storage._FileSystemUpload, "use_tmpfile", tmpfile)
    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    root = Path(settings.MEDIA_ROOT)
    seen: list[set[str]] = []

    def files() -> set[str]:
        return {p.name for p in root.rglob("*") if p.is_file()}

    def watch() -> Iterator[bytes]:
        yield b"first"
        seen.append(files())
        yield b" second"

    version = _upload(folder, world.admin, watch())
    name = Path(version.storage_key).name
    if tmpfile:
        assert seen == [set()]
    else:
        assert len(seen[0]) == 1 and next(iter(seen[0])).startswith(f".{name}.part-")
    assert ((root / version.storage_key).stat().st_mode & 0o777) == 0o640
    assert (root / version.storage_key).read_bytes() == b"first second"
    assert files() == {name}


@pytest.mark.parametrize("tmpfile", [True, False], ids=["O_TMPFILE", ".part file"])
def test_a_refusal_at_the_end_leaves_no_part_file(
    world: Any, folder: Folder, settings: Any, monkeypatch: pytest.MonkeyPatch, tmpfile: bool
) -> None:
    monkeypatch.setattr(storage._FileSystemUpload, "use_tmpfile", tmpfile)
    settings.STORAGE_INCLUDED_BYTES = {"portal": 10, "byra": 10}
    settings.STORAGE_BLOCK_BYTES = 1000
    billing.storage_set_cap(partner=world.partner, actor=world.admin, cap_blocks=0)
    with pytest.raises(billing.StorageCapReached):
        _upload(folder, world.admin, [_data(3 * MIB)])
    root = Path(settings.MEDIA_ROOT)
    assert not root.exists() or [p for p in root.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("sizes", [[1], [MIB], [MIB, 1], [300_001] * 20, [3 * MIB, 5, MIB]])
def test_the_hash_in_its_own_thread_is_the_hash_of_the_bytes_in_order(sizes: list[int]) -> None:
    pieces = [os.urandom(size) for size in sizes]
    hasher = storage._Hasher()
    for piece in pieces:
        hasher.update(piece)
    assert (hasher.thread is not None) == (sum(sizes) > MIB)
    assert hasher.hexdigest() == hashlib.sha256(b"".join(pieces)).hexdigest()
    assert hasher.thread is None  # ended


def test_another_storage_gets_the_file_through_its_own_save(
    world: Any, folder: Folder, settings: Any
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    data = _data(3 * MIB + 1)
    version = _upload(folder, world.admin, _pieces(data))
    assert storage.document_storage().open(version.storage_key).read() == data
    assert version.sha256 == hashlib.sha256(data).hexdigest()
    settings.MAX_UPLOAD_BYTES = MIB
    with pytest.raises(ServiceError):
        _upload(folder, world.admin, _pieces(data), name="more.bin")
    assert storage.document_storage().listdir(f"documents/{world.collaboration.pk}")[1] == [
        version.storage_key.rsplit("/", 1)[1]
    ]
