"""portal.pdfium: the one door to PDFium, which is not thread-safe. Nothing else may import
pypdfium2, every call holds the lock, and a render is bounded in size."""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from portal import pdfium
from tests.pdfs import blank_pdf


def _imports_pypdfium2(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "pypdfium2" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pypdfium2":
            return True
    return False


def test_no_module_but_portal_pdfium_imports_pypdfium2() -> None:
    base = Path(settings.BASE_DIR)
    skip = {".venv", "var", "node_modules", "tests", ".git"}
    offenders = [
        str(path.relative_to(base))
        for path in base.rglob("*.py")
        if not skip.intersection(path.relative_to(base).parts) and _imports_pypdfium2(path)
    ]
    assert offenders == ["portal/pdfium.py"]


def test_a_page_is_rendered_at_the_width_asked() -> None:
    image = pdfium.render_page(blank_pdf(2), page_index=1, width=260)
    assert image.mode == "RGB"
    assert image.size == (260, round(260 * 842 / 595))


def test_a_page_past_the_end_is_an_index_error() -> None:
    with pytest.raises(IndexError):
        pdfium.render_page(blank_pdf(2), page_index=2, width=100)
    with pytest.raises(IndexError):
        pdfium.render_page(blank_pdf(2), page_index=-1, width=100)


def test_bytes_that_are_no_pdf_are_unreadable() -> None:
    with pytest.raises(pdfium.PdfUnreadable):
        pdfium.render_page(b"%PDF-1.4 not really", width=100)


def test_a_tall_strip_is_rendered_narrower_not_longer() -> None:
    strip = blank_pdf(size=(20, 14400))
    image = pdfium.render_page(strip, width=260, max_height=1040)
    assert image.height <= 1040
    assert image.width < 260


def test_no_render_is_larger_than_the_pixel_cap() -> None:
    huge = blank_pdf(size=(14400, 14400))
    image = pdfium.render_page(huge, scale=10)
    assert image.width * image.height <= pdfium.MAX_RENDER_PIXELS * 1.01


def test_a_render_waits_while_another_thread_holds_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with pdfium.exclusive():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    try:
        # Busy after the timeout, and nothing rendered meanwhile.
        monkeypatch.setattr(pdfium, "LOCK_TIMEOUT_SECONDS", 0.2)
        started = time.monotonic()
        with pytest.raises(pdfium.PdfiumBusy):
            pdfium.render_page(blank_pdf(1), width=50)
        assert time.monotonic() - started >= 0.2
        # With time enough, the render happens once the holder lets go.
        monkeypatch.setattr(pdfium, "LOCK_TIMEOUT_SECONDS", 10)
        done: list[object] = []
        waiter = threading.Thread(target=lambda: done.append(pdfium.render_page(blank_pdf(1), width=50)))
        waiter.start()
        time.sleep(0.3)
        assert done == []
    finally:
        release.set()
        holder.join(10)
    waiter.join(10)
    assert len(done) == 1


def test_the_lock_is_reentrant_for_its_holder() -> None:
    with pdfium.exclusive():
        assert pdfium.render_page(blank_pdf(1), width=40).width == 40
