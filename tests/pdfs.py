"""PDFs for tests (and bench/): valid files of empty pages, made in memory."""

from __future__ import annotations

import io

from pypdf import PdfWriter

A4 = (595, 842)  # in points


def blank_pdf(pages: int = 1, *, size: tuple[float, float] = A4) -> bytes:
    """A valid PDF of `pages` empty pages, A4 unless `size` says otherwise."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=size[0], height=size[1])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
