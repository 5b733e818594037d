"""Pictures of documents: first-page thumbnails (the preview task) and page images of a version
(the signing page). PDFium is reached only through portal.pdfium, which serialises its calls."""

from __future__ import annotations

import io
import logging
from typing import IO

from django.core.cache import cache
from PIL import Image

from documents.models import DocumentVersion
from documents.storage import document_storage
from portal import pdfium

logger = logging.getLogger(__name__)

THUMB_WIDTH = 240
PAGE_CACHE_SECONDS = 24 * 3600
# A page that could not be rendered is remembered too, so asking again does not render again.
FAILED_CACHE_SECONDS = 300
# Pages taller than this many widths (a strip, say) are rendered narrower instead of longer.
MAX_ASPECT = 4


def render_thumbnail(
    source: bytes | IO[bytes], *, is_pdf: bool, page_index: int = 0, width: int = THUMB_WIDTH
) -> bytes:
    """A PNG at most `width` pixels wide (and `MAX_ASPECT` widths high) of a PDF's page
    `page_index` (IndexError past the end, pdfium.PdfUnreadable for a PDF PDFium cannot read) or
    of an image."""
    if is_pdf:
        image = pdfium.render_page(source, page_index=page_index, width=width, max_height=width * MAX_ASPECT)
    else:
        image = Image.open(source)
        image.thumbnail((width, width * 2))
    return _png(image)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", optimize=True)
    return out.getvalue()


def version_page_png(version: DocumentVersion, *, number: int, width: int) -> bytes | None:
    """Page `number` (from 1) of a PDF version as a PNG `width` pixels wide, or None when that page
    cannot be rendered (past the end, unreadable, file gone).

    Rendered once per version, page and width, then served from the cache: a request that finds
    no picture takes the PDFium lock and looks again before rendering, so parallel requests for
    the same page in one process wait for one render instead of each rendering. Raises
    pdfium.PdfiumBusy when the lock is not free in time. The caller bounds `number`."""
    key = f"version-page:{version.pk}:{number}:{width}"
    png: bytes | None = cache.get(key)
    if png is None:
        with pdfium.exclusive():
            png = cache.get(key)
            if png is None:
                png = _render_version_page(version, number=number, width=width)
                cache.set(key, png, PAGE_CACHE_SECONDS if png else FAILED_CACHE_SECONDS)
    return png or None


def _render_version_page(version: DocumentVersion, *, number: int, width: int) -> bytes:
    """The PNG, or b"" when the page cannot be rendered."""
    try:
        with document_storage().open(version.storage_key, "rb") as handle:
            return render_thumbnail(handle, is_pdf=True, page_index=number - 1, width=width)
    except IndexError:
        return b""
    except (pdfium.PdfUnreadable, OSError):
        logger.exception("page %s of version %s could not be rendered", number, version.pk)
        return b""
