"""Every PDFium (pypdfium2) call of the portal, behind one process-wide lock.

PDFium is not thread-safe: no two of its calls may run at the same time in one process, not even
on different documents, or the process dies with a segmentation fault. Threaded runserver (what
`make run` serves with) and gunicorn's gthread workers serve requests in threads, so this module is
the only one that imports pypdfium2 (a test holds every other module to that): it opens, renders
and closes each document while holding `LOCK`, and hands back Pillow images that share no memory
with PDFium. Every PDFium object is closed explicitly inside the lock, never left to pypdfium2's
garbage-collection finalizers, which would run in whichever thread happens to collect them.

Rendering is bounded: a page is never rendered larger than `MAX_RENDER_PIXELS`, whatever its
shape, and a caller waits at most `LOCK_TIMEOUT_SECONDS` for the lock (`PdfiumBusy` after that).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from PIL import Image

# Re-entrant, so a caller can hold it around "render unless someone already has" (see exclusive()).
LOCK = threading.RLock()
LOCK_TIMEOUT_SECONDS = 30.0
MAX_RENDER_PIXELS = 4_000_000  # about A4 at 200 dpi; a 260-pixel thumbnail is 0.1 million


class PdfiumBusy(Exception):
    """The lock was not free within LOCK_TIMEOUT_SECONDS: this process renders too much at once."""


class PdfUnreadable(Exception):
    """PDFium could not open or render the document."""


@contextmanager
def exclusive(timeout: float | None = None) -> Iterator[None]:
    """Hold the PDFium lock: no PDFium call runs in this process meanwhile, except this thread's.

    The rendering functions take it themselves; hold it around them only to make a check and a
    render one step (so concurrent requests for the same page wait for one render, then find it
    in the cache). Raises PdfiumBusy when the lock is not free within `timeout` seconds
    (LOCK_TIMEOUT_SECONDS by default)."""
    if not LOCK.acquire(timeout=LOCK_TIMEOUT_SECONDS if timeout is None else timeout):
        raise PdfiumBusy
    try:
        yield
    finally:
        LOCK.release()


def render_page(
    source: bytes | IO[bytes],
    *,
    page_index: int = 0,
    width: int | None = None,
    scale: float | None = None,
    max_height: int | None = None,
) -> Image.Image:
    """Page `page_index` (from 0) of the PDF in `source` (bytes or a binary file, which PDFium
    reads as it needs) as an RGB image, `width` pixels wide or at `scale` (1 = 72 dpi).

    The image is made smaller than asked, keeping the page's proportions, when it would be taller
    than `max_height` or have more than MAX_RENDER_PIXELS pixels. Raises IndexError for a page
    past the end, PdfUnreadable when PDFium cannot open or render the file, PdfiumBusy when the
    lock is not free in time."""
    if (width is None) == (scale is None):
        raise ValueError("give exactly one of width and scale")
    with exclusive():
        import pypdfium2

        try:
            pdf = pypdfium2.PdfDocument(source)
        except pypdfium2.PdfiumError as exc:
            raise PdfUnreadable(str(exc)) from exc
        try:
            if not 0 <= page_index < len(pdf):
                raise IndexError(page_index)
            page = pdf[page_index]
            try:
                page_width, page_height = max(page.get_width(), 1.0), max(page.get_height(), 1.0)
                factor = width / page_width if width is not None else float(scale or 1)
                if max_height is not None:
                    factor = min(factor, max_height / page_height)
                if factor * factor * page_width * page_height > MAX_RENDER_PIXELS:
                    factor = (MAX_RENDER_PIXELS / (page_width * page_height)) ** 0.5
                bitmap = page.render(scale=factor)
                try:
                    # convert() copies: the image must not share PDFium's buffer, freed below.
                    return bitmap.to_pil().convert("RGB")
                finally:
                    bitmap.close()
            except pypdfium2.PdfiumError as exc:
                raise PdfUnreadable(str(exc)) from exc
            finally:
                page.close()
        finally:
            pdf.close()
