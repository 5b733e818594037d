"""Sending stored files: documents.delivery.file_response on filesystem storage.

The embedded default sends the file itself; behind nginx (PORTAL_X_ACCEL_REDIRECT_PREFIX) Django
answers with an empty X-Accel-Redirect response and nginx sends the bytes. (S3's presigned
redirect is in test_s3.py.) Every answer carries an RFC 6266 Content-Disposition that survives
any filename, and everything but a PDF runs sandboxed when opened inline.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.core.files.base import ContentFile
from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.urls import reverse

from documents import services, zipping
from documents.delivery import file_response
from documents.models import CustomerAccess, Document, DocumentVersion
from documents.storage import document_storage, new_storage_key
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SANDBOX = "sandbox"


def _stored(data: bytes = PDF) -> str:
    return document_storage().save(new_storage_key(collaboration_id=1), ContentFile(data))


def _body(response: HttpResponseBase) -> bytes:
    try:
        if response.streaming:
            return b"".join(response.streaming_content)  # type: ignore[attr-defined]
        return bytes(response.content)  # type: ignore[attr-defined]
    finally:
        response.close()


def parse_content_disposition(header: str) -> tuple[str, str]:
    """(type, filename) from a Content-Disposition as Django writes it: one `filename="..."`
    quoted-string (RFC 6266 section 4.1) or one `filename*=utf-8''...` ext-value (RFC 5987)."""
    kind, _, parameter = header.partition(";")
    parameter = parameter.strip()
    if parameter.startswith("filename*="):
        charset, _language, value = parameter[len("filename*=") :].split("'", 2)
        assert charset.lower() == "utf-8"
        assert re.fullmatch(r"[A-Za-z0-9!#$&+\-.^_`|~%/]+", value), value  # no spaces, quotes or ;
        return kind, unquote(value, encoding="utf-8", errors="strict")
    match = re.fullmatch(r'filename="((?:[^"\\]|\\.)*)"', parameter)
    assert match is not None, header
    return kind, re.sub(r"\\(.)", r"\1", match.group(1))


# --- Filesystem storage: the embedded default and nginx ---------------------------------------------


def test_filesystem_storage_sends_the_file_itself(settings: Any) -> None:
    settings.X_ACCEL_REDIRECT_PREFIX = ""
    key = _stored()
    response = file_response(key=key, filename="Avtal.pdf", content_type="application/pdf")
    assert isinstance(response, FileResponse)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="Avtal.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "X-Accel-Redirect" not in response
    assert _body(response) == PDF


def test_behind_nginx_the_answer_is_an_empty_x_accel_redirect(settings: Any) -> None:
    settings.X_ACCEL_REDIRECT_PREFIX = "/protected/"
    key = _stored()
    response = file_response(key=key, filename="Årsredovisning.pdf", content_type="application/pdf")
    assert type(response) is HttpResponse
    assert response.status_code == 200
    assert not response.streaming
    assert response.content == b""
    assert response["X-Accel-Redirect"] == f"/protected/{key}"
    assert response["Content-Type"] == "application/pdf"
    assert parse_content_disposition(response["Content-Disposition"]) == ("attachment", "Årsredovisning.pdf")
    assert response["Cache-Control"] == "private, no-store"


def test_download_view_with_the_right_only(world: Any, login: Any, settings: Any) -> None:
    settings.X_ACCEL_REDIRECT_PREFIX = "/protected/"
    folder = services.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="Lön", customer_access=CustomerAccess.READ
    )
    internal = services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Internt")
    shared = services.document_upload(
        folder=folder, actor=world.admin, name="Lön mars.pdf", chunks=[PDF], by_customer=False
    )
    hidden = services.document_upload(
        folder=internal, actor=world.admin, name="hemlig.pdf", chunks=[PDF], by_customer=False
    )

    def download(user: Any, version: DocumentVersion) -> HttpResponseBase:
        response: HttpResponseBase = login(user).get(
            reverse("documents:document_download", args=[version.document_id])
        )
        return response

    for user in (world.admin, world.staff, world.customer_user):
        response = download(user, shared)
        assert response.status_code == 200
        assert response["X-Accel-Redirect"] == f"/protected/{shared.storage_key}"
        assert parse_content_disposition(response["Content-Disposition"]) == ("attachment", "Lön mars.pdf")
    for user in (world.customer_user, world.staff_unassigned, world.outsider, world.outsider_customer_user):
        response = download(user, hidden)
        assert response.status_code == 404
        assert "X-Accel-Redirect" not in response
    assert (
        login(world.outsider)
        .get(reverse("documents:document_download", args=[shared.document_id]))
        .status_code
        == 404
    )
    assert AuditEvent.objects.filter(action="document.download").count() == 3


# --- Content-Disposition for any filename ---------------------------------------------------------

NAMES = [
    "Avtal.pdf",
    "med mellanslag.pdf",
    "Årsredovisning åäö ÅÄÖ.pdf",
    'Offert "slutlig".pdf',
    "apostrof's.pdf",
    "back\\slash.pdf",
    "mapp/fil.pdf",
    "semi;colon, comma.pdf",
    "procent %20 och +plus.pdf",
    'å "citat" och \\ ö.pdf',
    "日本語 – tankstreck.pdf",
    "emoji 📄.pdf",
]


@pytest.mark.parametrize("inline", [False, True], ids=["attachment", "inline"])
@pytest.mark.parametrize("name", NAMES)
def test_content_disposition_round_trips_any_name(settings: Any, name: str, inline: bool) -> None:
    settings.X_ACCEL_REDIRECT_PREFIX = "/protected/"
    response = file_response(key=_stored(), filename=name, content_type="application/pdf", inline=inline)
    header = response["Content-Disposition"]
    header.encode("ascii")  # a header value browsers read the same way everywhere
    assert "\n" not in header and "\r" not in header
    assert parse_content_disposition(header) == ("inline" if inline else "attachment", name)


def test_a_non_ascii_name_uses_the_utf8_form() -> None:
    response = file_response(key=_stored(), filename="Lön åäö.pdf", content_type="application/pdf")
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''L%C3%B6n%20%C3%A5%C3%A4%C3%B6.pdf"
    _body(response)


def test_quotes_are_escaped_in_the_ascii_form() -> None:
    response = file_response(key=_stored(), filename='say "hi".pdf', content_type="application/pdf")
    assert response["Content-Disposition"] == 'attachment; filename="say \\"hi\\".pdf"'
    _body(response)


# --- Inline, types and the sandbox -----------------------------------------------------------------


def test_a_pdf_opens_inline_when_asked_and_runs_sandboxed() -> None:
    key = _stored()
    inline = file_response(key=key, filename="a.pdf", content_type="application/pdf", inline=True)
    attachment = file_response(key=key, filename="a.pdf", content_type="application/pdf")
    assert inline["Content-Disposition"].startswith("inline;")
    assert attachment["Content-Disposition"].startswith("attachment;")
    # Scripts off and an opaque origin, without default-src 'none' that the viewer would trip on.
    assert inline["Content-Security-Policy"] == SANDBOX
    assert attachment["Content-Security-Policy"] == SANDBOX
    _body(inline)
    _body(attachment)


@pytest.mark.parametrize("content_type", ["image/png", "image/jpeg", "text/plain"])
def test_other_types_download_sandboxed_even_when_inline_is_asked(content_type: str) -> None:
    response = file_response(key=_stored(b"x"), filename="f", content_type=content_type, inline=True)
    assert response["Content-Disposition"].startswith("attachment;")
    policy = response["Content-Security-Policy"]
    assert policy.split(";")[0].strip() == SANDBOX
    assert "default-src 'none'" in policy
    _body(response)


def test_text_is_served_as_utf8_plain_text_sandboxed() -> None:
    data = "<html><script>alert('åäö')</script></html>".encode()
    response = file_response(key=_stored(data), filename="x.html", content_type="text/plain", inline=True)
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith(SANDBOX)
    assert _body(response) == data


@pytest.mark.parametrize(
    "content_type", ["application/octet-stream", "application/zip", "image/svg+xml", "text/html"]
)
def test_types_that_may_not_open_inline_are_attachments(content_type: str) -> None:
    response = file_response(key=_stored(b"<svg/>"), filename="f", content_type=content_type, inline=True)
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Security-Policy"].startswith(SANDBOX)
    _body(response)


# --- The production shape: docker-compose.yml and deploy/nginx.conf agree with the settings ---------


def _compose_env() -> dict[str, str]:
    """The PORTAL_* entries of the x-portal-env block (plain `KEY: value` lines)."""
    text = (BASE_DIR / "docker-compose.yml").read_text()
    block = text.split("x-portal-env: &portal-env", 1)[1].split("\n\n", 1)[0]
    env = {}
    for line in block.splitlines():
        match = re.fullmatch(r"\s+(PORTAL_[A-Z0-9_]+):\s*(.*?)\s*", line)
        if match:
            env[match.group(1)] = match.group(2).strip('"')
    return env


def _settings_variables() -> set[str]:
    source = (BASE_DIR / "portal" / "settings.py").read_text()
    return {f"PORTAL_{name}" for name in re.findall(r"env(?:str|int|bool|list)\(\s*\"([A-Z0-9_]+)\"", source)}


def test_compose_sets_only_variables_the_settings_read() -> None:
    env = _compose_env()
    assert {"PORTAL_S3_BUCKET", "PORTAL_MEDIA_ROOT", "PORTAL_X_ACCEL_REDIRECT_PREFIX"} <= env.keys()
    assert env.keys() - _settings_variables() == set()


def test_nginx_protected_location_serves_the_compose_media_root() -> None:
    env = _compose_env()
    nginx = (BASE_DIR / "deploy" / "nginx.conf").read_text()
    prefix = env["PORTAL_X_ACCEL_REDIRECT_PREFIX"]
    assert prefix == "/protected/"
    location = re.search(r"location\s+" + re.escape(prefix) + r"\s*\{(.*?)\n\s*\}", nginx, re.S)
    assert location is not None
    body = location.group(1)
    assert re.search(r"^\s*internal;", body, re.M)
    alias = re.search(r"^\s*alias\s+(\S+);", body, re.M)
    assert alias is not None
    assert alias.group(1).rstrip("/") == env["PORTAL_MEDIA_ROOT"].rstrip("/")
    assert alias.group(1).endswith("/")  # alias of a location ending in / must end in / too
    # The sandbox Django sets is passed on after the internal redirect.
    assert "$upstream_http_content_security_policy" in body


def test_zip_of_filesystem_documents(world: Any) -> None:
    folder = services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Zip")
    contents = {"Årsredovisning.pdf": PDF, "notes.txt": "hej åäö\n".encode()}
    for name, data in contents.items():
        services.document_upload(
            folder=folder, actor=world.admin, name=name, chunks=[data], by_customer=False
        )
    documents = list(Document.objects.filter(folder=folder).select_related("current_version"))
    response = zipping.zip_response(documents=documents, filename="Zip.zip")
    body = _body(response)
    assert len(body) == int(response["Content-Length"])
    assert parse_content_disposition(response["Content-Disposition"]) == ("attachment", "Zip.zip")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert {info.filename: archive.read(info) for info in archive.infolist()} == contents
