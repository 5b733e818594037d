"""A worker killed in the middle of an upload never commits or aborts it: on S3 its multipart
upload stays, its parts stored and billed; on a filesystem without O_TMPFILE its hidden `.part` file
stays. The nightly sweep (documents.storage.sweep_unfinished, beat task
documents.tasks.sweep_unfinished_uploads) removes them once they are a day old, and touches nothing
else: not an upload still arriving, not a stored file, not another application's uploads or files in
a shared bucket or media directory.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from documents import storage
from documents.storage import PendingUpload
from tests.documents.conftest import SeaweedFS

pytestmark = [pytest.mark.integration]

A_DAY_ON = storage.UNFINISHED_AFTER + dt.timedelta(minutes=1)


def _abandoned(key: str, size: int) -> PendingUpload:
    """An upload whose process died after `size` bytes: never committed, never aborted."""
    upload = storage.open_upload(key)
    upload.write(b"x" * size)
    return upload


def _stored(key: str, data: bytes) -> str:
    with storage.receive([data], key=key) as upload:
        return upload.commit()


def _uploads(s3: SeaweedFS) -> set[str]:
    pages = s3.client().get_paginator("list_multipart_uploads").paginate(Bucket=s3.bucket)
    return {upload["Key"] for page in pages for upload in page.get("Uploads", [])}


def test_s3_a_multipart_upload_a_day_old_is_aborted_and_nothing_else(s3_storage: SeaweedFS) -> None:
    client = s3_storage.client()
    stored = _stored(storage.new_storage_key(collaboration_id=7), b"bokslut")
    dead = storage.new_storage_key(collaboration_id=7)
    _abandoned(dead, storage.PART)  # one part sent
    live = _abandoned(storage.new_storage_key(collaboration_id=7), storage.PART)
    # Someone else's uploads in the same bucket, under names the portal never makes.
    foreign = {"documents/7/Huvudbok.bin", "backups/2026-12-01.tar", f"previews/7/{'a' * 32}"}
    for key in foreign:
        client.create_multipart_upload(Bucket=s3_storage.bucket, Key=key)
    assert _uploads(s3_storage) == {dead, live.key, *foreign}

    assert storage.sweep_unfinished() == 0  # begun just now: it could still be arriving
    assert _uploads(s3_storage) == {dead, live.key, *foreign}

    assert storage.sweep_unfinished(now=timezone.now() + A_DAY_ON) == 2  # dead and live: both a day old then
    assert _uploads(s3_storage) == foreign
    assert s3_storage.keys() == {stored}
    assert storage.sweep_unfinished(now=timezone.now() + A_DAY_ON) == 0


def test_s3_an_upload_still_arriving_is_left_to_finish(s3_storage: SeaweedFS) -> None:
    live = _abandoned(storage.new_storage_key(collaboration_id=7), storage.PART)
    assert storage.sweep_unfinished() == 0
    live.write(b"y" * 10)
    live.commit()
    body = s3_storage.client().get_object(Bucket=s3_storage.bucket, Key=live.key)["Body"].read()
    assert body == b"x" * storage.PART + b"y" * 10
    assert _uploads(s3_storage) == set()


def test_s3_only_uploads_under_the_storage_location_are_swept(s3_storage: SeaweedFS, settings: Any) -> None:
    """With AWS_LOCATION (a prefix in a shared bucket) the portal's keys are under it; the same
    shape of key outside it belongs to someone else."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"], "location": "portal"},
        },
    }
    ours = storage.new_storage_key(collaboration_id=7)
    _abandoned(ours, storage.PART)
    theirs = storage.new_storage_key(collaboration_id=7)
    s3_storage.client().create_multipart_upload(Bucket=s3_storage.bucket, Key=theirs)
    assert _uploads(s3_storage) == {f"portal/{ours}", theirs}
    assert storage.sweep_unfinished(now=timezone.now() + A_DAY_ON) == 1
    assert _uploads(s3_storage) == {theirs}


def _age(path: Path, days: float) -> None:
    then = (timezone.now() - dt.timedelta(days=days)).timestamp()
    os.utime(path, (then, then))


def test_filesystem_a_part_file_a_day_old_is_removed_and_nothing_else(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage._FileSystemUpload, "use_tmpfile", False)  # a filesystem without it
    root = Path(settings.MEDIA_ROOT)
    stored = _stored(storage.new_storage_key(collaboration_id=7), b"bokslut")
    dead = _abandoned(storage.new_storage_key(collaboration_id=7), 10)
    live = _abandoned(storage.new_storage_key(collaboration_id=8), 10)
    assert isinstance(dead, storage._FileSystemUpload) and isinstance(live, storage._FileSystemUpload)
    assert dead.part is not None and live.part is not None
    _age(dead.part, 1.1)
    _age(live.part, 0.9)  # written to within the day: still arriving
    # Old files the portal did not write as parts: other names, another kind, a directory.
    hexname = "b" * 32
    foreign = [
        root / "documents" / "7" / ".Huvudbok.bin.part-1",
        root / "documents" / "7" / f".{hexname}.part-{hexname}.bak",
        root / "previews" / "7" / f".{hexname}.part-{hexname}",
        root / f".{hexname}.part-{hexname}",
    ]
    for path in foreign:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not ours")
    odd_directory = root / "documents" / "7" / f".{'c' * 32}.part-{'c' * 32}"
    odd_directory.mkdir()
    for path in [*foreign, odd_directory, root / stored]:
        _age(path, 30)

    def files() -> set[Path]:
        return {path for path in root.rglob("*") if path.is_file()}

    before = files()
    assert storage.sweep_unfinished() == 1
    assert files() == before - {dead.part}
    assert odd_directory.is_dir()
    assert storage.sweep_unfinished() == 0

    live.write(b"y")  # the upload still arriving finishes as if nothing happened
    live.commit()
    assert (root / live.key).read_bytes() == b"x" * 10 + b"y"
    assert dead.fd is not None
    os.close(dead.fd)


def test_filesystem_nothing_to_sweep_in_a_new_media_directory(settings: Any) -> None:
    assert not Path(settings.MEDIA_ROOT).exists()
    assert storage.sweep_unfinished(now=timezone.now() + A_DAY_ON) == 0
