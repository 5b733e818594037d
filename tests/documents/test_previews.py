"""documents.tasks.render_preview: a first-page PNG thumbnail of every PDF and image, stored next to
the document; idempotent, and quiet about files it cannot or need not render."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfWriter

from documents import rendering, services, tasks
from documents.models import DocumentVersion, Folder, PreviewStatus
from documents.storage import document_storage

pytestmark = pytest.mark.django_db

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def pdf_bytes(width: int = 200, height: int = 300) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width, height)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (800, 400)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def folder(world: Any) -> Folder:
    return services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Underlag")


def _upload(folder: Folder, actor: Any, name: str, data: bytes) -> DocumentVersion:
    # Inside the test's transaction the on-commit enqueue never fires: the task runs by hand.
    return services.document_upload(folder=folder, actor=actor, name=name, chunks=[data], by_customer=False)


def _previews(collaboration_id: int) -> list[str]:
    storage = document_storage()
    if not storage.exists(f"previews/{collaboration_id}"):
        return []
    return sorted(storage.listdir(f"previews/{collaboration_id}")[1])


def _thumbnail(version: DocumentVersion) -> Image.Image:
    with document_storage().open(version.preview_key, "rb") as handle:
        data = handle.read()
    assert data.startswith(PNG_MAGIC)
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_pdf_gets_a_png_thumbnail_of_its_first_page(world: Any, folder: Folder) -> None:
    version = _upload(folder, world.admin, "Avtal.pdf", pdf_bytes(200, 300))
    assert version.preview_status == PreviewStatus.PENDING
    tasks.render_preview(version.pk)
    version.refresh_from_db()
    assert version.preview_status == PreviewStatus.READY
    assert version.preview_key.startswith(f"previews/{world.collaboration.pk}/")
    image = _thumbnail(version)
    assert image.format == "PNG"
    assert image.width == rendering.THUMB_WIDTH
    assert image.height == pytest.approx(rendering.THUMB_WIDTH * 300 / 200, abs=2)


def test_an_image_gets_a_thumbnail(world: Any, folder: Folder) -> None:
    version = _upload(folder, world.admin, "Kvitto.png", png_bytes((800, 400)))
    assert version.content_type == "image/png"
    tasks.render_preview(version.pk)
    version.refresh_from_db()
    assert version.preview_status == PreviewStatus.READY
    image = _thumbnail(version)
    assert image.size == (rendering.THUMB_WIDTH, rendering.THUMB_WIDTH // 2)


def test_the_upload_enqueues_the_preview_after_commit(
    world: Any, folder: Folder, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        version = _upload(folder, world.admin, "Avtal.pdf", pdf_bytes())
    version.refresh_from_db()
    assert version.preview_status == PreviewStatus.PENDING  # nothing rendered inside the transaction
    for callback in callbacks:  # commit: the preview task runs (eager Celery in tests)
        callback()
    version.refresh_from_db()
    assert version.preview_status == PreviewStatus.READY
    assert _previews(world.collaboration.pk) == [version.preview_key.rsplit("/", 1)[1]]


def test_a_text_file_has_no_preview(world: Any, folder: Folder) -> None:
    version = _upload(folder, world.admin, "notes.txt", "hej åäö\n".encode())
    assert version.content_type == "text/plain"
    tasks.render_preview(version.pk)
    version.refresh_from_db()
    assert (version.preview_status, version.preview_key) == (PreviewStatus.NONE, "")
    assert _previews(world.collaboration.pk) == []


def test_a_corrupt_pdf_fails_without_raising(world: Any, folder: Folder) -> None:
    version = _upload(folder, world.admin, "trasig.pdf", b"%PDF-1.4 garbage")
    assert version.content_type == "application/pdf"
    tasks.render_preview(version.pk)  # no exception: a retry would not make it readable
    version.refresh_from_db()
    assert (version.preview_status, version.preview_key) == (PreviewStatus.FAILED, "")
    assert _previews(world.collaboration.pk) == []


def test_a_corrupt_image_fails_without_raising(world: Any, folder: Folder) -> None:
    version = _upload(folder, world.admin, "trasig.png", PNG_MAGIC + b"\x00\x00\x00\rIHDRbroken" * 3)
    assert version.content_type == "image/png"
    tasks.render_preview(version.pk)
    version.refresh_from_db()
    assert version.preview_status == PreviewStatus.FAILED


def test_running_twice_stores_one_preview(world: Any, folder: Folder) -> None:
    version = _upload(folder, world.admin, "Avtal.pdf", pdf_bytes())
    tasks.render_preview(version.pk)
    version.refresh_from_db()
    first = version.preview_key
    tasks.render_preview(version.pk)
    version.refresh_from_db()
    assert version.preview_key == first
    assert _previews(world.collaboration.pk) == [first.rsplit("/", 1)[1]]


def test_a_deleted_version_gets_no_preview(world: Any, folder: Folder) -> None:
    version = _upload(folder, world.admin, "Avtal.pdf", pdf_bytes())
    services.documents_delete(documents=[version.document], actor=world.admin)
    tasks.render_preview(version.pk)
    version.refresh_from_db()
    assert version.preview_key == ""
    assert _previews(world.collaboration.pk) == []


def test_a_version_deleted_while_rendering_leaves_no_thumbnail(
    world: Any, folder: Folder, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _upload(folder, world.admin, "Avtal.pdf", pdf_bytes())
    render = tasks.render_thumbnail

    def render_then_delete(source: Any, *, is_pdf: bool) -> bytes:
        png = render(source, is_pdf=is_pdf)
        services.documents_delete(documents=[version.document], actor=world.admin)
        return png

    monkeypatch.setattr(tasks, "render_thumbnail", render_then_delete)
    tasks.render_preview(version.pk)
    version.refresh_from_db()
    assert version.preview_key == ""
    assert _previews(world.collaboration.pk) == []


def test_an_unknown_version_is_a_normal_exit(db: None) -> None:
    tasks.render_preview(987654321)


def test_a_missing_stored_file_fails_the_preview(world: Any, folder: Folder) -> None:
    version = _upload(folder, world.admin, "Avtal.pdf", pdf_bytes())
    document_storage().delete(version.storage_key)
    tasks.render_preview(version.pk)
    version.refresh_from_db()
    assert version.preview_status == PreviewStatus.FAILED


@pytest.mark.integration
def test_previews_on_s3(world: Any, folder: Folder, s3_storage: Any) -> None:
    pdf = _upload(folder, world.admin, "Avtal.pdf", pdf_bytes())
    png = _upload(folder, world.admin, "Kvitto.png", png_bytes())
    for version in (pdf, png):
        tasks.render_preview(version.pk)
        version.refresh_from_db()
        assert version.preview_status == PreviewStatus.READY
        assert _thumbnail(version).width == rendering.THUMB_WIDTH
    assert s3_storage.keys() == {pdf.storage_key, pdf.preview_key, png.storage_key, png.preview_key}
