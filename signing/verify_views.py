"""The public Verify page: anyone, logged in or not, uploads a PDF and learns whether this portal
sealed it and it is unchanged (signing/verify.py decides).

Nothing uploaded is stored: the file is read into memory by an upload handler of this view's own
(never a temporary file on disk), at most settings.SIGNING_VERIFY_MAX_BYTES of it, and dropped with
the response. Checks are counted per client address (settings.RATE_SIGNING_VERIFY).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from portal import throttle
from signing import verify

logger = logging.getLogger(__name__)


class VerifyForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("PDF file"),
        help_text=gettext_lazy("The signed PDF you got by email or downloaded from the portal."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )


class _MemoryUpload(FileUploadHandler):
    """Keeps the first uploaded file in memory up to `limit` bytes and drops the rest of the body
    unread into any buffer: a larger file is marked `too_large`, never written anywhere."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.too_large = False
        self.chunks: list[bytes] | None = None
        self.size = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.chunks = [] if self.field_name == "file" and self.size == 0 else None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if self.chunks is not None:
            self.size += len(raw_data)
            if self.size > self.limit:
                self.too_large, self.chunks = True, None
            else:
                self.chunks.append(raw_data)
        return None  # no other handler gets the data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.chunks is None:
            return None
        data, self.chunks = b"".join(self.chunks), None
        return InMemoryUploadedFile(
            file=io.BytesIO(data),
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=len(data),
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )


@csrf_exempt  # checked below, once the upload handler is in place (Django's documented order)
@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    limit = settings.SIGNING_VERIFY_MAX_BYTES
    if request.method == "POST":
        if throttle.limited(
            request, group="signing-verify", rate=settings.RATE_SIGNING_VERIFY, key=throttle.ip_key
        ):
            return throttle.too_many_requests(request, scope="signing_verify")
        request.upload_handlers = [_MemoryUpload(request, limit)]
    return _verify(request, limit)


@csrf_protect
def _verify(request: HttpRequest, limit: int) -> HttpResponse:
    context: dict[str, Any] = {"limit": limit}
    if request.method != "POST":
        return render(request, "signing/verify.html", {**context, "form": VerifyForm()})
    form = VerifyForm(request.POST, request.FILES)
    handler = request.upload_handlers[0]
    if isinstance(handler, _MemoryUpload) and handler.too_large:
        message = _("The file is larger than %(limit)s, the most this page checks.") % {
            "limit": filesizeformat(limit)
        }
        return render(
            request, "signing/verify.html", {**context, "form": VerifyForm(), "error": message}, status=413
        )
    if not form.is_valid():
        return render(request, "signing/verify.html", {**context, "form": form}, status=400)
    upload = form.cleaned_data["file"]
    if not Path(settings.SIGNING_SEAL_CA_FILE).is_file():  # without it every seal would look foreign
        logger.error("The Verify page has no sealing CA file: %s", settings.SIGNING_SEAL_CA_FILE)
        message = _("Files cannot be verified right now. Try again later.")
        return render(
            request, "signing/verify.html", {**context, "form": VerifyForm(), "error": message}, status=503
        )
    verdict = verify.verify_pdf(upload.read(), ca_file=settings.SIGNING_SEAL_CA_FILE)
    return render(
        request,
        "signing/verify.html",
        {
            **context,
            "form": VerifyForm(),
            "verdict": verdict,
            "file_name": upload.name,
            "parties": _parties(verdict),
        },
    )


def _parties(verdict: verify.Verdict) -> list[dict[str, Any]]:
    """The audit record's parties with their role, method and action in words."""
    roles = {"signer": _("Signer"), "approver": _("Approver"), "viewer": _("Gets a copy")}
    methods = {"email_code": _("Code by email"), "bankid": _("BankID")}
    actions = {"signed": _("Signed"), "approved": _("Approved")}
    return [
        {
            "name": party.name,
            "role": roles.get(party.role, party.role),
            "method": methods.get(party.method, party.method),
            "action": actions.get(party.action, _("No action")),
            "acted_at": party.acted_at,
        }
        for party in verdict.parties
    ]
