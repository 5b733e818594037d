"""The audit trail pages of a sealed PDF: who signed what, how and when, in the request's language.

Pure: dataclasses in, PDF bytes out. The layout (lines, wrapping, which lines stay together) is
ours; fpdf2 writes the PDF and embeds a subset of DejaVu Sans (made with fontTools), so any name
prints as written. Without the font file the pages fall back to Helvetica in WinAnsiEncoding,
which covers Swedish and Western European text.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from fpdf import FPDF

logger = logging.getLogger(__name__)

DEFAULT_FONT_FILE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@dataclass(frozen=True)
class PartyEvidence:
    name: str
    email: str
    role: str  # signer | approver | viewer
    method: str  # email_code | bankid
    acted_at: datetime | None
    action: str  # signed | approved | ""
    ip: str
    user_agent: str
    evidence: dict[str, str] = field(default_factory=dict)
    # The method's raw proof (BankID's completionData as JSON), embedded in the sealed file as an
    # attachment of its own, so that the seal covers it and anyone can check it later.
    evidence_file: bytes = b""


@dataclass(frozen=True)
class InputFile:
    name: str
    data: bytes


@dataclass(frozen=True)
class AuditTrail:
    title: str
    reference: str
    language: str  # sv | en
    sender: str
    sent_at: datetime
    completed_at: datetime
    parties: Sequence[PartyEvidence]
    history: Sequence[tuple[datetime, str]]


def evidence_file_name(index: int, party: PartyEvidence) -> str:
    """The embedded evidence file's name: the party's place in the list and an ASCII form of its name."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", party.name.encode("ascii", "ignore").decode()).strip("-")
    return f"evidence-{index + 1}-{party.method}-{stem or 'party'}.json"


PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4
MARGIN = 56
LABEL_WIDTH = 136
BLUE = (0.13, 0.33, 0.55)
GREY = (0.35, 0.35, 0.35)
BLACK = (0.0, 0.0, 0.0)


@dataclass
class _Line:
    segments: list[tuple[float, str]]  # (x, text)
    size: float
    colour: tuple[float, float, float] = BLACK
    space_before: float = 0
    keep_with_next: int = 0  # start a new page unless this many following lines fit too


class _Writer:
    """An fpdf2 document with one font: DejaVu Sans when the file is there, else Helvetica."""

    def __init__(self) -> None:
        self.pdf = FPDF(unit="pt", format=(PAGE_WIDTH, PAGE_HEIGHT))
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(0, 0, 0)
        self.pdf.core_fonts_encoding = "cp1252"  # what fpdf2 declares for core fonts: WinAnsiEncoding
        self.embedded = False
        path = getattr(settings, "SIGNING_AUDIT_FONT_FILE", DEFAULT_FONT_FILE)
        if path and Path(path).is_file():
            try:
                self.pdf.add_font("DejaVuSans", "", str(path))
                self.pdf.set_font("DejaVuSans", size=9)
                self.embedded = True
            except Exception:  # fontTools raises many types for a bad font file
                logger.warning("Cannot use %s for audit trails; using Helvetica", path, exc_info=True)
        if not self.embedded:
            self.pdf.set_font("Helvetica", size=9)

    def printable(self, text: str) -> str:
        """`text` as the font can show it: Helvetica has WinAnsi's characters only."""
        text = _CONTROL.sub(" ", text)
        return text if self.embedded else text.encode("cp1252", errors="replace").decode("cp1252")

    def width(self, text: str, size: float) -> float:
        self.pdf.set_font_size(size)
        return float(self.pdf.get_string_width(self.printable(text)))

    def draw(self, x: float, y: float, text: str, *, size: float, colour: tuple[float, float, float]) -> None:
        """`text` with its baseline at `y` points above the bottom edge (PDF's own coordinates)."""
        self.pdf.set_font_size(size)
        self.pdf.set_text_color(*(round(c * 255) for c in colour))
        self.pdf.text(x, PAGE_HEIGHT - y, self.printable(text))


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _when(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")


def _leading(line: _Line) -> float:
    return line.size * 1.35


def _wrap(text: str, width: float, writer: _Writer, size: float) -> list[str]:
    """`text` in lines no wider than `width`, broken at spaces; longer words break anywhere."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in _CONTROL.sub(" ", paragraph).split(" "):
            candidate = f"{line} {word}" if line else word
            if writer.width(candidate, size) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while writer.width(word, size) > width:
                cut, used = 1, writer.width(word[0], size)
                while used + writer.width(word[cut], size) <= width:
                    used += writer.width(word[cut], size)
                    cut += 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def _audit_lines(
    audit: AuditTrail,
    inputs: Sequence[InputFile],
    page_counts: Sequence[int],
    seal_subject: str,
    writer: _Writer,
) -> list[_Line]:
    lines: list[_Line] = []
    text_width = PAGE_WIDTH - 2 * MARGIN

    def heading(text: str, size: float = 12, space: float = 14) -> None:
        lines.append(_Line([(MARGIN, text)], size, BLUE, space, keep_with_next=2))

    def paragraph(text: str, *, size: float = 9, colour: tuple[float, float, float] = BLACK) -> None:
        for i, part in enumerate(_wrap(text, text_width, writer, size)):
            lines.append(_Line([(MARGIN, part)], size, colour, 4 if i == 0 else 0))

    def row(label: str, value: str, indent: float = 0) -> None:
        x = MARGIN + indent + LABEL_WIDTH
        if writer.width(label, 9) > LABEL_WIDTH - 6:  # a long label gets a line of its own
            lines.append(_Line([(MARGIN + indent, label)], 9, keep_with_next=1))
            label = ""
        for i, part in enumerate(_wrap(value, PAGE_WIDTH - MARGIN - x, writer, 9)):
            segments = [(MARGIN + indent, label), (x, part)] if i == 0 and label else [(x, part)]
            lines.append(_Line(segments, 9))

    roles = {"signer": _("Signer"), "approver": _("Approver"), "viewer": _("Gets a copy")}
    methods = {"email_code": _("Code by email"), "bankid": _("BankID")}
    evidence_labels = {
        "email_code": _("Code by email"),
        "bankid": _("BankID"),
        "bankid_issued": _("BankID issued"),
        "bankid_device": _("Device IP address"),
        "bankid_order": _("BankID order"),
    }

    lines.append(_Line([(MARGIN, _("Audit trail"))], 18, BLUE))
    paragraph(audit.title, size=11)
    heading(_("Summary"))
    row(_("Document"), audit.title)
    row(_("Reference"), audit.reference)
    row(_("Sent by"), audit.sender)
    row(_("Sent"), _when(audit.sent_at))
    row(_("Completed"), _when(audit.completed_at))
    row(_("Electronic seal"), seal_subject)

    heading(_("Parties"))
    for index, party in enumerate(audit.parties):
        lines.append(_Line([(MARGIN, party.name)], 10, BLACK, 8, keep_with_next=3))
        if party.action == "signed" and party.acted_at:
            action = _("Signed %(time)s") % {"time": _when(party.acted_at)}
        elif party.action == "approved" and party.acted_at:
            action = _("Approved %(time)s") % {"time": _when(party.acted_at)}
        else:
            action = _("No action")
        row(_("Email"), party.email, 8)
        row(_("Role"), roles.get(party.role, party.role), 8)
        row(_("Method"), methods.get(party.method, party.method), 8)
        row(_("Action"), action, 8)
        row(_("IP address"), party.ip or "–", 8)
        row(_("User agent"), party.user_agent or "–", 8)
        for name, value in party.evidence.items():
            row(evidence_labels.get(name, name), value, 8)
        if party.evidence_file:
            row(_("Evidence file"), evidence_file_name(index, party), 8)

    heading(_("Files"))
    for index, (item, pages) in enumerate(zip(inputs, page_counts, strict=True)):
        kind = _("Document") if index == 0 else _("Attachment")
        count = ngettext("%(count)d page", "%(count)d pages", pages) % {"count": pages}
        lines.append(_Line([(MARGIN, f"{item.name} ({kind}, {count})")], 10, BLACK, 8, keep_with_next=1))
        # On a line of its own: a checksum must never wrap.
        lines.append(_Line([(MARGIN + 8, f"SHA-256 {hashlib.sha256(item.data).hexdigest()}")], 9))

    heading(_("History"))
    for when, text in audit.history:
        row(_when(when), text)

    lines.append(_Line([], 9, space_before=10))
    paragraph(
        _(
            "This audit trail is part of the sealed file. The electronic seal covers every page of the "
            "file; any change made after sealing breaks it, which PDF readers show. The SHA-256 "
            "checksums identify each file exactly as it was sent for signing."
        ),
        size=8,
        colour=GREY,
    )
    return lines


def audit_pdf(
    audit: AuditTrail, inputs: Sequence[InputFile], page_counts: Sequence[int], seal_subject: str
) -> bytes:
    """The audit trail as a PDF of its own (A4 pages), to be appended to the inputs. Call inside
    `translation.override(audit.language)`."""
    writer = _Writer()
    lines = _audit_lines(audit, inputs, page_counts, seal_subject, writer)
    top, bottom = PAGE_HEIGHT - MARGIN, MARGIN + 30
    pages: list[list[tuple[float, _Line]]] = [[]]
    y: float = top
    for index, line in enumerate(lines):
        needed = sum(_leading(ln) for ln in lines[index : index + 1 + line.keep_with_next])
        if pages[-1] and y - line.space_before - needed < bottom:
            pages.append([])
            y = top
        y -= (line.space_before if pages[-1] else 0) + _leading(line)
        pages[-1].append((y, line))

    for number, placed in enumerate(pages, start=1):
        writer.pdf.add_page()
        for line_y, line in placed:
            for x, text in line.segments:
                writer.draw(x, line_y, text, size=line.size, colour=line.colour)
        footer = _("%(reference)s · Audit trail, page %(page)d of %(count)d") % {
            "reference": audit.reference,
            "page": number,
            "count": len(pages),
        }
        writer.draw(MARGIN, MARGIN - 16, footer, size=8, colour=GREY)
    return bytes(writer.pdf.output())
