"""Decide whether a PDF may be sent for signing, and say why not in words a user can act on.

`check_pdf(data, name=...)` returns `PdfInfo(pages, size, sha256)` or raises `PdfRefused`, whose
message is translated and safe to show and whose `code` says which rule refused the file.

Settings (read on every call, so tests can override them):

- ``SIGNING_MAX_BYTES`` (default ``50 * 10**6``): the largest file, in bytes, that may be sent.
  Exactly this many bytes pass. A file object is never read further than one byte past it.
- ``SIGNING_MAX_PAGES`` (default ``500``): the most pages a PDF may have. Exactly this many pass.

What is refused, in the order it is checked:

1. an empty file, or one over ``SIGNING_MAX_BYTES``;
2. bytes that are not a PDF: the file must start with ``%PDF-`` (images, ZIP archives and Office
   documents renamed to .pdf get their own message);
3. a damaged or incomplete PDF: the last 1024 bytes must hold a ``%%EOF`` marker followed by
   nothing but whitespace (a file cut off in the middle of an incremental update still parses as
   its earlier revision, so parsing alone does not notice); pypdf must parse it with
   ``strict=True``; the page tree must agree with its ``/Count``; every page must load, its
   content streams decoded without pypdf's Flate recovery; and every object reachable from the
   catalogue must resolve;
4. an encrypted PDF, even one that opens with an empty user password;
5. no pages, or more than ``SIGNING_MAX_PAGES``;
6. active or hidden content anywhere reachable from the document catalogue: JavaScript
   (``/JS``, ``/JavaScript`` actions and name trees, ``javascript:`` links), ``/Launch`` actions,
   embedded files (``/EmbeddedFiles``, ``/EF``, file attachment annotations), XFA forms, and
   actions that run by themselves (any ``/AA``, an ``/OpenAction`` other than going to a page).
   That walk gives up (and refuses the file as too complex) after 2 million dictionary and array
   entries.

The message is prefixed with the file name when one is given ("avtal.pdf: The file is empty.").

The module is pure: no models, no database, no storage.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import filetype
from django.conf import settings
from django.utils.translation import gettext
from pypdf import PdfReader, apply_configuration
from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    IndirectObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)

from portal.errors import ServiceError
from portal.units import human_size

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 10**6
DEFAULT_MAX_PAGES = 500

_READ_CHUNK = 1024 * 1024
# PDF 32000-1 puts %%EOF at the very end; readers accept it within the last 1024 bytes.
_EOF_WINDOW = 1024
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_MAX_NAME_LENGTH = 80
# Dictionary and array entries the active-content walk may look at before it gives up. Generous:
# a 500-page tagged report has a few hundred thousand; each entry costs well under a microsecond.
_MAX_WALK_ENTRIES = 2_000_000

# pypdf signals bad input with its own errors but also with whatever its parser trips over, so
# the boundary catches broadly. TypeError and the like could also hide a bug of ours: the tests
# on valid files are what guard against that.
_PARSE_ERRORS: tuple[type[BaseException], ...] = (
    PyPdfError,  # PdfReadError, EmptyFileError, FileNotDecryptedError, LimitReachedError, ...
    DependencyError,
    ValueError,  # UnicodeDecodeError, binascii.Error
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    AssertionError,
    ArithmeticError,
    NotImplementedError,
    RecursionError,
    EOFError,
    OSError,
    zlib.error,
    struct.error,
)

# Codes of PdfRefused, for callers and tests that need to tell refusals apart.
EMPTY = "empty"
TOO_LARGE = "too_large"
NOT_PDF = "not_pdf"
DAMAGED = "damaged"
ENCRYPTED = "encrypted"
NO_PAGES = "no_pages"
TOO_MANY_PAGES = "too_many_pages"
JAVASCRIPT = "javascript"
LAUNCH = "launch"
EMBEDDED_FILES = "embedded_files"
XFA = "xfa"
AUTOMATIC_ACTIONS = "automatic_actions"
TOO_COMPLEX = "too_complex"

# When a file has several kinds of active content, the first in this order is reported.
_ACTIVE_CONTENT_ORDER = (JAVASCRIPT, LAUNCH, EMBEDDED_FILES, XFA, AUTOMATIC_ACTIONS)


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    size: int  # bytes
    sha256: str  # hex digest of exactly the bytes that were checked


class PdfRefused(ServiceError):
    """The file may not be sent for signing. `message` is translated and safe to show; `code` is
    one of the module's code constants (EMPTY, NOT_PDF, DAMAGED, JAVASCRIPT, ...)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def check_pdf(data: bytes | BinaryIO, *, name: str = "") -> PdfInfo:
    """Check that `data` is a PDF that may be sent for signing; raise PdfRefused if not.

    `data` is the file's bytes or a binary file object. A seekable file object is read from its
    start and left rewound; a non-seekable one is read from where it stands. `name` (the file name
    the user chose) only prefixes the message and goes to the log.
    """
    max_bytes = int(getattr(settings, "SIGNING_MAX_BYTES", DEFAULT_MAX_BYTES))
    max_pages = int(getattr(settings, "SIGNING_MAX_PAGES", DEFAULT_MAX_PAGES))

    content = _read_at_most(data, max_bytes, name=name)
    _check_kind(content, name=name)
    _check_complete(content, name=name)
    # pypdf quietly recovers what it can of a corrupt Flate stream; here that is damage. The
    # configuration is a context variable: other threads and callers keep pypdf's default.
    with apply_configuration(zlib_maximum_recovery_input_length=0):
        pages = _check_document(content, max_pages=max_pages, name=name)
    return PdfInfo(pages=pages, size=len(content), sha256=hashlib.sha256(content).hexdigest())


def _check_document(content: bytes, *, max_pages: int, name: str) -> int:
    """Parse, count and load the pages, look for active content; return the number of pages."""
    reader = _open(content, name=name)
    try:
        pages = _count_pages(reader)
    except _PARSE_ERRORS as exc:
        raise _damaged(name, exc) from None
    if pages == 0:
        raise _refused(NO_PAGES, gettext("The PDF has no pages."), name)
    if pages > max_pages:
        raise _refused(
            TOO_MANY_PAGES,
            gettext("The PDF has %(pages)s pages, more than the limit of %(limit)s.")
            % {"pages": pages, "limit": max_pages},
            name,
        )
    try:
        _load_pages(reader)
        found = _find_active_content(reader)
    except _WalkTooLarge:
        raise _refused(
            TOO_COMPLEX,
            gettext("The PDF is too complex to check. Print it to a new PDF and try again."),
            name,
        ) from None
    except _PARSE_ERRORS as exc:
        raise _damaged(name, exc) from None
    for code in _ACTIVE_CONTENT_ORDER:
        if code in found:
            raise _refused(code, _active_content_message(code), name)
    return pages


# Reading and sniffing


def _read_at_most(data: bytes | BinaryIO, limit: int, *, name: str) -> bytes:
    too_large = gettext("The file is too large: at most %(limit)s can be sent for signing.") % {
        "limit": human_size(limit)
    }
    if isinstance(data, bytes | bytearray | memoryview):
        content = bytes(data)
        if len(content) > limit:
            raise _refused(TOO_LARGE, too_large, name)
    else:
        seekable = data.seekable()
        if seekable:
            # Refuse a large file on disk without reading it.
            data.seek(0, io.SEEK_END)
            size = data.tell()
            data.seek(0)
            if size > limit:
                raise _refused(TOO_LARGE, too_large, name)
        chunks: list[bytes] = []
        total = 0
        # Read one byte past the limit at most: enough to know the file is too large.
        while total <= limit:
            chunk = data.read(min(_READ_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if seekable:
            data.seek(0)
        if total > limit:
            raise _refused(TOO_LARGE, too_large, name)
        content = b"".join(chunks)
    if not content:
        raise _refused(EMPTY, gettext("The file is empty."), name)
    return content


_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .xls, .ppt, .msg before Office 2007
_ARCHIVE_MIMES = frozenset(
    {
        "application/zip",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/gzip",
        "application/x-tar",
        "application/x-bzip2",
        "application/x-xz",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/rtf",
        "application/epub+zip",
    }
)


def _check_kind(content: bytes, *, name: str) -> None:
    if content.startswith(b"%PDF-"):
        return
    if b"%PDF-" in content[:_EOF_WINDOW]:
        # A PDF behind some other bytes (a mail or download wrapper): strict parsing refuses it.
        raise _damaged(name, "bytes before the %PDF- header")
    kind = filetype.guess(content[:8192])
    mime = kind.mime if kind is not None else ""
    if mime.startswith("image/"):
        message = gettext("This is not a PDF but an image. Save or export the document as PDF and try again.")
    elif mime in _ARCHIVE_MIMES or content.startswith((b"PK\x03\x04", b"PK\x05\x06", _OLE2_MAGIC)):
        message = gettext(
            "This is not a PDF but an Office document or a ZIP archive, perhaps renamed to .pdf. "
            "Save or export the document as PDF and try again."
        )
    else:
        message = gettext("This is not a PDF. Save or export the document as PDF and try again.")
    logger.info("pdfcheck refused %r: not a PDF (%s)", name, mime or "unknown kind")
    raise PdfRefused(_with_name(message, name), code=NOT_PDF)


def _check_complete(content: bytes, *, name: str) -> None:
    """The file must end with %%EOF (trailing whitespace allowed).

    pypdf reads a file cut off inside an incremental update as the earlier revision that precedes
    it, silently. Such a cut leaves object syntax after the earlier %%EOF, or no %%EOF near the end.
    """
    tail = content[-_EOF_WINDOW:]
    marker = tail.rfind(b"%%EOF")
    if marker < 0:
        raise _damaged(name, "no %%EOF in the last 1024 bytes")
    if tail[marker + len(b"%%EOF") :].strip(_PDF_WHITESPACE):
        raise _damaged(name, "bytes after the last %%EOF")


def _open(content: bytes, *, name: str) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(content), strict=True)
        encrypted = reader.is_encrypted
    except FileNotDecryptedError:
        encrypted = True
    except _PARSE_ERRORS as exc:
        raise _damaged(name, exc) from None
    if encrypted:
        # pypdf opens a file with an empty user password without asking; it is still encrypted,
        # and sealing and signing it would need the owner password.
        raise _refused(
            ENCRYPTED,
            gettext("The PDF is encrypted or password-protected. Remove the protection and try again."),
            name,
        )
    return reader


# Structure


def _count_pages(reader: PdfReader) -> int:
    pages = len(reader.pages)
    tree = reader.root_object["/Pages"]  # DictionaryObject.__getitem__ resolves references
    if not isinstance(tree, DictionaryObject):
        raise PyPdfError("/Pages is not a dictionary")
    declared = tree.get("/Count")
    if declared is not None and int(declared.get_object()) != pages:
        # Viewers disagree on such a file: some trust /Count, others the tree.
        raise PyPdfError(f"/Count {declared} but {pages} pages in the page tree")
    return pages


def _load_pages(reader: PdfReader) -> None:
    """Every page has a media box and decodable content streams."""
    for page in reader.pages:
        _ = page.mediabox
        contents = page.get("/Contents")
        if contents is None:
            continue
        resolved = contents.get_object()
        if resolved is None or not isinstance(resolved, ArrayObject | StreamObject):
            raise PyPdfError("page /Contents is not a stream or an array of streams")
        page.get_contents()


# Active content


class _WalkTooLarge(Exception):
    pass


def _find_active_content(reader: PdfReader) -> set[str]:
    """Walk every object reachable from the catalogue; return the active-content codes found.

    Iterative, with a visited set (cycles such as /Parent links are the norm in PDFs) and a
    bound on the entries looked at.
    """
    root = reader.trailer["/Root"].get_object()
    if not isinstance(root, DictionaryObject):
        raise PyPdfError("the catalogue is not a dictionary")
    found: set[str] = set()
    if _opens_with_action(root.get("/OpenAction")):
        found.add(AUTOMATIC_ACTIONS)
    for obj in _reachable_containers(root):
        if isinstance(obj, DictionaryObject):
            found |= _active_content_in(obj)
    return found


def _reachable_containers(root: DictionaryObject) -> Iterator[DictionaryObject | ArrayObject]:
    seen_refs: set[tuple[int, int]] = set()
    seen_ids: set[int] = set()
    stack: list[PdfObject] = [root]
    entries = 0
    while stack:
        obj: PdfObject | None = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen_refs:
                continue
            seen_refs.add(ref)
            obj = obj.get_object()
        if not isinstance(obj, DictionaryObject | ArrayObject) or id(obj) in seen_ids:
            continue
        seen_ids.add(id(obj))
        entries += len(obj)
        if entries > _MAX_WALK_ENTRIES:
            raise _WalkTooLarge
        yield obj
        # dict.values / list iteration give the raw entries: references stay unresolved until popped.
        values = dict.values(obj) if isinstance(obj, DictionaryObject) else list.__iter__(obj)
        stack.extend(v for v in values if isinstance(v, IndirectObject | DictionaryObject | ArrayObject))


def _active_content_in(obj: DictionaryObject) -> set[str]:
    found: set[str] = set()
    if "/JS" in obj or "/JavaScript" in obj:  # an action's script, or the document's name tree
        found.add(JAVASCRIPT)
    if "/EmbeddedFiles" in obj or "/EF" in obj:  # the name tree, or a file spec carrying a file
        found.add(EMBEDDED_FILES)
    if "/XFA" in obj:
        found.add(XFA)
    if "/AA" in obj:  # additional actions: run on page open, focus, keystroke, ... by themselves
        found.add(AUTOMATIC_ACTIONS)
    action = _name(obj, "/S")
    if action == "/JavaScript":
        found.add(JAVASCRIPT)
    elif action == "/Launch":
        found.add(LAUNCH)
    elif action == "/URI" and _is_javascript_uri(obj.get("/URI")):
        found.add(JAVASCRIPT)
    if _name(obj, "/Subtype") == "/FileAttachment" or _name(obj, "/Type") == "/EmbeddedFile":
        found.add(EMBEDDED_FILES)
    return found


def _opens_with_action(open_action: PdfObject | None) -> bool:
    """True when /OpenAction does more than show a page (a destination array or a /GoTo)."""
    if open_action is None:
        return False
    resolved = open_action.get_object()
    if not isinstance(resolved, DictionaryObject):
        return False
    return _name(resolved, "/S") != "/GoTo" or "/Next" in resolved


def _name(obj: DictionaryObject, key: str) -> str | None:
    value = obj.get(key)
    value = value.get_object() if value is not None else None
    return str(value) if isinstance(value, str) else None


def _is_javascript_uri(value: PdfObject | None) -> bool:
    resolved = value.get_object() if value is not None else None
    if isinstance(resolved, ByteStringObject):
        text = bytes(resolved).decode("latin-1")
    elif isinstance(resolved, TextStringObject):
        text = str(resolved)
    else:
        return False
    return text.strip().lower().startswith("javascript:")


# Messages


def _active_content_message(code: str) -> str:
    messages = {
        JAVASCRIPT: gettext(
            "This PDF contains JavaScript, which is not allowed in documents for signing. "
            "Print it to a new PDF and try again."
        ),
        LAUNCH: gettext(
            "This PDF starts another program, which is not allowed in documents for signing. "
            "Print it to a new PDF and try again."
        ),
        EMBEDDED_FILES: gettext(
            "This PDF has embedded files (attachments), which are not allowed in documents for signing. "
            "Remove them or print the document to a new PDF and try again."
        ),
        XFA: gettext(
            "This PDF is an XFA form, which cannot be signed. "
            "Print it to a new PDF (or save it as a flattened PDF) and try again."
        ),
        AUTOMATIC_ACTIONS: gettext(
            "This PDF runs actions by itself when it is opened or viewed, which is not allowed in "
            "documents for signing. Print it to a new PDF and try again."
        ),
    }
    return messages[code]


def _damaged(name: str, cause: BaseException | str) -> PdfRefused:
    logger.info("pdfcheck refused %r: damaged (%s)", name, _describe(cause))
    message = gettext(
        "The PDF is damaged or incomplete. Open it in a PDF reader, save or export it again and "
        "upload the new copy."
    )
    return PdfRefused(_with_name(message, name), code=DAMAGED)


def _refused(code: str, message: str, name: str) -> PdfRefused:
    logger.info("pdfcheck refused %r: %s", name, code)
    return PdfRefused(_with_name(message, name), code=code)


def _with_name(message: str, name: str) -> str:
    # The name comes from the user's machine: one line, and short enough to read.
    name = " ".join("".join(c if c.isprintable() else " " for c in name).split())
    if not name:
        return message
    if len(name) > _MAX_NAME_LENGTH:
        name = name[: _MAX_NAME_LENGTH - 1] + "…"
    return gettext("%(name)s: %(reason)s") % {"name": name, "reason": message}


def _describe(cause: BaseException | str) -> str:
    if isinstance(cause, str):
        return cause
    # pypdf messages may quote bytes of the file; keep the log line short.
    return f"{type(cause).__name__}: {str(cause)[:200]}"
