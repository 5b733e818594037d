"""signing.pdfcheck: every refusal has its own reason, and ordinary PDFs pass with the right facts.

Every PDF here is made with pypdf in the test, so each file shows what it contains.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript, PageTrigger
from pypdf.annotations import Link
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    TextStringObject,
)

from signing import pdfcheck
from signing.pdfcheck import EmbeddedFile, PdfInfo, PdfRefused, check_pdf
from tests.signing.pdfs import (
    FACTURX_XML,
    SCANNER_JUNK,
    action,
    annotation,
    automatic_actions,
    blank_pdf,
    einvoice,
    embedded_file,
    encrypted,
    incremental_update,
    text_field,
    to_bytes,
    with_junk,
    writer_with_pages,
)

# The English texts, written out: a refusal for the wrong reason fails on the message.
EMPTY = "The file is empty."
NOT_PDF = "This is not a PDF. Save or export the document as PDF and try again."
NOT_PDF_IMAGE = "This is not a PDF but an image. Save or export the document as PDF and try again."
NOT_PDF_OFFICE = (
    "This is not a PDF but an Office document or a ZIP archive, perhaps renamed to .pdf. "
    "Save or export the document as PDF and try again."
)
DAMAGED = (
    "The PDF is damaged or incomplete. Open it in a PDF reader, save or export it again and "
    "upload the new copy."
)
ENCRYPTED = (
    "The PDF is protected with a password. Save or print it to a new PDF without the password and try again."
)
NO_PAGES = "The PDF has no pages."
JAVASCRIPT = (
    "This PDF contains JavaScript, which is not allowed in documents for signing. "
    "Print it to a new PDF and try again."
)
LAUNCH = (
    "This PDF starts another program, which is not allowed in documents for signing. "
    "Print it to a new PDF and try again."
)
EXTERNAL_ATTACHMENT = (
    "This PDF has an attachment whose file is not inside the PDF. "
    "Remove it or print the document to a new PDF and try again."
)
XFA = (
    "This PDF is an XFA form, which cannot be signed. "
    "Print it to a new PDF (or save it as a flattened PDF) and try again."
)
TOO_COMPLEX = "The PDF is too complex to check. Print it to a new PDF and try again."


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # The portal defaults to Swedish; the assertions are on the English msgids.
    with translation.override("en"):
        yield


def refusal(data: bytes | Any, *, name: str = "") -> PdfRefused:
    with pytest.raises(PdfRefused) as excinfo:
        check_pdf(data, name=name)
    return excinfo.value


# Valid files


@pytest.mark.parametrize("pages", [1, 3])
def test_blank_pdf_passes_with_pages_size_and_hash(pages: int) -> None:
    data = blank_pdf(pages)
    assert check_pdf(data) == PdfInfo(pages=pages, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def test_link_annotation_passes() -> None:
    writer = writer_with_pages(2)
    writer.add_annotation(0, Link(rect=(50, 50, 200, 80), url="https://example.com/terms"))
    writer.add_annotation(1, Link(rect=(50, 50, 200, 80), target_page_index=0))
    data = to_bytes(writer)
    assert "/Annots" in PdfReader(io.BytesIO(data)).pages[0]
    assert check_pdf(data) == PdfInfo(pages=2, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def test_plain_acroform_text_field_passes() -> None:
    writer = writer_with_pages(1)
    text_field(writer)
    data = to_bytes(writer)
    assert PdfReader(io.BytesIO(data)).get_fields() is not None
    assert check_pdf(data).pages == 1


def test_open_at_a_page_passes() -> None:
    # Word and most exporters write an /OpenAction that only shows page 1.
    writer = writer_with_pages(2)
    writer.open_destination = writer.pages[1]
    data = to_bytes(writer)
    assert "/OpenAction" in PdfReader(io.BytesIO(data)).root_object
    assert check_pdf(data).pages == 2


def test_complete_incremental_update_passes() -> None:
    data = incremental_update(blank_pdf(1))
    assert check_pdf(data).pages == 2


def test_cyclic_references_are_walked_once() -> None:
    writer = writer_with_pages(1)
    first = writer._add_object(DictionaryObject())
    second = writer._add_object(DictionaryObject({NameObject("/Other"): first}))
    first_obj = first.get_object()
    assert isinstance(first_obj, DictionaryObject)
    first_obj[NameObject("/Other")] = second
    first_obj[NameObject("/Self")] = first
    writer.root_object[NameObject("/PieceInfo")] = first
    assert check_pdf(to_bytes(writer)).pages == 1


def test_file_object_is_read_from_the_start_and_rewound() -> None:
    data = blank_pdf(1)
    stream = io.BytesIO(data)
    stream.seek(100)
    assert check_pdf(stream) == PdfInfo(pages=1, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    assert stream.tell() == 0


# Not a PDF


def test_empty_file_is_refused() -> None:
    exc = refusal(b"")
    assert (exc.code, exc.message) == (pdfcheck.EMPTY, EMPTY)
    assert refusal(io.BytesIO()).message == EMPTY


def test_zip_renamed_to_pdf_is_not_a_pdf() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    exc = refusal(out.getvalue(), name="contract.pdf")
    assert exc.code == pdfcheck.NOT_PDF
    assert exc.message == f"contract.pdf: {NOT_PDF_OFFICE}"


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_image_is_not_a_pdf(image_format: str) -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "white").save(out, format=image_format)
    exc = refusal(out.getvalue())
    assert (exc.code, exc.message) == (pdfcheck.NOT_PDF, NOT_PDF_IMAGE)


@pytest.mark.parametrize("data", [b"Dear customer,\nplease sign.\n", b"<html><body>PDF</body></html>"])
def test_text_is_not_a_pdf(data: bytes) -> None:
    exc = refusal(data)
    assert (exc.code, exc.message) == (pdfcheck.NOT_PDF, NOT_PDF)


# Damaged


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9])
def test_truncated_pdf_is_damaged(keep: float) -> None:
    data = blank_pdf(3)
    exc = refusal(data[: int(len(data) * keep)])
    assert (exc.code, exc.message) == (pdfcheck.DAMAGED, DAMAGED)


def test_pdf_cut_inside_the_eof_marker_is_damaged() -> None:
    data = blank_pdf(1)
    cut = data[: data.rindex(b"%%EOF") + 3]
    # pypdf accepts it with a warning ("EOF marker seems truncated").
    assert len(PdfReader(io.BytesIO(cut), strict=True).pages) == 1
    assert refusal(cut).message == DAMAGED


@pytest.mark.parametrize("part_of_update", [0.1, 0.5, 0.95])
def test_pdf_cut_inside_an_incremental_update_is_damaged(part_of_update: float) -> None:
    base = blank_pdf(1)
    updated = incremental_update(base)
    cut = updated[: len(base) + int((len(updated) - len(base)) * part_of_update)]
    # pypdf silently reads the earlier revision: this is what the check is for.
    assert len(PdfReader(io.BytesIO(cut), strict=True).pages) == 1
    assert refusal(cut).message == DAMAGED


def test_pdf_cut_after_a_long_incremental_update_is_damaged() -> None:
    base = blank_pdf(1)
    writer = PdfWriter(io.BytesIO(base), incremental=True)
    for _ in range(40):
        writer.add_blank_page(595, 842)
    updated = to_bytes(writer)
    cut = updated[: len(base) + 1500]
    assert cut.rfind(b"%%EOF") < len(cut) - 1024
    assert refusal(cut).message == DAMAGED


def test_bytes_after_the_last_eof_marker_are_left_out_of_the_copy() -> None:
    data = blank_pdf(1)
    info = check_pdf(with_junk(data))
    assert (info.pages, info.size, info.trailing_bytes) == (
        1,
        len(data) + len(SCANNER_JUNK),
        len(SCANNER_JUNK),
    )
    assert info.needs_copy and info.end == len(data)
    assert info.sha256 == hashlib.sha256(with_junk(data)).hexdigest()
    assert check_pdf(data + b"garbage").trailing_bytes == len(b"garbage")


def test_junk_after_an_incremental_update_is_left_out() -> None:
    data = incremental_update(blank_pdf(1))
    info = check_pdf(with_junk(data, b"\r\n" + b"\xff" * 5000))
    assert (info.pages, info.end) == (2, len(data))


@pytest.mark.parametrize(
    "tail",
    [b"4 0 obj\n<< /Type /Page", b"xref\n0 1\n", b"garbage\n5 0 obj <<>> endobj", b"junk trailer << >>"],
)
def test_pdf_syntax_after_the_last_eof_marker_is_damaged(tail: bytes) -> None:
    # What a file cut inside an incremental update (or a second file glued on) leaves there.
    assert refusal(blank_pdf(1) + b"\n" + tail).message == DAMAGED


def test_trailing_whitespace_after_eof_marker_passes() -> None:
    assert check_pdf(blank_pdf(1) + b"\r\n\x00\x00  \n").pages == 1


def test_bytes_before_the_header_are_damaged() -> None:
    assert refusal(b"From: someone\r\n\r\n" + blank_pdf(1)).message == DAMAGED


def test_page_count_that_disagrees_with_the_page_tree_is_damaged() -> None:
    data = blank_pdf(2)
    assert data.count(b"/Count 2") == 1
    assert refusal(data.replace(b"/Count 2", b"/Count 3")).message == DAMAGED


def test_page_with_undecodable_content_is_damaged() -> None:
    writer = writer_with_pages(1)
    contents = DecodedStreamObject()
    contents.set_data(b"this is not zlib data")
    contents[NameObject("/Filter")] = NameObject("/FlateDecode")
    writer.pages[0][NameObject("/Contents")] = writer._add_object(contents)
    assert refusal(to_bytes(writer)).message == DAMAGED


def test_reference_to_a_missing_object_is_damaged() -> None:
    writer = writer_with_pages(1)
    writer.root_object[NameObject("/PieceInfo")] = IndirectObject(999, 0, writer)
    assert refusal(to_bytes(writer)).message == DAMAGED


# Encrypted


@pytest.mark.parametrize("algorithm", ["AES-128", "RC4-128", "AES-256", "RC4-40"])
def test_pdf_encrypted_with_an_empty_user_password_is_decrypted_in_the_copy(algorithm: str) -> None:
    data = encrypted(writer_with_pages(2), algorithm=algorithm)
    # pypdf opens it without being asked for a password: only is_encrypted tells.
    assert PdfReader(io.BytesIO(data), strict=True).is_encrypted
    info = check_pdf(data)
    assert (info.pages, info.decrypted, info.needs_copy, info.trailing_bytes) == (2, True, True, 0)


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256", "RC4-40"])
def test_pdf_that_needs_a_password_is_refused(algorithm: str) -> None:
    exc = refusal(encrypted(writer_with_pages(1), user_password="secret", algorithm=algorithm), name="a.pdf")
    assert (exc.code, exc.message) == (pdfcheck.ENCRYPTED, f"a.pdf: {ENCRYPTED}")


# Pages


def test_pdf_without_pages_is_refused() -> None:
    data = to_bytes(PdfWriter())
    assert len(PdfReader(io.BytesIO(data), strict=True).pages) == 0
    exc = refusal(data)
    assert (exc.code, exc.message) == (pdfcheck.NO_PAGES, NO_PAGES)


def test_page_limit_exactly_at_the_limit_passes(settings: Any) -> None:
    settings.SIGNING_MAX_PAGES = 3
    assert check_pdf(blank_pdf(3)).pages == 3


def test_page_limit_one_page_over_is_refused(settings: Any) -> None:
    settings.SIGNING_MAX_PAGES = 3
    exc = refusal(blank_pdf(4))
    assert (exc.code, exc.message) == (
        pdfcheck.TOO_MANY_PAGES,
        "The PDF has 4 pages, more than the limit of 3.",
    )


def test_page_limit_defaults_to_500(settings: Any) -> None:
    if hasattr(settings, "SIGNING_MAX_PAGES"):
        del settings.SIGNING_MAX_PAGES
    assert check_pdf(blank_pdf(500)).pages == 500
    assert refusal(blank_pdf(501)).code == pdfcheck.TOO_MANY_PAGES


# Size


def test_size_exactly_at_the_limit_passes(settings: Any) -> None:
    data = blank_pdf(1)
    settings.SIGNING_MAX_BYTES = len(data)
    assert check_pdf(data).size == len(data)
    assert check_pdf(io.BytesIO(data)).size == len(data)


def test_size_one_byte_over_the_limit_is_refused(settings: Any) -> None:
    data = blank_pdf(1)
    settings.SIGNING_MAX_BYTES = len(data) - 1
    for source in (data, io.BytesIO(data)):
        exc = refusal(source)
        assert exc.code == pdfcheck.TOO_LARGE
        assert exc.message == f"The file is too large: at most {len(data) - 1} B can be sent for signing."


class _OneWayStream(io.RawIOBase):
    """A non-seekable upload stream that counts what is read from it."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._data) - self.bytes_read
        chunk = self._data[self.bytes_read : self.bytes_read + size]
        self.bytes_read += len(chunk)
        return chunk


def test_large_stream_is_read_only_one_byte_past_the_limit(settings: Any) -> None:
    settings.SIGNING_MAX_BYTES = 5 * 10**6
    stream = _OneWayStream(b"%PDF-1.7\n" + b"0" * (20 * 10**6))
    exc = refusal(stream)
    assert exc.message == "The file is too large: at most 5.0 MB can be sent for signing."
    assert stream.bytes_read == 5 * 10**6 + 1


def test_size_limit_defaults_to_50_mb(settings: Any) -> None:
    if hasattr(settings, "SIGNING_MAX_BYTES"):
        del settings.SIGNING_MAX_BYTES
    exc = refusal(_OneWayStream(b"%PDF-1.7\n" + b"0" * (50 * 10**6)))
    assert exc.message == "The file is too large: at most 50.0 MB can be sent for signing."


# Active and hidden content


def test_document_javascript_name_tree_is_refused() -> None:
    writer = writer_with_pages(1)
    writer.add_open_action(JavaScript("app.alert('hello');"))
    data = to_bytes(writer)
    names = PdfReader(io.BytesIO(data)).root_object["/Names"]
    assert isinstance(names, DictionaryObject) and "/JavaScript" in names
    exc = refusal(data)
    assert (exc.code, exc.message) == (pdfcheck.JAVASCRIPT, JAVASCRIPT)


def test_open_action_with_javascript_is_refused() -> None:
    writer = writer_with_pages(1)
    writer.root_object[NameObject("/OpenAction")] = writer._add_object(
        action("/JavaScript", JS=TextStringObject("this.print();"))
    )
    assert refusal(to_bytes(writer)).message == JAVASCRIPT


def test_javascript_in_a_link_is_refused() -> None:
    writer = writer_with_pages(1)
    writer.add_annotation(
        0, annotation("/Link", A=action("/JavaScript", JS=TextStringObject("app.alert(1)")))
    )
    assert refusal(to_bytes(writer)).message == JAVASCRIPT


def test_javascript_uri_is_refused() -> None:
    writer = writer_with_pages(1)
    writer.add_annotation(
        0, annotation("/Link", A=action("/URI", URI=TextStringObject(" JavaScript:alert(1)")))
    )
    assert refusal(to_bytes(writer)).message == JAVASCRIPT


def test_javascript_key_spelled_with_a_name_escape_is_refused() -> None:
    writer = writer_with_pages(1)
    writer.add_annotation(0, annotation("/Link", A=action("/Named", JS=TextStringObject("x1"))))
    data = to_bytes(writer)
    assert data.count(b"/JS (x1)") == 1
    # "/J#53" is "/JS" to a PDF reader; same length, so the cross-reference table stays right.
    assert refusal(data.replace(b"/JS (x1)", b"/J#53(x)")).message == JAVASCRIPT


def test_javascript_in_a_bookmark_is_refused() -> None:
    writer = writer_with_pages(1)
    outline = writer.add_outline_item(title="Start", page_number=0).get_object()
    assert isinstance(outline, DictionaryObject)
    outline[NameObject("/A")] = action("/JavaScript", JS=TextStringObject("app.alert(1)"))
    assert refusal(to_bytes(writer)).message == JAVASCRIPT


def test_page_additional_action_with_javascript_is_refused() -> None:
    writer = writer_with_pages(1)
    writer.pages[0].add_action(PageTrigger.OPEN, JavaScript("app.alert(1)"))
    data = to_bytes(writer)
    assert "/AA" in PdfReader(io.BytesIO(data)).pages[0]
    assert refusal(data).message == JAVASCRIPT


def test_form_field_additional_action_with_javascript_is_refused() -> None:
    writer = writer_with_pages(1)
    text_field(
        writer,
        AA=DictionaryObject(
            {NameObject("/K"): action("/JavaScript", JS=TextStringObject("AFNumber_Keystroke()"))}
        ),
    )
    assert refusal(to_bytes(writer)).message == JAVASCRIPT


@pytest.mark.parametrize(
    ("where", "code"), [("catalog", "document"), ("page", "page"), ("annotation", "field")]
)
def test_additional_action_without_javascript_is_removed_in_the_copy(where: str, code: str) -> None:
    writer = writer_with_pages(1)
    # Print on open: no script, but it runs by itself.
    additional = DictionaryObject({NameObject("/O"): action("/Named", N=NameObject("/Print"))})
    if where == "catalog":
        writer.root_object[NameObject("/AA")] = additional
    elif where == "page":
        writer.pages[0][NameObject("/AA")] = additional
    else:
        writer.add_annotation(0, annotation("/Link", AA=additional))
    info = check_pdf(to_bytes(writer))
    assert info.removed == (f"{code}:Named",)
    assert info.needs_copy and not info.decrypted and not info.trailing_bytes


def test_open_action_other_than_showing_a_page_is_removed_in_the_copy() -> None:
    writer = writer_with_pages(1)
    writer.root_object[NameObject("/OpenAction")] = action(
        "/URI", URI=TextStringObject("https://example.com/"), Next=action("/GoTo", D=ArrayObject())
    )
    assert check_pdf(to_bytes(writer)).removed == ("open:GoTo", "open:URI")


def test_every_automatic_action_is_named_by_where_it_runs_and_what_it_does() -> None:
    info = check_pdf(to_bytes(automatic_actions(writer_with_pages(1))))
    assert info.removed == ("field:Hide", "field:ResetForm", "field:SubmitForm", "open:URI", "page:Named")


def test_an_unknown_action_type_is_other() -> None:
    writer = writer_with_pages(1)
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/C"): action("/Teleport")})
    assert check_pdf(to_bytes(writer)).removed == ("page:other",)


def test_a_long_next_chain_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdfcheck, "_MAX_CHAIN", 3)
    chain = action("/Named", N=NameObject("/Print"))
    for _ in range(10):
        chain = action("/URI", URI=TextStringObject("https://example.com/"), Next=chain)
    writer = writer_with_pages(1)
    writer.root_object[NameObject("/OpenAction")] = chain
    assert check_pdf(to_bytes(writer)).removed == ("open:URI", "open:other")


def test_launch_action_in_an_annotation_is_refused() -> None:
    writer = writer_with_pages(1)
    writer.add_annotation(0, annotation("/Link", A=action("/Launch", F=TextStringObject("cmd.exe"))))
    exc = refusal(to_bytes(writer))
    assert (exc.code, exc.message) == (pdfcheck.LAUNCH, LAUNCH)


def test_launch_as_open_action_is_refused() -> None:
    writer = writer_with_pages(1)
    writer.root_object[NameObject("/OpenAction")] = writer._add_object(
        action("/Launch", Win=DictionaryObject({NameObject("/F"): TextStringObject("calc.exe")}))
    )
    # It also runs by itself; the more specific reason wins.
    assert refusal(to_bytes(writer)).message == LAUNCH


def test_attachment_is_listed_with_its_size() -> None:
    writer = writer_with_pages(1)
    writer.add_attachment("payload.txt", b"hello")
    data = to_bytes(writer)
    names = PdfReader(io.BytesIO(data)).root_object["/Names"]
    assert isinstance(names, DictionaryObject) and "/EmbeddedFiles" in names
    info = check_pdf(data)
    assert info.embedded == (EmbeddedFile("payload.txt", 5),)
    assert not info.needs_copy  # the file is signed as it is


def test_einvoice_lists_its_xml_once() -> None:
    # The XML is reachable from the name tree and from the catalogue's /AF: one file.
    info = check_pdf(to_bytes(einvoice(writer_with_pages(1))))
    assert info.embedded == (EmbeddedFile("factur-x.xml", len(FACTURX_XML)),)


def test_file_attachment_annotation_is_listed() -> None:
    writer = writer_with_pages(1)
    writer.add_annotation(0, annotation("/FileAttachment", FS=embedded_file(b"MZ...")))
    assert check_pdf(to_bytes(writer)).embedded == (EmbeddedFile("invoice.exe", 5),)


def test_embedded_file_that_does_not_decode_is_damaged() -> None:
    writer = writer_with_pages(1)
    attachment = writer.add_attachment("broken.xml", b"x")
    files: Any = attachment.pdf_object["/EF"]
    stream = files["/F"].get_object()
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream.set_data(b"this is not zlib data")
    assert refusal(to_bytes(writer)).message == DAMAGED


def test_file_attachment_annotation_without_embedded_stream_is_refused() -> None:
    writer = writer_with_pages(1)
    writer.add_annotation(0, annotation("/FileAttachment", FS=TextStringObject("invoice.exe")))
    exc = refusal(to_bytes(writer))
    assert (exc.code, exc.message) == (pdfcheck.EXTERNAL_ATTACHMENT, EXTERNAL_ATTACHMENT)


def test_javascript_among_automatic_actions_is_refused() -> None:
    writer = automatic_actions(writer_with_pages(1))
    writer.pages[0][NameObject("/AA")] = DictionaryObject(
        {
            NameObject("/C"): action(
                "/Named", N=NameObject("/Print"), Next=action("/JavaScript", JS=TextStringObject("1"))
            )
        }
    )
    assert refusal(with_junk(encrypted(writer))).message == JAVASCRIPT


def test_launch_in_an_encrypted_pdf_with_junk_is_refused() -> None:
    writer = writer_with_pages(1)
    writer.add_annotation(0, annotation("/Link", A=action("/Launch", F=TextStringObject("cmd.exe"))))
    assert refusal(with_junk(encrypted(writer))).message == LAUNCH


def test_xfa_form_is_refused() -> None:
    writer = writer_with_pages(1)
    text_field(writer)
    xfa = DecodedStreamObject()
    xfa.set_data(b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"></xdp:xdp>')
    acroform = writer.root_object["/AcroForm"]
    assert isinstance(acroform, DictionaryObject)
    acroform[NameObject("/XFA")] = writer._add_object(xfa)
    exc = refusal(to_bytes(writer))
    assert (exc.code, exc.message) == (pdfcheck.XFA, XFA)


def test_javascript_is_named_before_other_findings() -> None:
    writer = writer_with_pages(1)
    writer.add_annotation(0, annotation("/FileAttachment", FS=TextStringObject("invoice.exe")))
    writer.add_annotation(0, annotation("/Link", A=action("/Launch", F=TextStringObject("cmd.exe"))))
    writer.add_open_action(JavaScript("app.alert(1)"))
    assert refusal(to_bytes(writer)).message == JAVASCRIPT


def test_javascript_behind_a_reference_cycle_is_found() -> None:
    writer = writer_with_pages(1)
    first = writer._add_object(DictionaryObject())
    second = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Back"): first,
                NameObject("/Deep"): action("/JavaScript", JS=TextStringObject("app.alert(1)")),
            }
        )
    )
    first_obj = first.get_object()
    assert isinstance(first_obj, DictionaryObject)
    first_obj[NameObject("/Next")] = second
    writer.root_object[NameObject("/PieceInfo")] = first
    assert refusal(to_bytes(writer)).message == JAVASCRIPT


def test_walk_gives_up_past_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdfcheck, "_MAX_WALK_ENTRIES", 10)
    exc = refusal(blank_pdf(3))
    assert (exc.code, exc.message) == (pdfcheck.TOO_COMPLEX, TOO_COMPLEX)


def test_message_names_the_file() -> None:
    exc = refusal(b"", name="avtal.pdf")
    assert exc.message == f"avtal.pdf: {EMPTY}"
    assert str(exc) == exc.message


def test_file_name_in_the_message_is_one_short_line() -> None:
    exc = refusal(b"", name="avtal\n" + "x" * 200 + ".pdf")
    assert exc.message == f"avtal {'x' * 73}…: {EMPTY}"
