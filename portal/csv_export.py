"""CSV files for spreadsheets, written so that Excel with Swedish settings opens them as a table.

Swedish Excel splits a double-clicked CSV at semicolons, not commas: in Swedish the comma is the
decimal sign, so the list separator of the Swedish regional settings is ";". A comma-separated
file opens there as one column. The file starts with a UTF-8 byte order mark, without which Excel
reads it as Windows-1252 and "Årsredovisning" becomes "Ã…rsredovisning". Amounts are written with
a decimal comma for the same reason (`decimal_comma`), and a text cell that Excel would take for a
formula is neutralised (`text_cell`), since names and file names come from users.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

BOM = "\ufeff"
DELIMITER = ";"
CONTENT_TYPE = "text/csv; charset=utf-8"

# What makes Excel (and LibreOffice) read a cell as a formula; a tab or CR at the start too (OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | Decimal | None


def text_cell(value: object) -> str:
    """`value` as text that a spreadsheet shows as written, never runs: "=HYPERLINK(...)" gets a
    leading apostrophe, which Excel hides."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def decimal_comma(ore: int) -> str:
    """1 250 kr 50 öre -> "1250,50": a number Swedish Excel sums, without grouping or currency."""
    return f"{Decimal(ore) / 100:.2f}".replace(".", ",")


class _Line:
    """A file-like object that hands back what csv.writer writes to it, one row at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """The file as lines (the BOM first), produced as `rows` is consumed: nothing is held."""
    writer = csv.writer(_Line(), delimiter=DELIMITER, lineterminator="\r\n")
    yield BOM + writer.writerow(header)
    for row in rows:
        yield writer.writerow(["" if cell is None else cell for cell in row])


def _attach(response: HttpResponse | StreamingHttpResponse, filename: str) -> None:
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename) or ""
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"


def csv_response(*, header: Sequence[str], rows: Iterable[Sequence[Cell]], filename: str) -> HttpResponse:
    """A small CSV, built at once (a statement: a few rows)."""
    response = HttpResponse("".join(csv_lines(header, rows)), content_type=CONTENT_TYPE)
    _attach(response, filename)
    return response


def csv_streaming_response(
    *, header: Sequence[str], rows: Iterable[Sequence[Cell]], filename: str
) -> StreamingHttpResponse:
    """A CSV of any length, written while `rows` (a generator over a queryset's .iterator())
    is read, so memory stays flat however many rows there are."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CONTENT_TYPE)
    _attach(response, filename)
    return response
