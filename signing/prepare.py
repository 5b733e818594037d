"""The copy of a PDF that is sent for signing, where pdfcheck says one is needed.

pdfcheck answers whether a file may be sent and what a copy for signing must change
(`PdfInfo.needs_copy`); this module makes the copy and, when a signing is sent, stores it.

- `clean_copy(content, info)` (pure): the PDF without the bytes after its last ``%%EOF`` (the
  original bytes up to there, so nothing else changes); and when it was encrypted with an empty
  user password or runs automatic actions, a copy written anew by pypdf from the whole document:
  not encrypted, without its /OpenAction (unless that only shows a page) and without any /AA, with
  everything else kept (pages, annotations, form fields, embedded files, outlines, metadata). The
  copy is checked again: it must pass pdfcheck needing no copy, with the same pages and embedded
  files, or PdfRefused (UNPREPARABLE) says so.
- `prepare_sent_files(signing=..., actor=...)` (a service, the send's last step): each of the
  request's files that needs a copy gets one, stored as a new version of its document through
  documents.services (storage counted, page images and sealing read it as any version), and the
  request (or attachment) signs that version; what was changed and the embedded files are noted
  on the request (`prepared`, shown to the parties and the firm) and on its timeline.
- `file_notes(prepared)`: those notes in words, for the pages.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from pypdf import PdfWriter, apply_configuration
from pypdf.generic import DictionaryObject, NameObject

from documents import services as documents
from documents import storage
from portal.errors import ServiceError
from portal.models import User
from portal.units import human_size
from signing import pdfcheck
from signing import selectors as signing_selectors
from signing.models import Attachment, Event, SigningRequest

logger = logging.getLogger(__name__)

UNPREPARABLE = "unpreparable"


# The copy


def clean_copy(content: bytes, info: pdfcheck.PdfInfo, *, name: str = "") -> bytes:
    """The bytes to sign instead of `content`, which check_pdf passed with `info`: `content` itself
    when no copy is needed. Raises PdfRefused (code UNPREPARABLE) when the copy does not come out
    right."""
    if not info.needs_copy:
        return content
    pdf = content[: info.end]
    if info.decrypted or info.removed:
        try:
            # As check_pdf reads it: a damaged Flate stream is not quietly repaired on the way.
            with apply_configuration(zlib_maximum_recovery_input_length=0):
                writer = PdfWriter(clone_from=pdfcheck.pdf_reader(pdf, name=name))
                _drop_automatic_actions(writer)
                out = io.BytesIO()
                writer.write(out)
        except pdfcheck.PdfRefused:
            raise
        except Exception as exc:  # noqa: BLE001 -- pypdf raises many types for input it cannot write back
            logger.warning("prepare: copy of %r failed: %s: %s", name, type(exc).__name__, str(exc)[:200])
            raise _unpreparable(name) from None
        pdf = out.getvalue()
    try:
        again = pdfcheck.check_pdf(pdf, name=name)
    except pdfcheck.PdfRefused as refusal:
        logger.warning("prepare: the copy of %r was refused: %s", name, refusal.code)
        raise _unpreparable(name) from None
    if again.needs_copy or again.pages != info.pages or sorted(again.embedded) != sorted(info.embedded):
        logger.warning("prepare: the copy of %r differs: %r", name, again)
        raise _unpreparable(name)
    return pdf


def _drop_automatic_actions(writer: PdfWriter) -> None:
    root = writer.root_object
    if pdfcheck.opening_actions(root):
        del root[NameObject("/OpenAction")]
    for obj in pdfcheck.reachable_containers(root):
        if isinstance(obj, DictionaryObject) and "/AA" in obj:
            del obj[NameObject("/AA")]


def _unpreparable(name: str) -> pdfcheck.PdfRefused:
    message = _("The PDF could not be prepared for signing. Print it to a new PDF and try again.")
    if name:
        message = _("%(name)s: %(reason)s") % {"name": name, "reason": message}
    return pdfcheck.PdfRefused(message, code=UNPREPARABLE)


def note_of(info: pdfcheck.PdfInfo, *, name: str) -> dict[str, Any]:
    """What `prepared` keeps of one file (JSON)."""
    return {
        "name": name,
        "copy": info.needs_copy,
        "trailing_bytes": info.trailing_bytes,
        "decrypted": info.decrypted,
        "removed": list(info.removed),
        "embedded": [[f.name, f.size] for f in info.embedded],
    }


# At send time


def prepare_sent_files(*, signing: SigningRequest, actor: User) -> None:
    """Make the request's files fit for signing: each one pdfcheck says needs a copy is replaced,
    for this request, by a copy stored as a new version of its document; the changes and the
    embedded files are noted on the request and its timeline.

    Precondition: the send's last step, inside its transaction, after the charge (nothing after it
    may refuse the send), holding the row locks of the request's documents (lock_documents). A
    refusal or a failure here raises (the send rolls back) and removes the files stored here; a
    failed commit afterwards leaves an orphan file, never a broken row (as documents.storage)."""
    files: list[tuple[Attachment | None, str]] = [(None, signing.title)]
    files += [(a, a.name) for a in Attachment.objects.filter(request=signing).order_by("position", "id")]
    notes: list[dict[str, Any]] = []
    stored: list[str] = []
    try:
        for attachment, name in files:
            version_id = attachment.version_id if attachment is not None else signing.version_id
            if version_id is None:
                continue
            copy = _prepared_file(version_id=version_id, name=name, actor=actor, signing=signing)
            if copy.version is not None:
                stored.append(copy.version.storage_key)
                target = Attachment.objects.filter(pk=attachment.pk) if attachment else None
                if target is not None:
                    target.update(version=copy.version, sha256=copy.version.sha256)
                else:
                    SigningRequest.objects.filter(pk=signing.pk).update(
                        version=copy.version, version_sha256=copy.version.sha256
                    )
                    signing.version, signing.version_sha256 = copy.version, copy.version.sha256
            if copy.note is not None:
                notes.append(copy.note)
        if notes:
            signing.prepared = {"files": notes}
            SigningRequest.objects.filter(pk=signing.pk).update(prepared=signing.prepared)
            # Dated as the sending, so the timeline tells it before the parties were sent their links.
            Event.objects.create(
                request=signing,
                kind="prepared",
                actor=actor,
                detail=signing.prepared,
                created_at=signing.sent_at or signing.created_at,
            )
    except BaseException:
        storage.delete_quietly(stored)  # the send rolls back: no row will name them
        raise


@dataclass(frozen=True)
class _Prepared:
    version: Any  # the stored copy's DocumentVersion, or None when the file is signed as it is
    note: dict[str, Any] | None  # what `prepared` says of the file, or None when nothing


def _prepared_file(*, version_id: int, name: str, actor: User, signing: SigningRequest) -> _Prepared:
    from documents.models import DocumentVersion

    version = DocumentVersion.objects.select_related("document").get(pk=version_id)
    try:
        # The send checked it a moment ago: selectors remembers the answer for a stored file.
        info = signing_selectors.check_stored_pdf(version)
        if not info.needs_copy:
            return _Prepared(None, note_of(info, name=name) if info.embedded else None)
        with storage.document_storage().open(version.storage_key, "rb") as handle:
            content = handle.read(info.size + 1)
        data = clean_copy(content, info, name=name)
    except pdfcheck.PdfRefused as refusal:
        raise ServiceError(
            _("%(name)s cannot be signed: %(reason)s") % {"name": name, "reason": refusal.message}
        ) from None
    copy = documents.version_add_copy(
        document=version.document, actor=actor, data=data, reason=f"prepared for signing {signing.pk}"
    )
    note = note_of(info, name=name) | {
        "from_version": version.number,
        "from_sha256": version.sha256,
        "version": copy.number,
        "sha256": copy.sha256,
    }
    return _Prepared(copy, note)


def planned(*, signing: SigningRequest) -> dict[str, Any]:
    """What Send would note in `prepared` for a draft, from its files as they are now (the review
    page tells the sender before sending); {} when nothing. A file pdfcheck refuses is left out:
    the review says why (services.draft_problem)."""
    named = [(signing.document, signing.title)] + [
        (a.version.document, a.name)
        for a in Attachment.objects.filter(request=signing)
        .select_related("version__document__current_version")
        .order_by("position", "id")
        if a.version is not None
    ]
    notes = []
    for document, name in named:
        version = document.current_version if document is not None and document.deleted_at is None else None
        if version is None:
            continue
        try:
            info = signing_selectors.check_stored_pdf(version)  # remembered: draft_problem read it
        except pdfcheck.PdfRefused:
            continue
        if info.needs_copy or info.embedded:
            notes.append(note_of(info, name=name))
    return {"files": notes} if notes else {}


# In words


@dataclass(frozen=True)
class FileNotes:
    name: str
    changes: list[str]  # what the copy changed, one sentence each
    removed: list[str]  # the automatic actions removed, "where: what"
    embedded: list[tuple[str, str]]  # (name, size in words)


def file_notes(prepared: dict[str, Any]) -> list[FileNotes]:
    """The request's `prepared` in the active language, one entry per file that has something to say."""
    notes = []
    for entry in prepared.get("files", []) if isinstance(prepared, dict) else []:
        changes = []
        if entry.get("copy"):
            changes.append(_("What is signed is a copy prepared for signing."))
        if entry.get("decrypted"):
            changes.append(_("The original was encrypted (it opened without a password); the copy is not."))
        if entry.get("trailing_bytes"):
            changes.append(
                _(
                    "Bytes after the end of the PDF (%(size)s, added by a scanner or mail program) "
                    "were left out."
                )
                % {"size": human_size(int(entry["trailing_bytes"]))}
            )
        codes = sorted(entry.get("removed", []), key=_where_first)
        removed = list(dict.fromkeys(_removed_in_words(code) for code in codes))
        embedded = [(str(n), human_size(int(size))) for n, size in entry.get("embedded", [])]
        notes.append(FileNotes(str(entry.get("name", "")), changes, removed, embedded))
    return notes


def describe(detail: dict[str, Any]) -> str:
    """The timeline's line for a "prepared" event."""
    parts = []
    for notes in file_notes(detail):
        said = []
        if notes.changes:
            said.append(_("signed as a prepared copy"))
        if notes.removed:
            said.append(
                ngettext(
                    "%(count)s automatic action removed",
                    "%(count)s automatic actions removed",
                    len(notes.removed),
                )
                % {"count": len(notes.removed)}
            )
        if notes.embedded:
            said.append(
                _("embedded files kept: %(files)s")
                % {"files": ", ".join(f"{n} ({size})" for n, size in notes.embedded)}
            )
        parts.append(f"{notes.name}: {', '.join(said)}")
    return _("Prepared for signing: %(files)s") % {"files": " / ".join(parts)}


def _where_first(code: str) -> tuple[int, str]:
    where, _sep, action = str(code).partition(":")
    order = pdfcheck.REMOVED_WHERE
    return (order.index(where) if where in order else len(order), action)


def _removed_in_words(code: str) -> str:
    where, _sep, action = str(code).partition(":")
    places = {
        "open": _("When the document is opened"),
        "document": _("When the document is closed, saved or printed"),
        "page": _("When a page is opened or closed"),
        "field": _("On form fields, links and other annotations"),
    }
    actions = {
        "GoTo": _("go to a place in the document"),
        "GoToR": _("open another PDF"),
        "GoToE": _("open an embedded PDF"),
        "Thread": _("go to an article"),
        "URI": _("open a web address"),
        "Sound": _("play a sound or video"),
        "Movie": _("play a sound or video"),
        "Rendition": _("play a sound or video"),
        "RichMediaExecute": _("play a sound or video"),
        "Hide": _("show or hide form fields"),
        "Named": _("run a viewer command, such as printing"),
        "SubmitForm": _("send the form's contents to an address"),
        "ResetForm": _("clear the form"),
        "ImportData": _("fill in the form from a file"),
        "SetOCGState": _("show or hide layers"),
        "Trans": _("a page transition"),
        "GoTo3DView": _("change a 3D view"),
    }
    return _("%(where)s: %(what)s") % {
        "where": places.get(where, _("Elsewhere in the document")),
        "what": actions.get(action, _("another action")),
    }
