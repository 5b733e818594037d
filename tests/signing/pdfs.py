"""PDFs made in the tests with pypdf, so each file shows what it contains: blank pages, actions,
annotations, form fields, attachments, and the ordinary PDFs that need a copy before signing
(trailing bytes from a scanner, an empty user password, automatic actions, a PDF/A-3 e-invoice)."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    TextStringObject,
)


def to_bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def writer_with_pages(pages: int = 1) -> PdfWriter:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    return writer


def blank_pdf(pages: int = 1) -> bytes:
    return to_bytes(writer_with_pages(pages))


def action(kind: str, **entries: Any) -> DictionaryObject:
    result = DictionaryObject(
        {NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject(kind)}
    )
    for key, value in entries.items():
        result[NameObject(f"/{key}")] = value
    return result


def annotation(subtype: str, **entries: Any) -> DictionaryObject:
    result = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject(subtype),
            NameObject("/Rect"): ArrayObject(
                [FloatObject(50), FloatObject(50), FloatObject(150), FloatObject(80)]
            ),
        }
    )
    for key, value in entries.items():
        result[NameObject(f"/{key}")] = value
    return result


def text_field(writer: PdfWriter, **entries: Any) -> IndirectObject:
    """A plain AcroForm text field, its widget on page 1."""
    field = annotation(
        "/Widget",
        FT=NameObject("/Tx"),
        T=TextStringObject("customer_name"),
        V=TextStringObject(""),
        F=NumberObject(4),
        **entries,
    )
    ref = writer._add_object(field)
    writer.pages[0][NameObject("/Annots")] = ArrayObject([ref])
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([ref]), NameObject("/DA"): TextStringObject("/Helv 0 Tf 0 g")}
    )
    return ref


def embedded_file(data: bytes) -> DictionaryObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    stream[NameObject("/Type")] = NameObject("/EmbeddedFile")
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Filespec"),
            NameObject("/F"): TextStringObject("invoice.exe"),
            NameObject("/EF"): DictionaryObject({NameObject("/F"): stream}),
        }
    )


def incremental_update(base: bytes) -> bytes:
    """`base` plus an incremental update that adds a page."""
    writer = PdfWriter(io.BytesIO(base), incremental=True)
    writer.add_blank_page(595, 842)
    return to_bytes(writer)


# Ordinary PDFs that need a copy, or carry files


SCANNER_JUNK = b"\x1a\r\n--scanner-footer-v2--\r\nPAGECOUNT=1;DPI=300\r\n" + bytes(range(200, 256)) * 4


def with_junk(data: bytes, junk: bytes = SCANNER_JUNK) -> bytes:
    """`data` with what a scanner appends after %%EOF."""
    return data + junk


def encrypted(writer: PdfWriter, *, user_password: str = "", algorithm: str = "AES-128") -> bytes:
    writer.encrypt(user_password, "owner-secret", algorithm=algorithm)
    return to_bytes(writer)


FACTURX_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">'
    + b"<ram:ID>FA-2026-0042</ram:ID>" * 20
    + b"</rsm:CrossIndustryInvoice>\n"
)


def einvoice(writer: PdfWriter, xml: bytes = FACTURX_XML, name: str = "factur-x.xml") -> PdfWriter:
    """A PDF/A-3 style e-invoice: the XML embedded as an associated file (/AF on the catalogue,
    /AFRelationship /Data, /Params /Size), as Factur-X and ZUGFeRD write it."""
    attachment = writer.add_attachment(name, xml)
    attachment.subtype = NameObject("/text#2Fxml")
    attachment.associated_file_relationship = NameObject("/Data")
    attachment.size = NumberObject(len(xml))
    spec = attachment.pdf_object.indirect_reference
    assert spec is not None
    writer.root_object[NameObject("/AF")] = ArrayObject([spec])
    return writer


def automatic_actions(writer: PdfWriter) -> PdfWriter:
    """Actions that run by themselves, none of them JavaScript or Launch: open a web address when
    the document opens, print on page open, submit and reset a form field on focus and blur, a
    link that hides fields when the mouse enters it."""
    writer.root_object[NameObject("/OpenAction")] = action(
        "/URI", URI=TextStringObject("https://tracker.example.com/opened")
    )
    writer.pages[0][NameObject("/AA")] = DictionaryObject(
        {NameObject("/O"): action("/Named", N=NameObject("/Print"))}
    )
    text_field(
        writer,
        AA=DictionaryObject(
            {
                NameObject("/Fo"): action(
                    "/SubmitForm",
                    F=TextStringObject("https://collect.example.com/"),
                    Next=action("/ResetForm"),
                ),
            }
        ),
    )
    writer.add_annotation(
        0,
        annotation(
            "/Link", AA=DictionaryObject({NameObject("/E"): action("/Hide", T=TextStringObject("x"))})
        ),
    )
    return writer
