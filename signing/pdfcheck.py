"""Decide whether a PDF may be sent for signing, and say why not in words a user can act on.

`check_pdf(data, name=...)` returns `PdfInfo` or raises `PdfRefused`, whose message is translated
and safe to show and whose `code` says which rule refused the file. Besides the pages, size and
sha256, `PdfInfo` says what a copy for signing must change (`needs_copy`; signing.prepare makes it)
and which embedded files the PDF carries:

- ``trailing_bytes``: bytes after the last ``%%EOF`` (scanners and mail programs append them), left
  out of the copy;
- ``decrypted``: the PDF is encrypted but opens with an empty user password; the copy is not;
- ``removed``: the automatic actions the copy goes without, as ``"where:Action"`` codes (where is
  one of REMOVED_WHERE, the action its ``/S`` type, "other" when unknown);
- ``embedded``: the embedded files (name and size in bytes), kept in the copy.

Settings (read on every call, so tests can override them):

- ``SIGNING_MAX_BYTES`` (default ``50 * 10**6``): the largest file, in bytes, that may be sent.
  Exactly this many bytes pass. A file object is never read further than one byte past it.
- ``SIGNING_MAX_PAGES`` (default ``500``): the most pages a PDF may have. Exactly this many pass.

What is refused, in the order it is checked:

1. an empty file, or one over ``SIGNING_MAX_BYTES``;
2. bytes that are not a PDF: the file must start with ``%PDF-`` (images, ZIP archives and Office
   documents renamed to .pdf get their own message);
3. a damaged or incomplete PDF: it must hold a ``%%EOF`` marker, and what follows the last one
   must be whitespace or junk that does not look like PDF syntax (a file cut off in the middle of
   an incremental update still parses as its earlier revision, so parsing alone does not notice:
   the cut leaves object syntax after the earlier ``%%EOF``); pypdf must parse the file up to that
   marker with ``strict=True``; the page tree must agree with its ``/Count``; every page must load,
   its content streams decoded without pypdf's Flate recovery; every object reachable from the
   catalogue must resolve, and every embedded file decode;
4. an encrypted PDF that needs a password to open (one that opens with an empty user password
   passes, ``decrypted``);
5. no pages, or more than ``SIGNING_MAX_PAGES``;
6. active content anywhere reachable from the document catalogue: JavaScript (``/JS``,
   ``/JavaScript`` actions and name trees, ``javascript:`` links), ``/Launch`` actions, XFA forms,
   and file attachment annotations whose file is not in the PDF. That walk gives up (and refuses
   the file as too complex) after 2 million dictionary and array entries. Actions that run by
   themselves and are none of these (any ``/AA``, an ``/OpenAction`` other than going to a page)
   do not refuse the file: they are ``removed`` in the copy.

The message is prefixed with the file name when one is given ("avtal.pdf: The file is empty.").

The module is pure: no models, no database, no storage.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

import filetype
from django.conf import settings
from django.utils.translation import gettext
from pypdf import PasswordType, PdfReader, apply_configuration
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
# How far into a file a "%PDF-" behind other bytes is looked for.
_EOF_WINDOW = 1024
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
# What follows an earlier %%EOF in a file cut inside an incremental update: an object header (or
# the start of one: a digit), a cross-reference section, a trailer.
_PDF_SYNTAX = re.compile(rb"\A\d|\d\s+\d+\s+obj\b|\bendobj\b|\bxref\b|\btrailer\b|\bstartxref\b")
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
EXTERNAL_ATTACHMENT = "external_attachment"
XFA = "xfa"
TOO_COMPLEX = "too_complex"

# When a file has several kinds of active content, the first in this order is reported.
_ACTIVE_CONTENT_ORDER = (JAVASCRIPT, LAUNCH, EXTERNAL_ATTACHMENT, XFA)

# Where an automatic action ran, the first part of a `removed` code: when the document is opened
# (/OpenAction), on the document's events (the catalogue's /AA: close, save, print), when a page
# is opened or closed, on form fields and annotations (focus, mouse, keystrokes), or elsewhere.
REMOVED_WHERE = ("open", "document", "page", "field", "other")
# Action types (PDF 32000-1, 12.6.4) kept by name in a `removed` code; others are "other".
_ACTION_TYPES = frozenset(
    {
        "GoTo", "GoToR", "GoToE", "Thread", "URI", "Sound", "Movie", "Hide", "Named", "SubmitForm",
        "ResetForm", "ImportData", "SetOCGState", "Rendition", "Trans", "GoTo3DView",
        "RichMediaExecute",
    }
)  # fmt: skip
# Actions in one /Next chain looked at before the rest counts as "other" (chains are short).
_MAX_CHAIN = 1000


class EmbeddedFile(NamedTuple):
    name: str  # as the PDF names it (one line, at most 200 characters)
    size: int  # bytes, decoded


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    size: int  # bytes
    sha256: str  # hex digest of exactly the bytes that were given (trailing junk included)
    trailing_bytes: int = 0  # after the last %%EOF: the copy ends there
    decrypted: bool = False  # opened with an empty user password: the copy is not encrypted
    removed: tuple[str, ...] = ()  # "where:Action" codes of the automatic actions the copy drops
    embedded: tuple[EmbeddedFile, ...] = field(default=())  # kept in the copy

    @property
    def needs_copy(self) -> bool:
        """Whether what is signed must be a copy of the file (signing.prepare makes it)."""
        return bool(self.trailing_bytes or self.decrypted or self.removed)

    @property
    def end(self) -> int:
        """The length of the PDF without its trailing junk."""
        return self.size - self.trailing_bytes


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
    end = _pdf_end(content, name=name)
    # pypdf quietly recovers what it can of a corrupt Flate stream; here that is damage. The
    # configuration is a context variable: other threads and callers keep pypdf's default.
    with apply_configuration(zlib_maximum_recovery_input_length=0):
        info = _check_document(content[:end], max_pages=max_pages, name=name)
    return PdfInfo(
        pages=info.pages,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        trailing_bytes=len(content) - end,
        decrypted=info.decrypted,
        removed=info.removed,
        embedded=info.embedded,
    )


def pdf_reader(content: bytes, *, name: str = "") -> PdfReader:
    """A strict reader of `content` (a PDF check_pdf passed, without its trailing bytes), opened
    with the empty user password when it is encrypted. For signing.prepare; call it inside
    apply_configuration as check_pdf does."""
    return _open(content, name=name)[0]


def _check_document(content: bytes, *, max_pages: int, name: str) -> PdfInfo:
    """Parse, count and load the pages, look for active content; return the facts of the PDF
    (its size, sha256 and trailing bytes are the caller's)."""
    reader, decrypted = _open(content, name=name)
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
        if code in found.codes:
            raise _refused(code, _active_content_message(code), name)
    return PdfInfo(
        pages=pages,
        size=0,
        sha256="",
        decrypted=decrypted,
        removed=tuple(sorted(found.removed)),
        embedded=tuple(found.embedded.values()),
    )


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


def _pdf_end(content: bytes, *, name: str) -> int:
    """Where the PDF ends: after its last %%EOF and the end of line that follows it. Whitespace or
    junk may follow (scanners append some); PDF syntax may not.

    pypdf reads a file cut off inside an incremental update as the earlier revision that precedes
    it, silently. Such a cut leaves object syntax after the earlier %%EOF, or no %%EOF at all.
    """
    marker = content.rfind(b"%%EOF")
    if marker < 0:
        raise _damaged(name, "no %%EOF")
    end = marker + len(b"%%EOF")
    tail = content[end:].lstrip(_PDF_WHITESPACE)
    if not tail:
        return len(content)
    if _PDF_SYNTAX.search(tail):
        raise _damaged(name, "PDF syntax after the last %%EOF")
    for eol in (b"\r\n", b"\n", b"\r"):
        if content.startswith(eol, end):
            return end + len(eol)
    return end


def _open(content: bytes, *, name: str) -> tuple[PdfReader, bool]:
    """A strict reader, and whether it was decrypted (with the empty user password)."""
    try:
        reader = PdfReader(io.BytesIO(content), strict=True)
        if not reader.is_encrypted:
            return reader, False
        opened = reader.decrypt("")
    except FileNotDecryptedError:
        opened = PasswordType.NOT_DECRYPTED
    except _PARSE_ERRORS as exc:
        raise _damaged(name, exc) from None
    if opened == PasswordType.NOT_DECRYPTED:
        raise _refused(
            ENCRYPTED,
            gettext(
                "The PDF is protected with a password. Save or print it to a new PDF without the "
                "password and try again."
            ),
            name,
        )
    return reader, True


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


@dataclass
class _Findings:
    codes: set[str] = field(default_factory=set)  # refusals
    removed: set[str] = field(default_factory=set)  # "where:Action"
    embedded: dict[tuple[int, int], EmbeddedFile] = field(default_factory=dict)  # by stream


def _find_active_content(reader: PdfReader) -> _Findings:
    """Walk every object reachable from the catalogue; return what refuses the file, the automatic
    actions a copy drops and the embedded files.

    Iterative, with a visited set (cycles such as /Parent links are the norm in PDFs) and a
    bound on the entries looked at.
    """
    root = reader.trailer["/Root"].get_object()
    if not isinstance(root, DictionaryObject):
        raise PyPdfError("the catalogue is not a dictionary")
    found = _Findings()
    found.removed |= {f"open:{kind}" for kind in opening_actions(root)}
    for obj in reachable_containers(root):
        if isinstance(obj, DictionaryObject):
            found.codes |= _active_content_in(obj)
            if "/AA" in obj:  # additional actions: run on page open, focus, keystroke, ... by themselves
                where = _where(obj, root)
                found.removed |= {f"{where}:{kind}" for kind in _additional_action_kinds(obj["/AA"])}
            if "/EF" in obj:  # a file specification carrying a file
                _add_embedded(found.embedded, obj)
    return found


def reachable_containers(root: DictionaryObject) -> Iterator[DictionaryObject | ArrayObject]:
    """Every dictionary and array reachable from `root`, each once; raises _WalkTooLarge past
    _MAX_WALK_ENTRIES entries. signing.prepare walks its copy with it."""
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
    if "/XFA" in obj:
        found.add(XFA)
    action = _name(obj, "/S")
    if action == "/JavaScript":
        found.add(JAVASCRIPT)
    elif action == "/Launch":
        found.add(LAUNCH)
    elif action == "/URI" and _is_javascript_uri(obj.get("/URI")):
        found.add(JAVASCRIPT)
    if _name(obj, "/Subtype") == "/FileAttachment" and not _carries_file(obj.get("/FS")):
        # Opening it opens a file from the signer's disk (or fails), not one in the PDF.
        found.add(EXTERNAL_ATTACHMENT)
    return found


def _carries_file(spec: PdfObject | None) -> bool:
    resolved = spec.get_object() if spec is not None else None
    return isinstance(resolved, DictionaryObject) and "/EF" in resolved


def opening_actions(root: DictionaryObject) -> set[str]:
    """The action types the catalogue's /OpenAction runs when it does more than show a page (a
    destination, or a /GoTo without /Next): a copy drops it. Empty when it only shows a page."""
    open_action = root.get("/OpenAction")
    if open_action is None:
        return set()
    resolved = open_action.get_object()
    if isinstance(resolved, ArrayObject | TextStringObject | ByteStringObject):
        return set()  # a destination (an array, or a named one)
    if (
        isinstance(resolved, DictionaryObject)
        and _name(resolved, "/S") == "/GoTo"
        and "/Next" not in resolved
    ):
        return set()
    return _action_kinds(resolved)


def _additional_action_kinds(value: PdfObject) -> set[str]:
    """The action types of an /AA dictionary (trigger -> action)."""
    resolved = value.get_object()
    if not isinstance(resolved, DictionaryObject):
        return {"other"}
    kinds: set[str] = set()
    for action in resolved.values():  # resolved by DictionaryObject
        kinds |= _action_kinds(action)
    return kinds or {"other"}


def _action_kinds(action: PdfObject | None) -> set[str]:
    """The types of `action` and the actions its /Next chain runs after it."""
    kinds: set[str] = set()
    seen: set[int] = set()
    stack: list[PdfObject | None] = [action]
    while stack:
        if len(seen) > _MAX_CHAIN:
            kinds.add("other")
            break
        item = stack.pop()
        item = item.get_object() if item is not None else None
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ArrayObject):
            stack.extend(list.__iter__(item))
            continue
        if not isinstance(item, DictionaryObject):
            kinds.add("other")
            continue
        kind = (_name(item, "/S") or "")[1:]
        kinds.add(kind if kind in _ACTION_TYPES else "other")
        stack.append(dict.get(item, "/Next"))
    return kinds


def _where(obj: DictionaryObject, root: DictionaryObject) -> str:
    """Which of REMOVED_WHERE an /AA dictionary's owner is."""
    if obj is root:
        return "document"
    if _name(obj, "/Type") == "/Page":
        return "page"
    if "/Subtype" in obj or "/FT" in obj or "/T" in obj:
        return "field"  # an annotation (a link, a widget) or a form field
    return "other"


_MAX_EMBEDDED_NAME = 200


def _add_embedded(embedded: dict[tuple[int, int], EmbeddedFile], spec: DictionaryObject) -> None:
    """Note the file a file specification carries (once per stream), with its decoded size."""
    files = spec["/EF"]
    if not isinstance(files, DictionaryObject):
        raise PyPdfError("/EF is not a dictionary")
    for key in ("/UF", "/F", "/DOS", "/Mac", "/Unix"):
        raw = dict.get(files, key)
        if raw is None:
            continue
        stream = raw.get_object()
        if not isinstance(stream, StreamObject):
            raise PyPdfError("an embedded file is not a stream")
        ident = (raw.idnum, raw.generation) if isinstance(raw, IndirectObject) else (-1, id(stream))
        if ident not in embedded:
            embedded[ident] = EmbeddedFile(_file_name(spec), len(stream.get_data()))
        return
    raise PyPdfError("/EF holds no file")


def _file_name(spec: DictionaryObject) -> str:
    for key in ("/UF", "/F"):
        value = spec.get(key)
        value = value.get_object() if value is not None else None
        if isinstance(value, TextStringObject | ByteStringObject):
            text = str(value) if isinstance(value, TextStringObject) else bytes(value).decode("latin-1")
            text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
            if text:
                return text[:_MAX_EMBEDDED_NAME]
    return "?"


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
        EXTERNAL_ATTACHMENT: gettext(
            "This PDF has an attachment whose file is not inside the PDF. "
            "Remove it or print the document to a new PDF and try again."
        ),
        XFA: gettext(
            "This PDF is an XFA form, which cannot be signed. "
            "Print it to a new PDF (or save it as a flattened PDF) and try again."
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
