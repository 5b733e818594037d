"""Documents on S3: a real SeaweedFS on loopback (tests/documents/conftest.py) behind django-storages.

Downloads are a 302 to a presigned URL that the bucket itself checks: the URL works for about 60 s
with the headers we asked for; without a signature, or with one character changed, it is refused.
A refused or failed upload leaves no object and no row, and deleting removes the objects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfWriter
from storages.backends.s3 import S3Storage

from billing import services as billing
from documents import services, trash, zipping
from documents.models import CustomerAccess, Document, DocumentVersion, Folder, PreviewStatus
from documents.storage import document_storage
from portal.errors import ServiceError
from tests.documents.conftest import SeaweedFS

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NAME = "Årsredovisning 2025 – slutlig.pdf"
LATER = dt.timedelta(days=31)  # past PORTAL_TRASH_DAYS: the purge takes what is in the trash


def _pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 300)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _folder(world: Any, *, access: str = CustomerAccess.NONE, name: str = "Bokslut") -> Folder:
    return services.folder_create(
        collaboration=world.collaboration, actor=world.admin, name=name, customer_access=access
    )


def _upload(folder: Folder, actor: Any, name: str = NAME, data: bytes | None = None) -> DocumentVersion:
    return services.document_upload(
        folder=folder, actor=actor, name=name, chunks=[_pdf() if data is None else data], by_customer=False
    )


def _is_missing(s3: SeaweedFS, key: str) -> bool:
    try:
        s3.client().head_object(Bucket=s3.bucket, Key=key)
    except ClientError as error:
        return error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound")
    return False


def _download_location(login: Any, world: Any, document: Document, **query: str) -> str:
    response = login(world.admin).get(reverse("documents:document_download", args=[document.pk]), query)
    assert response.status_code == 302
    return str(response["Location"])


def test_the_default_storage_is_the_bucket(s3_storage: SeaweedFS) -> None:
    storage = document_storage()
    assert isinstance(storage, S3Storage)
    assert storage.bucket_name == s3_storage.bucket


def test_upload_stores_the_object_with_the_bytes_we_hashed(world: Any, s3_storage: SeaweedFS) -> None:
    data = _pdf()
    version = _upload(_folder(world), world.admin, data=data)
    assert version.storage_key.startswith(f"documents/{world.collaboration.pk}/")
    assert NAME not in version.storage_key  # keys are made by the server, never from the filename
    client = s3_storage.client()
    head = client.head_object(Bucket=s3_storage.bucket, Key=version.storage_key)
    assert head["ContentLength"] == version.size == len(data)
    body = client.get_object(Bucket=s3_storage.bucket, Key=version.storage_key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == version.sha256
    assert s3_storage.keys() == {version.storage_key}


def test_download_redirects_to_a_presigned_url_valid_60_seconds(
    world: Any, s3_storage: SeaweedFS, login: Any
) -> None:
    data = _pdf()
    version = _upload(_folder(world), world.admin, data=data)
    location = _download_location(login, world, version.document)
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == s3_storage.endpoint_url
    assert unquote(parts.path) == f"/{s3_storage.bucket}/{version.storage_key}"
    query = parse_qs(parts.query)
    assert query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Signature"]

    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == data
    assert fetched.headers["Content-Type"] == "application/pdf"
    disposition = fetched.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    encoded = disposition.split("filename*=utf-8''", 1)[1]
    assert unquote(encoded, encoding="utf-8") == NAME


def test_inline_pdf_download_opens_inline(world: Any, s3_storage: SeaweedFS, login: Any) -> None:
    version = _upload(_folder(world), world.admin)
    location = _download_location(login, world, version.document, inline="1")
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200
    assert fetched.headers["Content-Disposition"].startswith("inline;")


def test_text_is_served_as_utf8_plain_text(world: Any, s3_storage: SeaweedFS, login: Any) -> None:
    data = "<script>alert('åäö')</script>\n".encode()
    version = _upload(_folder(world), world.admin, name="notes.html", data=data)
    assert version.content_type == "text/plain"
    fetched = requests.get(_download_location(login, world, version.document), timeout=10)
    assert fetched.status_code == 200
    assert fetched.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert fetched.content == data


def test_url_expiry_follows_the_storage_when_the_setting_is_absent(
    world: Any, s3_storage: SeaweedFS, login: Any, settings: Any
) -> None:
    """PORTAL_S3_URL_EXPIRY reaches the URL through the storage's querystring_expire."""
    options = settings.STORAGES["default"]["OPTIONS"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {**options, "querystring_expire": 45}},
    }
    del settings.S3_URL_EXPIRY
    version = _upload(_folder(world), world.admin)
    location = _download_location(login, world, version.document)
    assert parse_qs(urlsplit(location).query)["X-Amz-Expires"] == ["45"]


def test_a_user_without_the_right_gets_no_url(world: Any, s3_storage: SeaweedFS, login: Any) -> None:
    version = _upload(_folder(world), world.admin)
    url = reverse("documents:document_download", args=[version.document_id])
    for user in (world.outsider, world.customer_user, world.staff_unassigned):
        response = login(user).get(url)
        assert response.status_code == 404
        assert "Location" not in response


def test_anonymous_requests_are_refused_by_the_bucket(world: Any, s3_storage: SeaweedFS) -> None:
    version = _upload(_folder(world), world.admin)
    object_url = f"{s3_storage.endpoint_url}/{s3_storage.bucket}/{version.storage_key}"
    assert requests.get(object_url, timeout=10).status_code == 403
    assert requests.get(f"{s3_storage.endpoint_url}/{s3_storage.bucket}", timeout=10).status_code == 403
    assert requests.put(object_url, data=b"overwritten", timeout=10).status_code == 403
    assert requests.delete(object_url, timeout=10).status_code == 403
    body = s3_storage.client().get_object(Bucket=s3_storage.bucket, Key=version.storage_key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == version.sha256


def test_a_wrong_secret_key_is_refused(s3_storage: SeaweedFS) -> None:
    with pytest.raises(ClientError) as raised:
        s3_storage.client(secret_key="not-the-secret").list_objects_v2(Bucket=s3_storage.bucket)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_tampered_presigned_urls_are_refused(world: Any, s3_storage: SeaweedFS, login: Any) -> None:
    version = _upload(_folder(world), world.admin)
    other = _upload(_folder(world, name="Annat"), world.admin, name="other.pdf")
    location = _download_location(login, world, version.document)
    assert requests.get(location, timeout=10).status_code == 200

    signature = re.search(r"X-Amz-Signature=([0-9a-f]{64})", location)
    assert signature is not None
    sig = signature.group(1)
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    tampered = {
        "signature": location.replace(sig, flipped),
        "key": location.replace(version.storage_key, other.storage_key),
        "expiry": location.replace("X-Amz-Expires=60", "X-Amz-Expires=86400"),
        "disposition": location.replace("attachment", "inline"),
    }
    for what, url in tampered.items():
        assert url != location, what
        response = requests.get(url, timeout=10)
        assert response.status_code == 403, what
        assert b"SignatureDoesNotMatch" in response.content, what
    # Signing parameters without the signature are a malformed request (400, as AWS answers).
    unsigned = re.sub(r"&?X-Amz-Signature=[0-9a-f]+", "", location)
    response = requests.get(unsigned, timeout=10)
    assert response.status_code in (400, 403)
    assert response.content != _pdf()


# --- Refused and failed uploads leave nothing behind -----------------------------------------------

REFUSED = [
    pytest.param("empty.pdf", b"", id="empty"),
    pytest.param("big.pdf", b"%PDF-1.4\n" + b"x" * 2048, id="over-the-limit"),
    pytest.param("../evil.pdf", None, id="dot-dot-slash"),
    pytest.param("..", None, id="dot-dot"),
    pytest.param("sub/evil.pdf", None, id="slash"),
    pytest.param("bell\x07.pdf", None, id="control-character"),
    pytest.param("two\nlines.pdf", None, id="newline"),
    pytest.param("rtl\u202eFDP.exe", None, id="bidi-override"),
]


@pytest.fixture(params=["filesystem", "s3"])
def backend(request: pytest.FixtureRequest, settings: Any) -> Any:
    """Run a test against the filesystem storage and against the SeaweedFS bucket; returns a
    function that lists every stored key."""
    if request.param == "s3":
        s3: SeaweedFS = request.getfixturevalue("s3_storage")
        return s3.keys

    def filesystem_keys() -> set[str]:
        root = settings.MEDIA_ROOT
        if not root.exists():
            return set()
        return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}

    return filesystem_keys


@pytest.mark.parametrize(("name", "data"), REFUSED)
def test_refused_upload_leaves_no_object_and_no_row(
    world: Any, backend: Any, settings: Any, name: str, data: bytes | None
) -> None:
    folder = _folder(world)
    kept = _upload(folder, world.admin, name="kept.pdf")
    settings.MAX_UPLOAD_BYTES = 1024
    before = backend()
    assert before == {kept.storage_key}
    with pytest.raises(ServiceError):
        _upload(folder, world.admin, name=name, data=_pdf() if data is None else data)
    assert backend() == before
    assert list(Document.objects.values_list("name", flat=True)) == ["kept.pdf"]
    assert DocumentVersion.objects.count() == 1


@pytest.mark.parametrize("decided", ["before storing", "under the lock"])
def test_upload_over_the_storage_cap_leaves_no_object_no_row_and_no_usage(
    world: Any, backend: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, decided: str
) -> None:
    folder = _folder(world)
    kept = _upload(folder, world.admin, name="kept.pdf")
    settings.STORAGE_INCLUDED_BYTES = {"portal": kept.size + 10, "byra": kept.size + 10}
    settings.STORAGE_BLOCK_BYTES = 1000
    billing.storage_set_cap(partner=world.partner, actor=world.admin, cap_blocks=0)
    if decided == "under the lock":
        # A concurrent upload took the room between the early check and the locked one.
        monkeypatch.setattr(billing, "storage_check", lambda **kwargs: None)
    before = backend()
    with pytest.raises(billing.StorageCapReached):
        _upload(folder, world.customer_user, name="more.pdf")
    assert backend() == before
    assert list(Document.objects.values_list("name", flat=True)) == ["kept.pdf"]
    assert DocumentVersion.objects.count() == 1
    world.partner.refresh_from_db()
    assert world.partner.storage_used_bytes == kept.size


def test_upload_into_a_read_folder_is_refused_and_leaves_nothing(
    world: Any, backend: Any, login: Any
) -> None:
    folder = _folder(world, access=CustomerAccess.READ)
    before = backend()
    response = login(world.customer_user).post(
        reverse("documents:upload", args=[folder.pk]),
        data=_pdf(),
        content_type="application/octet-stream",
        headers={"X-File-Name": "upload.pdf"},
    )
    assert response.status_code == 403
    assert backend() == before
    assert not Document.objects.exists() and not DocumentVersion.objects.exists()


def test_a_failure_after_storing_removes_the_object(
    world: Any, backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(world)
    before = backend()

    def broken(**kwargs: Any) -> DocumentVersion:
        assert kwargs["key"] in backend()  # the object was stored before the rows failed
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_record_version", broken)
    with pytest.raises(RuntimeError):
        _upload(folder, world.admin)
    assert backend() == before
    assert not Document.objects.exists() and not DocumentVersion.objects.exists()


# --- Deleting, previews, zip --------------------------------------------------------------------------


def test_deleting_a_document_removes_its_objects_after_commit(
    world: Any, s3_storage: SeaweedFS, django_capture_on_commit_callbacks: Any
) -> None:
    folder = _folder(world)
    with django_capture_on_commit_callbacks(execute=True):  # the preview task runs (eager Celery)
        v1 = _upload(folder, world.admin)
    v2 = _upload(folder, world.admin, data=_pdf() + b"\n% v2\n")
    keep = _upload(folder, world.admin, name="keep.pdf")
    v1.refresh_from_db()
    assert v1.preview_status == PreviewStatus.READY
    assert v1.preview_key.startswith(f"previews/{world.collaboration.pk}/")
    mine = {v1.storage_key, v1.preview_key, v2.storage_key}
    assert s3_storage.keys() == {*mine, keep.storage_key}

    with django_capture_on_commit_callbacks(execute=True):
        services.documents_delete(documents=[v1.document], actor=world.admin)
    assert s3_storage.keys() == {*mine, keep.storage_key}  # in the trash: nothing goes yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        trash.trash_purge_due(now=timezone.now() + LATER)
    assert s3_storage.keys() == {*mine, keep.storage_key}  # nothing goes before the commit
    for callback in callbacks:
        callback()
    assert s3_storage.keys() == {keep.storage_key}
    assert all(_is_missing(s3_storage, key) for key in mine)


def test_purging_an_old_version_and_a_folder_remove_their_objects(
    world: Any, s3_storage: SeaweedFS, django_capture_on_commit_callbacks: Any
) -> None:
    folder = _folder(world)
    v1 = _upload(folder, world.admin)
    v2 = _upload(folder, world.admin, data=_pdf() + b"\n% v2\n")
    with django_capture_on_commit_callbacks(execute=True):
        services.version_delete(version=v1, actor=world.admin)
        trash.trash_purge_due(now=timezone.now() + LATER)
    assert s3_storage.keys() == {v2.storage_key}
    with django_capture_on_commit_callbacks(execute=True):
        services.folder_delete(folder=folder, actor=world.admin)
    assert s3_storage.keys() == {v2.storage_key}  # in the trash
    with django_capture_on_commit_callbacks(execute=True):
        trash.trash_purge_due(now=timezone.now() + LATER)
    assert s3_storage.keys() == set()


def test_zip_streams_the_objects_from_the_bucket(
    world: Any, s3_storage: SeaweedFS, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(world)
    contents = {NAME: _pdf(), "notes.txt": "hej åäö\n".encode(), "bild.bin": bytes(range(256)) * 50}
    for name, data in contents.items():
        _upload(folder, world.admin, name=name, data=data)

    def no_download(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("storage.open() downloads the whole object before the first byte")

    monkeypatch.setattr(S3Storage, "_open", no_download)
    documents = list(Document.objects.filter(folder=folder).select_related("current_version"))
    response = zipping.zip_response(documents=documents, filename="Bokslut åäö.zip")
    assert response.streaming
    assert "filename*=utf-8''Bokslut%20%C3%A5%C3%A4%C3%B6.zip" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)  # type: ignore[arg-type]
    assert len(body) == int(response["Content-Length"])
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        assert {info.filename: archive.read(info) for info in archive.infolist()} == contents
