"""Upload, download, preview and versions. Shared by both sides: documents.access decides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import unquote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from documents import access, locks, retention, selectors, services
from documents.delivery import file_response
from documents.links import folder_url
from documents.models import Document, DocumentVersion, Folder, PreviewStatus
from documents.names import clean_name
from documents.storage import CHUNK
from documents.zipping import zip_response
from portal import throttle
from portal.context import AuthedRequest
from portal.errors import ServiceError


def _request_chunks(request: AuthedRequest) -> Iterator[bytes]:
    while True:
        chunk = request.read(CHUNK)
        if not chunk:
            return
        yield chunk


@login_required
@require_POST
def upload(request: AuthedRequest, folder_id: int) -> HttpResponse:
    """Two ways in. The page's uploader sends one file per request as the raw body, with its name in
    the X-File-Name header (URL-encoded), and gets JSON back; this streams from the socket without
    Django's multipart parser, and the name arrives as the user typed it, so a bad one is refused
    with a message instead of being silently changed. Without JavaScript a plain multipart form
    posts `files` and is redirected back to the folder."""
    folder, rights = access.folder_for_upload(request, folder_id)
    by_customer = not rights.is_partner
    raw_name = request.headers.get("X-File-Name")
    if throttle.limited(request, group="upload", rate=settings.RATE_UPLOAD, key=throttle.user_key):
        return throttle.too_many_requests(request, scope="upload", as_json=raw_name is not None)
    if raw_name is not None:
        try:
            version = services.document_upload(
                folder=folder,
                actor=request.user,
                name=unquote(raw_name),
                chunks=_request_chunks(request),
                by_customer=by_customer,
            )
        except ServiceError as error:
            return JsonResponse({"ok": False, "error": error.message}, status=422)
        return JsonResponse(
            {
                "ok": True,
                "document": version.document_id,
                "version": version.number,
                "name": version.document.name,
                "size": version.size,
                "message": _stored_as(unquote(raw_name), version),
            },
            status=201,
        )
    files = request.FILES.getlist("files")
    if not files:
        messages.error(request, _("Choose at least one file to upload."))
    for uploaded in files:
        try:
            version = services.document_upload(
                folder=folder,
                actor=request.user,
                name=uploaded.name or "",
                chunks=uploaded.chunks(CHUNK),
                by_customer=by_customer,
            )
        except ServiceError as error:
            messages.error(request, f"{uploaded.name}: {error.message}")
        else:
            messages.success(
                request,
                _stored_as(uploaded.name or "", version)
                or _("%(name)s was uploaded.") % {"name": uploaded.name},
            )
    return redirect(folder_url(folder, rights.side))


def _stored_as(name: str, version: DocumentVersion) -> str:
    """What to tell the uploader when the file was stored under another name than theirs (a
    customer's file beside the firm's of the same name), or "" when it kept its name."""
    if version.document.name == clean_name(name, max_length=services.MAX_DOCUMENT_NAME):
        return ""
    return _(
        "%(name)s was uploaded as %(stored)s, beside the file of that name, which you cannot replace."
    ) % {
        "name": name,
        "stored": version.document.name,
    }


def bulk_download(request: AuthedRequest, folder: Folder, documents: list[Document]) -> HttpResponseBase:
    """The ticked documents of `folder` as one streamed zip, each download in the log."""
    for document in documents:
        document.folder = folder  # download_record reads it: the row we hold, not a query each
        version = document.current_version
        if version is not None:
            version.document = document
            services.download_record(version=version, actor=request.user, as_zip=True)
    return zip_response(documents=documents, filename=f"{folder.name}.zip")


@login_required
@require_GET
def document_download(request: AuthedRequest, document_id: int) -> HttpResponseBase:
    document, _rights = access.document_for_user(request, document_id)
    version = document.current_version
    if version is None:
        raise Http404
    version.document = document
    services.download_record(version=version, actor=request.user)
    return file_response(
        key=version.storage_key,
        filename=document.name,
        content_type=version.content_type,
        inline=request.GET.get("inline") == "1",
    )


@login_required
@require_GET
def version_download(request: AuthedRequest, version_id: int) -> HttpResponseBase:
    version, _rights = access.version_for_user(request, version_id)
    if version.deleted_at is not None:
        return render(request, "documents/deleted.html", {"version": version}, status=410)
    services.download_record(version=version, actor=request.user)
    return file_response(
        key=version.storage_key,
        filename=version.document.name,
        content_type=version.content_type,
        inline=request.GET.get("inline") == "1",
    )


@login_required
@require_GET
def preview(request: AuthedRequest, version_id: int) -> HttpResponseBase:
    version, _rights = access.version_for_user(request, version_id)
    if version.deleted_at is not None or version.preview_status != PreviewStatus.READY:
        raise Http404
    return file_response(
        key=version.preview_key, filename="preview.png", content_type="image/png", inline=True
    )


@login_required
@require_GET
def document_detail(request: AuthedRequest, document_id: int) -> HttpResponse:
    document, rights = access.document_for_user(request, document_id)
    versions = list(selectors.versions_of(document=document))
    hold = locks.document_lock(document)
    kept_until, version_kept = _retention_of(document, versions)
    return render(
        request,
        "documents/document_detail.html",
        {
            "document": document,
            "rights": rights,
            "versions": versions,
            "folder": document.folder,
            "collaboration": document.folder.collaboration,
            "folder_url": folder_url(document.folder, rights.side),
            "hold": hold,
            "can_delete": rights.can_delete(document) and hold != locks.PENDING,
            "kept_until": retention.day_label(kept_until) if kept_until else "",
            "deletable_from": retention.day_label(kept_until + dt.timedelta(days=1)) if kept_until else "",
            "version_deletable_from": version_kept,
            # Thumbnails are 240 px wide; A4 pages come out about 340 px high. Reserving the
            # height keeps the page from jumping when the image arrives.
            "preview_height": 340,
        },
    )


def _retention_of(
    document: Document, versions: list[DocumentVersion]
) -> tuple[dt.date | None, dict[int, str]]:
    """The last day of the document's retention while it lasts (None: deletable), and for each of
    its versions still under retention the day it can be deleted from ("1 January 2034"). From the
    rows in hand, as documents.retention works it out: a version by its upload, the document by
    its newest stored version."""
    folder = document.folder
    rule = retention.Rule.of(folder.root or folder)
    if rule is None:
        return None, {}
    stored = [v for v in versions if v.purged_at is None]
    today = timezone.localdate()
    newest = max((v.created_at for v in stored), default=None)
    until = rule.until(newest) if newest is not None else None
    by_version = {
        v.pk: retention.day_label(day + dt.timedelta(days=1))
        for v in stored
        if v.deleted_at is None and (day := rule.until(v.created_at)) >= today
    }
    return (until if retention.is_retained(until, today=today) else None), by_version


@login_required
@require_http_methods(["POST"])
def document_delete(request: AuthedRequest, document_id: int) -> HttpResponse:
    document, rights = access.document_for_user(request, document_id)
    if not rights.can_delete(document):
        raise PermissionDenied
    try:
        services.documents_delete(
            documents=[document], actor=request.user, by_customer=rights.side == "customer"
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("documents:document_detail", document.pk)
    messages.success(request, _("%(name)s was deleted.") % {"name": document.name})
    return redirect(folder_url(document.folder, rights.side))


@login_required
@require_POST
def version_delete(request: AuthedRequest, version_id: int) -> HttpResponse:
    version, rights = access.version_for_user(request, version_id)
    if not rights.is_partner:
        raise PermissionDenied
    try:
        services.version_delete(version=version, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Version %(number)s was deleted.") % {"number": version.number})
    return redirect("documents:document_detail", version.document_id)
