"""Sending stored files to the browser.

In production Django never streams the bytes: with filesystem storage behind nginx it answers with
X-Accel-Redirect to an internal location; with S3 it redirects to a presigned URL valid about 60 s.
The embedded default sends the file itself, in chunks. Every answer carries an RFC 6266
Content-Disposition, so any filename (åäö, quotes) arrives intact.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.utils.http import content_disposition_header
from storages.backends.s3 import S3Storage

from documents.storage import document_storage

# Only PDFs open in the browser; everything else downloads. (An <img> still shows a PNG preview
# sent as an attachment: the disposition only matters to what the browser navigates to.)
INLINE_TYPES = {"application/pdf"}
# Types a browser would render as a page (with scripts) if it ever showed the file: always sent
# as an opaque download type, so not even a browser that ignores the attachment renders them.
ACTIVE_TYPES = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml"}
OPAQUE_TYPE = "application/octet-stream"
# The policies stored files are sent with (nginx passes them on with X-Accel-Redirect).
PDF_POLICY = "sandbox"
FILE_POLICY = "sandbox; default-src 'none'; img-src 'self' data:"


def _served_type(content_type: str) -> str:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "text/plain":
        # Text is served as plain UTF-8 text: a stored HTML page must never render as the portal.
        return "text/plain; charset=utf-8"
    if media_type in ACTIVE_TYPES or media_type.endswith("+xml") or media_type.startswith("text/"):
        return OPAQUE_TYPE
    return content_type


def file_response(*, key: str, filename: str, content_type: str, inline: bool = False) -> HttpResponseBase:
    inline = inline and content_type in INLINE_TYPES
    disposition = content_disposition_header(as_attachment=not inline, filename=filename) or "attachment"
    served_type = _served_type(content_type)
    storage = document_storage()
    response: HttpResponseBase
    if isinstance(storage, S3Storage):
        # S3: a short-lived presigned URL that makes the object answer with our headers.
        url = storage.url(
            key,
            parameters={"ResponseContentDisposition": disposition, "ResponseContentType": served_type},
            # PORTAL_S3_URL_EXPIRY arrives as the storage's querystring_expire; tests may override it.
            expire=getattr(settings, "S3_URL_EXPIRY", storage.querystring_expire),
        )
        response = HttpResponseRedirect(url)
    elif settings.X_ACCEL_REDIRECT_PREFIX:
        response = HttpResponse(content_type=served_type)
        response["X-Accel-Redirect"] = settings.X_ACCEL_REDIRECT_PREFIX + quote(key)
        response["Content-Disposition"] = disposition
    else:
        response = FileResponse(storage.open(key, "rb"), content_type=served_type)
        response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    if content_type == "application/pdf":
        # A PDF runs sandboxed too (scripts off, an opaque origin: no cookies or storage of the
        # portal), but without the pages' policy (django-csp) or default-src 'none': Chromium's and
        # Firefox's viewers are documents of their own that those would block. A top-level sandboxed
        # document still shows in Chromium's viewer (tests/e2e/test_csp_journey.py); only a
        # sandboxed *frame* blocks it, and the portal never frames a file (X-Frame-Options).
        response["Content-Security-Policy"] = PDF_POLICY
        response._csp_exempt = True  # type: ignore[union-attr]
    else:
        # Anything else opened inline runs sandboxed with nothing allowed to load but images.
        response["Content-Security-Policy"] = FILE_POLICY
    return response
