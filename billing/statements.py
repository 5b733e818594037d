"""A month's statement as the firm reads it: on its page, as a PDF and as a CSV file.

The figures are the Statement row's, made once on the first of the next month
(billing.services.statement_make), and the invoice lines of its month: nothing is computed again,
so the page, the PDF and the CSV say what the statement said when it was made. `StatementSheet`
is the one reading of them the three share: the items billed (storage blocks and each signature
package) and the facts behind the storage item (plan, included storage, peak, cap).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from fpdf import FPDF
from fpdf.fonts import FontFace

from billing.models import InvoiceLine, Statement
from partners.models import Partner, Plan
from portal.csv_export import Cell, decimal_comma, text_cell
from portal.units import format_sek, human_size

logger = logging.getLogger(__name__)

# The font the signing audit trails embed (signing.audit_page): DejaVu Sans has every letter of
# every name; without it the PDF falls back to Helvetica, which covers Swedish.
DEFAULT_FONT_FILE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@dataclass(frozen=True)
class StatementRow:
    """A statement as a row of the list: its own figures only, so the list is one query."""

    statement: Statement

    @property
    def period(self) -> dt.date:
        return self.statement.period

    @property
    def month(self) -> str:
        """ "oktober 2026" in Swedish, "October 2026" in English."""
        return formats.date_format(self.period, "F Y")

    @property
    def peak(self) -> str:
        return human_size(self.statement.peak_bytes)

    @property
    def storage(self) -> str:
        return format_sek(self.statement.storage_amount_ore)

    @property
    def signatures(self) -> str:
        return format_sek(self.statement.signatures_amount_ore)

    @property
    def total(self) -> str:
        return format_sek(self.statement.total_ore)


@dataclass(frozen=True)
class StatementItem:
    description: str
    quantity: int
    unit: str
    unit_price_ore: int | None  # None: the line has one price for the whole quantity
    amount_ore: int

    @property
    def unit_price(self) -> str:
        return format_sek(self.unit_price_ore) if self.unit_price_ore is not None else ""

    @property
    def amount(self) -> str:
        return format_sek(self.amount_ore)


@dataclass(frozen=True)
class StatementSheet(StatementRow):
    partner: Partner
    items: Sequence[StatementItem]

    @property
    def plan(self) -> str:
        plan = self.statement.plan
        return str(Plan(plan).label) if plan in Plan.values else plan

    @property
    def included(self) -> str:
        return human_size(self.statement.included_bytes)

    @property
    def filename_stem(self) -> str:
        return f"{_('statement')}-{self.period:%Y-%m}"

    def facts(self) -> list[tuple[str, str]]:
        """What the storage item was worked out from, as (label, value)."""
        cap = self.statement.cap_blocks
        return [
            (_("Plan"), self.plan),
            (_("Included storage"), self.included),
            (_("Highest use"), self.peak),
            (
                _("Storage cap"),
                _("No cap")
                if cap is None
                else ngettext("%(n)d paid block", "%(n)d paid blocks", cap) % {"n": cap},
            ),
        ]


def statement_sheet(statement: Statement, lines: Sequence[InvoiceLine]) -> StatementSheet:
    """`statement` (with its partner) and the invoice lines of its month, as the items billed."""
    items = [
        StatementItem(
            description=_("Storage beyond the included storage, per started block"),
            quantity=statement.extra_blocks,
            unit=_("blocks"),
            unit_price_ore=statement.block_price_ore,
            amount_ore=statement.storage_amount_ore,
        )
    ]
    items += [
        StatementItem(
            description=line.description,
            quantity=line.quantity,
            unit=_("signatures"),
            unit_price_ore=None,
            amount_ore=line.amount_ore,
        )
        for line in lines
    ]
    return StatementSheet(statement=statement, partner=statement.partner, items=items)


# --- CSV ------------------------------------------------------------------------------------------


def csv_header() -> list[str]:
    return [
        _("Month"),
        _("Item"),
        _("Quantity"),
        _("Unit"),
        _("Unit price (SEK)"),
        _("Amount (SEK)"),
    ]


def csv_rows(sheet: StatementSheet) -> Iterator[list[Cell]]:
    """One row per item and one for the total, each with its month, so the files of several
    months can be pasted into one sheet; the facts follow as rows without an amount."""
    month = f"{sheet.period:%Y-%m}"
    for item in sheet.items:
        unit_price = decimal_comma(item.unit_price_ore) if item.unit_price_ore is not None else None
        yield [
            month,
            text_cell(item.description),
            item.quantity,
            item.unit,
            unit_price,
            decimal_comma(item.amount_ore),
        ]
    yield [month, _("Total"), None, None, None, decimal_comma(sheet.statement.total_ore)]
    for label, value in sheet.facts():
        yield [month, text_cell(f"{label}: {value}"), None, None, None, None]


# --- PDF ------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
BLUE = (33, 84, 140)
GREY = (90, 90, 90)


class _StatementPDF(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4", unit="mm")
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(True, margin=20)
        self.core_fonts_encoding = "cp1252"
        self.family = "Helvetica"
        path = Path(getattr(settings, "SIGNING_AUDIT_FONT_FILE", "") or DEFAULT_FONT_FILE)
        if path.is_file():
            bold = path.with_name(path.stem + "-Bold" + path.suffix)
            try:
                self.add_font("DejaVuSans", "", str(path))
                self.add_font("DejaVuSans", "B", str(bold if bold.is_file() else path))
                self.family = "DejaVuSans"
            except Exception:  # fontTools raises many types for a bad font file
                logger.warning("Cannot use %s for statements; using Helvetica", path, exc_info=True)
        self.set_font(self.family, size=10)

    def printable(self, text: str) -> str:
        """`text` as the font can show it: Helvetica has WinAnsi's characters only."""
        text = _CONTROL.sub(" ", text)
        if self.family == "Helvetica":
            return text.encode("cp1252", errors="replace").decode("cp1252")
        return text

    def line_of(
        self, text: str, *, size: float = 10, bold: bool = False, colour: tuple[int, int, int] = (0, 0, 0)
    ) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*colour)
        self.multi_cell(0, size * 0.5, self.printable(text), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)


def statement_pdf(sheet: StatementSheet) -> bytes:
    """The statement on one A4 page (more if a month had very many packages) in the active
    language: who it is for, the items with their amounts, the total and the facts."""
    pdf = _StatementPDF()
    pdf.set_title(pdf.printable(_("Statement %(month)s") % {"month": sheet.month}))
    pdf.set_author(pdf.printable(_("Partner portal")))
    pdf.add_page()
    pdf.line_of(_("Statement %(month)s") % {"month": sheet.month}, size=18, bold=True, colour=BLUE)
    pdf.ln(2)
    pdf.line_of(sheet.partner.name, size=12, bold=True)
    if sheet.partner.org_number:
        pdf.line_of(_("Organisation number %(number)s") % {"number": sheet.partner.org_number}, colour=GREY)
    made = formats.date_format(sheet.statement.created_at.date(), "j F Y")
    pdf.line_of(_("Made on %(date)s") % {"date": made}, colour=GREY)
    pdf.ln(6)

    pdf.set_font(pdf.family, "", 10)
    heading = FontFace(emphasis="BOLD", fill_color=(235, 240, 246))
    with pdf.table(
        col_widths=(70, 36, 30, 34),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=heading,
        line_height=6,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        header = table.row()
        for title in (_("Item"), _("Quantity"), _("Unit price"), _("Amount")):
            header.cell(pdf.printable(title))
        for item in sheet.items:
            row = table.row()
            row.cell(pdf.printable(item.description))
            row.cell(pdf.printable(f"{item.quantity} {item.unit}"))
            row.cell(pdf.printable(item.unit_price))
            row.cell(pdf.printable(item.amount))
        total = table.row(style=FontFace(emphasis="BOLD"))
        total.cell(pdf.printable(_("Total")), colspan=3)
        total.cell(pdf.printable(sheet.total))
    pdf.ln(6)

    pdf.line_of(_("Storage"), size=12, bold=True, colour=BLUE)
    pdf.ln(1)
    pdf.set_font(pdf.family, "", 10)
    with pdf.table(
        col_widths=(60, 110), first_row_as_headings=False, line_height=6, borders_layout="NONE"
    ) as facts:
        for label, value in sheet.facts():
            row = facts.row()
            row.cell(pdf.printable(label))
            row.cell(pdf.printable(value))
    pdf.ln(4)
    pdf.line_of(
        _(
            "Storage is billed for the month's highest use, per started block beyond the included "
            "storage. The statement is made on the first day of the next month."
        ),
        size=9,
        colour=GREY,
    )
    return bytes(pdf.output())
