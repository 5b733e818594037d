"""Real files for the demo data: multi-page PDFs with text and PNG charts.

Pure functions returning bytes, deterministic for the same arguments (no timestamps, no
randomness beyond a generator seeded from the arguments), so running `seed_demo` twice makes the
same files. fpdf2 writes the PDFs with the standard Helvetica fonts in WinAnsiEncoding (which
covers å, ä, ö and the en dash), so they open in every viewer and need no font files. The PNG
charts are drawn the same way and rasterised with pdfium.
"""

from __future__ import annotations

import hashlib
import io
import random
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from fpdf import FPDF

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN = 56
BLUE = (0.13, 0.33, 0.55)
# Every demo file says it was made at the same moment: the same arguments make the same bytes.
MADE_AT = datetime(2025, 1, 1, tzinfo=UTC)


# --- PDF --------------------------------------------------------------------------------------


@dataclass
class Section:
    heading: str
    paragraphs: Sequence[str] = ()
    # (label, amount) rows of a two-column table; an empty label draws a rule.
    rows: Sequence[tuple[str, str]] = ()


@dataclass
class PdfSpec:
    title: str
    company: str
    issuer: str
    pages: Sequence[Sequence[Section]]
    subject: str = ""


class _Canvas:
    """An fpdf2 document drawn in PDF's own coordinates (points, y up from the bottom edge), in
    Helvetica and Helvetica-Bold."""

    def __init__(self, size: tuple[float, float] = (PAGE_WIDTH, PAGE_HEIGHT)) -> None:
        self.pdf = FPDF(unit="pt", format=size)
        self.height = size[1]
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(0, 0, 0)
        self.pdf.core_fonts_encoding = "cp1252"  # what fpdf2 declares for core fonts: WinAnsiEncoding
        self.pdf.set_creation_date(MADE_AT)
        self.pdf.set_creator("Partnerportalen demo")
        self.pdf.set_font("Helvetica", size=10)

    def page(self) -> None:
        self.pdf.add_page()

    def _font(self, size: float, bold: bool) -> None:
        self.pdf.set_font("Helvetica", "B" if bold else "", size)

    def width(self, value: str, size: float, *, bold: bool = False) -> float:
        self._font(size, bold)
        return float(self.pdf.get_string_width(value))

    def text(self, x: float, y: float, value: str, *, size: float = 10, bold: bool = False) -> None:
        self._font(size, bold)
        self.pdf.text(x, self.height - y, value)

    def colour(self, rgb: tuple[float, float, float], *, stroke: bool = False) -> None:
        r, g, b = (round(c * 255) for c in rgb)
        if stroke:
            self.pdf.set_draw_color(r, g, b)
        else:  # as PDF's own non-stroking colour: text and filled shapes
            self.pdf.set_text_color(r, g, b)
            self.pdf.set_fill_color(r, g, b)

    def rect(self, x: float, y: float, w: float, h: float) -> None:
        """A filled rectangle whose lower left corner is (x, y)."""
        self.pdf.rect(x, self.height - y - h, w, h, style="F")

    def line(self, x1: float, y1: float, x2: float, y2: float, *, width: float = 0.5) -> None:
        self.pdf.set_line_width(width)
        self.pdf.line(x1, self.height - y1, x2, self.height - y2)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _render_page(c: _Canvas, spec: PdfSpec, sections: Sequence[Section], number: int, count: int) -> None:
    c.page()
    # Header band with the title, then the company and issuer.
    c.colour(BLUE)
    c.rect(0, PAGE_HEIGHT - 92, PAGE_WIDTH, 92)
    c.colour((1, 1, 1))
    c.text(MARGIN, PAGE_HEIGHT - 50, spec.title, size=20, bold=True)
    c.text(MARGIN, PAGE_HEIGHT - 72, f"{spec.company}  ·  {spec.issuer}", size=10)
    c.colour((0, 0, 0))
    y = PAGE_HEIGHT - 130
    right = PAGE_WIDTH - MARGIN
    for section in sections:
        c.colour(BLUE)
        c.text(MARGIN, y, section.heading, size=13, bold=True)
        c.colour((0, 0, 0))
        y -= 20
        for paragraph in section.paragraphs:
            for line in textwrap.wrap(paragraph, width=100):
                c.text(MARGIN, y, line, size=10)
                y -= 14
            y -= 6
        if section.rows:
            c.colour((0.75, 0.75, 0.75), stroke=True)
            c.line(MARGIN, y + 10, right, y + 10)
            for label, amount in section.rows:
                if not label:
                    c.colour((0, 0, 0), stroke=True)
                    c.line(MARGIN, y + 10, right, y + 10, width=1)
                    c.colour((0.75, 0.75, 0.75), stroke=True)
                    continue
                bold = label.endswith(":")
                c.text(MARGIN + 4, y, label.rstrip(":"), size=10, bold=bold)
                c.text(right - 4 - c.width(amount, 10, bold=bold), y, amount, size=10, bold=bold)
                c.line(MARGIN, y - 4, right, y - 4, width=0.3)
                y -= 16
            y -= 10
        y -= 12
    c.colour((0.4, 0.4, 0.4))
    c.colour((0.4, 0.4, 0.4), stroke=True)
    c.line(MARGIN, 50, right, 50, width=0.3)
    c.text(MARGIN, 36, f"{spec.title} – {spec.company}", size=8)
    page_label = f"Sida {number} av {count}"
    c.text(right - c.width(page_label, 8), 36, page_label, size=8)


def render_pdf(spec: PdfSpec) -> bytes:
    """Write `spec` as an A4 PDF, one page per entry of `spec.pages`."""
    c = _Canvas()
    c.pdf.set_title(f"{spec.title} – {spec.company}")
    c.pdf.set_author(spec.issuer)
    if spec.subject:
        c.pdf.set_subject(spec.subject)
    for index, sections in enumerate(spec.pages):
        _render_page(c, spec, sections, index + 1, len(spec.pages))
    return c.output()


# --- Demo content ------------------------------------------------------------------------------


def _rng(*parts: str) -> random.Random:
    seed = int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big")
    return random.Random(seed)  # noqa: S311 -- demo figures, not security


def kr(amount: int) -> str:
    """An amount the way Swedish reports write it: 12 345 kr."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,}".replace(",", " ") + " kr"


MONTHS = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]

LOREM = [
    "Handlingarna har upprättats utifrån bokföringen och de underlag som företaget lämnat till byrån. "
    "Beloppen anges i hela kronor om inget annat sägs.",
    "Kontrollera gärna uppgifterna och hör av dig till din kontaktperson på byrån om något behöver "
    "ändras innan handlingarna skrivs under eller lämnas till Skatteverket.",
    "Underlagen sparas i portalen så länge samarbetet pågår. Äldre versioner finns kvar under "
    "fliken Versioner för varje dokument.",
]


def demo_pdf(kind: str, *, company: str, issuer: str, year: int = 2025) -> bytes:
    """One of the demo documents, by `kind`: annual_report, audit_report, working_papers,
    tax_account, payroll_jan, payroll_feb, employer_return, engagement, dpa."""
    rng = _rng(kind, company, str(year))
    builders = {
        "annual_report": _annual_report,
        "audit_report": _audit_report,
        "working_papers": _working_papers,
        "tax_account": _tax_account,
        "payroll_jan": lambda r, c, i, y: _payroll(r, c, i, "januari", y + 1),
        "payroll_feb": lambda r, c, i, y: _payroll(r, c, i, "februari", y + 1),
        "employer_return": _employer_return,
        "engagement": _engagement,
        "dpa": _dpa,
    }
    return render_pdf(builders[kind](rng, company, issuer, year))


def _income_rows(rng: random.Random) -> tuple[list[tuple[str, str]], int]:
    revenue = rng.randrange(4_000_000, 30_000_000, 1000)
    goods = -int(revenue * rng.uniform(0.3, 0.5))
    external = -int(revenue * rng.uniform(0.1, 0.2))
    staff = -int(revenue * rng.uniform(0.2, 0.3))
    depreciation = -rng.randrange(50_000, 400_000, 1000)
    result = revenue + goods + external + staff + depreciation
    rows = [
        ("Nettoomsättning", kr(revenue)),
        ("Råvaror och förnödenheter", kr(goods)),
        ("Övriga externa kostnader", kr(external)),
        ("Personalkostnader", kr(staff)),
        ("Avskrivningar", kr(depreciation)),
        ("", ""),
        ("Rörelseresultat:", kr(result)),
    ]
    return rows, result


def _annual_report(rng: random.Random, company: str, issuer: str, year: int) -> PdfSpec:
    income, result = _income_rows(rng)
    tax = -int(max(result, 0) * 0.206)
    equity = rng.randrange(500_000, 5_000_000, 1000)
    return PdfSpec(
        title=f"Årsredovisning {year}",
        company=company,
        issuer=issuer,
        subject=f"Årsredovisning för räkenskapsåret {year}",
        pages=[
            [
                Section(
                    "Förvaltningsberättelse",
                    [
                        f"Styrelsen för {company} avger härmed årsredovisning för räkenskapsåret "
                        f"{year}-01-01 – {year}-12-31.",
                        "Företaget bedriver sin verksamhet i Sverige. Under året har omsättningen utvecklats "
                        "stabilt och företaget har fortsatt att investera i personal och system.",
                        LOREM[0],
                    ],
                ),
                Section(
                    "Flerårsöversikt",
                    rows=[
                        (f"Nettoomsättning {year - i}", kr(rng.randrange(3_000_000, 30_000_000, 1000)))
                        for i in range(3)
                    ],
                ),
            ],
            [Section("Resultaträkning", [f"Belopp för räkenskapsåret {year}."], income)],
            [
                Section(
                    "Balansräkning",
                    rows=[
                        ("Inventarier", kr(rng.randrange(100_000, 900_000, 1000))),
                        ("Kundfordringar", kr(rng.randrange(200_000, 3_000_000, 1000))),
                        ("Kassa och bank", kr(rng.randrange(100_000, 4_000_000, 1000))),
                        ("", ""),
                        ("Eget kapital:", kr(equity)),
                        ("Skatt på årets resultat", kr(tax)),
                    ],
                ),
                Section(
                    "Underskrifter",
                    [
                        f"Stockholm den 28 mars {year + 1}. Årsredovisningen skrivs under elektroniskt av "
                        "styrelsen i portalen.",
                        LOREM[1],
                    ],
                ),
            ],
        ],
    )


def _audit_report(rng: random.Random, company: str, issuer: str, year: int) -> PdfSpec:
    return PdfSpec(
        title=f"Revisionsberättelse {year}",
        company=company,
        issuer=issuer,
        pages=[
            [
                Section(
                    "Uttalanden",
                    [
                        f"Vi har utfört en revision av årsredovisningen för {company} "
                        f"för räkenskapsåret {year}.",
                        "Enligt vår uppfattning har årsredovisningen upprättats i enlighet med "
                        "årsredovisningslagen och ger en i alla väsentliga avseenden rättvisande bild av "
                        "företagets finansiella ställning och resultat.",
                    ],
                ),
                Section(
                    "Grund för uttalanden",
                    [
                        "Vi har utfört revisionen enligt International Standards on Auditing (ISA) och god "
                        "revisionssed i Sverige. Vårt ansvar enligt dessa standarder beskrivs närmare i "
                        "avsnittet Revisorns ansvar.",
                        LOREM[0],
                    ],
                ),
            ],
            [
                Section(
                    "Styrelsens ansvar",
                    [
                        "Det är styrelsen som har ansvaret för att årsredovisningen upprättas och att "
                        "den ger en rättvisande bild enligt årsredovisningslagen.",
                        LOREM[1],
                    ],
                ),
                Section(
                    "Väsentlighet",
                    rows=[
                        ("Väsentlighetsgräns", kr(rng.randrange(50_000, 250_000, 1000))),
                        ("Felsummeringsgräns", kr(rng.randrange(5_000, 25_000, 500))),
                    ],
                ),
            ],
        ],
    )


def _working_papers(rng: random.Random, company: str, issuer: str, year: int) -> PdfSpec:
    accounts = [
        "1510 Kundfordringar",
        "1630 Skattekonto",
        "1930 Företagskonto",
        "2440 Leverantörsskulder",
        "2610 Utgående moms",
        "2710 Personalskatt",
    ]
    rows = [(name, kr(rng.randrange(-900_000, 900_000, 10))) for name in accounts]
    return PdfSpec(
        title=f"Arbetspapper bokslut {year}",
        company=company,
        issuer=issuer,
        subject="Internt arbetsmaterial för byrån",
        pages=[
            [
                Section(
                    "Avstämning av balanskonton",
                    [
                        "Internt arbetsmaterial. Visas inte för kunden (mappen är intern för byrån).",
                        "Saldona nedan är avstämda mot underlag per bokslutsdagen.",
                    ],
                    rows,
                )
            ],
            [
                Section(
                    "Periodiseringar",
                    ["Upplupna kostnader och förutbetalda intäkter enligt genomgång med kunden."],
                    [
                        ("Upplupna semesterlöner", kr(rng.randrange(50_000, 400_000, 100))),
                        ("Upplupna sociala avgifter", kr(rng.randrange(10_000, 130_000, 100))),
                        ("Förutbetalda hyror", kr(rng.randrange(20_000, 90_000, 100))),
                    ],
                ),
                Section(
                    "Att göra", ["Inventering av lager per 31 december. Följ upp kundfordringar > 90 dagar."]
                ),
            ],
            [Section("Anteckningar", LOREM)],
        ],
    )


def _tax_account(rng: random.Random, company: str, issuer: str, year: int) -> PdfSpec:
    rows = []
    for month in MONTHS[:6]:
        charge = rng.randrange(40_000, 160_000)
        rows.append((f"Debiterad preliminärskatt {month} {year}", kr(-charge)))
        rows.append((f"Inbetalning {month} {year}", kr(charge)))
    rows += [("", ""), ("Saldo skattekonto:", kr(0))]
    return PdfSpec(
        title="Avstämning skattekonto",
        company=company,
        issuer=issuer,
        pages=[
            [Section(f"Januari – juni {year}", ["Transaktioner enligt Skatteverkets kontoutdrag."], rows)],
            [Section("Kommentar", [LOREM[0], LOREM[2]])],
        ],
    )


def _payroll(rng: random.Random, company: str, issuer: str, month: str, year: int) -> PdfSpec:
    names = ["Anna Berg", "Johan Ek", "Sara Lind", "Ali Hassan", "Maria Sjö", "Per Åberg", "Eva Öst"]
    employees = names[: rng.randrange(3, len(names) + 1)]
    gross = {name: rng.randrange(28_000, 62_000, 100) for name in employees}
    total = sum(gross.values())
    return PdfSpec(
        title=f"Lönesammanställning {month} {year}",
        company=company,
        issuer=issuer,
        pages=[
            [
                Section(
                    "Bruttolön per anställd",
                    [
                        f"Utbetalning den 25 {month} {year}. "
                        "Underlag för kontering och arbetsgivardeklaration."
                    ],
                    [
                        *((name, kr(amount)) for name, amount in gross.items()),
                        ("", ""),
                        ("Summa brutto:", kr(total)),
                    ],
                )
            ],
            [
                Section(
                    "Skatter och avgifter",
                    rows=[
                        ("Avdragen preliminärskatt", kr(-int(total * 0.31))),
                        ("Arbetsgivaravgifter 31,42 %", kr(int(total * 0.3142))),
                        ("Semesterlöneskuld, förändring", kr(int(total * 0.12))),
                    ],
                ),
                Section("Att tänka på", [LOREM[1]]),
            ],
        ],
    )


def _employer_return(rng: random.Random, company: str, issuer: str, year: int) -> PdfSpec:
    total = rng.randrange(150_000, 500_000, 100)
    return PdfSpec(
        title=f"Arbetsgivardeklaration februari {year + 1}",
        company=company,
        issuer=issuer,
        pages=[
            [
                Section(
                    "Huvuduppgift",
                    ["Sammanställning inför inlämning till Skatteverket senast den 12 mars."],
                    [
                        ("Summa kontant ersättning", kr(total)),
                        ("Underlag för arbetsgivaravgifter", kr(total)),
                        ("Arbetsgivaravgifter", kr(int(total * 0.3142))),
                        ("Avdragen skatt", kr(int(total * 0.31))),
                        ("", ""),
                        ("Att betala:", kr(int(total * 0.3142) + int(total * 0.31))),
                    ],
                )
            ],
            [
                Section(
                    "Individuppgifter",
                    ["Individuppgifterna lämnas per anställd och finns i lönesystemet.", LOREM[2]],
                )
            ],
        ],
    )


def _engagement(rng: random.Random, company: str, issuer: str, year: int) -> PdfSpec:
    fee = rng.randrange(2_000, 9_000, 100)
    return PdfSpec(
        title=f"Uppdragsavtal {year + 1}",
        company=company,
        issuer=issuer,
        pages=[
            [
                Section(
                    "Parter",
                    [f"Detta avtal gäller mellan {company} (uppdragsgivaren) och {issuer} (byrån)."],
                ),
                Section(
                    "Uppdraget",
                    [
                        "Byrån åtar sig löpande bokföring, lönehantering, bokslut och årsredovisning samt "
                        "deklarationer enligt bilaga 1.",
                        "Uppdraget utförs enligt god redovisningssed och branschstandarden REKO.",
                    ],
                ),
            ],
            [
                Section(
                    "Arvode",
                    ["Arvodet faktureras månadsvis i efterskott med 30 dagars betalningsvillkor."],
                    [
                        ("Löpande bokföring per månad", kr(fee)),
                        ("Lönehantering per anställd och månad", kr(rng.randrange(150, 450, 10))),
                        ("Bokslut och årsredovisning", kr(rng.randrange(12_000, 40_000, 500))),
                    ],
                ),
                Section(
                    "Avtalstid",
                    [f"Avtalet gäller från den 1 januari {year + 1} med tre månaders uppsägning."],
                ),
            ],
            [
                Section(
                    "Underskrifter",
                    ["Avtalet skrivs under elektroniskt av båda parter i portalen.", LOREM[1]],
                )
            ],
        ],
    )


def _dpa(rng: random.Random, company: str, issuer: str, year: int) -> PdfSpec:
    return PdfSpec(
        title="Personuppgiftsbiträdesavtal",
        company=company,
        issuer=issuer,
        pages=[
            [
                Section(
                    "Bakgrund",
                    [
                        f"{issuer} behandlar personuppgifter för {company}s räkning inom ramen för "
                        "uppdragsavtalet, till exempel uppgifter om anställda i lönehanteringen.",
                        "Detta avtal reglerar behandlingen enligt artikel 28 i "
                        "dataskyddsförordningen (GDPR).",
                    ],
                ),
                Section(
                    "Behandlingen",
                    rows=[
                        ("Kategorier av registrerade", "Anställda"),
                        ("Lagringstid", f"{rng.choice([7, 10])} år"),
                        ("Underbiträden", "Driftleverantör i EU"),
                    ],
                ),
            ],
            [Section("Säkerhet", ["Byrån vidtar lämpliga tekniska och organisatoriska åtgärder.", LOREM[2]])],
        ],
    )


# --- PNG charts ---------------------------------------------------------------------------------


def demo_chart(title: str, labels: Sequence[str], values: Sequence[int], *, unit: str = "tkr") -> bytes:
    """A bar chart as PNG: title, grid lines with values, one labelled bar per value.

    Drawn as a one-page PDF in Helvetica (which has å, ä and ö everywhere, unlike Pillow's built-in
    font) and rasterised with pdfium; Pillow writes the PNG."""
    from portal import pdfium

    width, height = 640, 372
    left, right, top, bottom = 64, 24, 64, 44
    c = _Canvas((width, height))
    c.page()
    c.colour((1, 1, 1))
    c.rect(0, 0, width, height)
    c.colour(BLUE)
    c.text(left, height - 36, title, size=17, bold=True)
    largest = max(max(values, default=1), 1)
    step = _nice_step(largest / 5)
    top_value = step * (int(largest / step) + 1)
    plot_h = height - top - bottom
    grey = (0.36, 0.36, 0.36)
    for tick in range(0, int(top_value) + 1, int(step)):
        y = bottom + plot_h * tick / top_value
        c.colour((0.88, 0.88, 0.88), stroke=True)
        c.line(left, y, width - right, y, width=0.6)
        label = f"{tick:,}".replace(",", " ")
        c.colour(grey)
        c.text(left - 8 - c.width(label, 10), y - 3.5, label, size=10)
    c.text(left - 8 - c.width(unit, 10), height - top + 12, unit, size=10)
    slot = (width - left - right) / max(len(values), 1)
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        x0 = left + index * slot + slot * 0.18
        bar_h = plot_h * max(value, 0) / top_value
        c.colour((0.2, 0.47, 0.75))
        c.rect(x0, bottom, slot * 0.64, bar_h)
        c.colour(grey)
        c.text(left + (index + 0.5) * slot - c.width(label, 10) / 2, bottom - 18, label, size=10)
    c.colour((0.24, 0.24, 0.24), stroke=True)
    c.line(left, bottom, width - right, bottom, width=1.2)
    c.pdf.set_title(title)
    image = pdfium.render_page(c.output(), scale=1.5)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _nice_step(raw: float) -> float:
    magnitude = 10 ** max(len(str(int(raw))) - 1, 0)
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def demo_chart_for(kind: str, *, company: str, year: int = 2025) -> tuple[str, bytes]:
    """A chart PNG by `kind` (hours, key_figures, payroll_costs, fees), with its title."""
    rng = _rng("chart", kind, company, str(year))
    if kind == "hours":
        title = f"Tidsåtgång per månad {year} – {company}"
        labels, values, unit = MONTHS, [rng.randrange(4, 40) for _ in MONTHS], "timmar"
    elif kind == "key_figures":
        title = f"Nettoomsättning {year - 4}–{year} – {company}"
        base = rng.randrange(4_000, 20_000)
        labels = [str(y) for y in range(year - 4, year + 1)]
        values = [int(base * (1 + 0.08 * i + rng.uniform(-0.05, 0.05))) for i in range(5)]
        unit = "tkr"
    elif kind == "payroll_costs":
        title = f"Lönekostnader per månad {year} – {company}"
        base = rng.randrange(150, 600)
        labels, values, unit = MONTHS, [int(base * rng.uniform(0.9, 1.15)) for _ in MONTHS], "tkr"
    elif kind == "fees":
        title = f"Arvode per kvartal {year} – {company}"
        labels, values, unit = ["Q1", "Q2", "Q3", "Q4"], [rng.randrange(20, 90) for _ in range(4)], "tkr"
    else:
        raise ValueError(f"unknown chart kind {kind!r}")
    return title, demo_chart(title, labels, values, unit=unit)
