"""The files of a collaboration around its end, for the partner's account administrators.

All of the customer's folders as one zip (before ending, from the end page), and, once it has
ended, the files still stored (the read period, then retention) with their downloads. Everyone else: 404
(staff of an open collaboration: 403, as on its other administrator pages)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from customers.access import collaboration_for_ending_admin
from customers.models import Collaboration, CollaborationStatus
from documents import ending, services
from documents.delivery import file_response
from documents.models import Document
from documents.zipping import zip_entries_response
from portal.context import AuthedRequest


def _ended(request: AuthedRequest, collaboration_id: int) -> Collaboration:
    collaboration = collaboration_for_ending_admin(request, collaboration_id)
    if collaboration.status != CollaborationStatus.ENDED:
        raise Http404
    return collaboration


@login_required
@require_GET
def files_kept(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration = _ended(request, collaboration_id)
    return render(
        request,
        "documents/ending_files_kept.html",
        {
            "collaboration": collaboration,
            "kept": ending.kept_documents(collaboration),
            "summary": ending.stored_summary(collaboration),
        },
    )


@login_required
@require_GET
def kept_download(request: AuthedRequest, collaboration_id: int, document_id: int) -> HttpResponseBase:
    collaboration = _ended(request, collaboration_id)
    document = get_object_or_404(
        Document.objects.select_related("current_version", "folder").exclude(current_version=None),
        pk=document_id,
        folder__collaboration_id=collaboration.pk,
        current_version__purged_at__isnull=True,
    )
    version = document.current_version
    assert version is not None  # excluded above
    version.document = document
    services.download_record(version=version, actor=request.user)
    return file_response(key=version.storage_key, filename=document.name, content_type=version.content_type)


@login_required
@require_GET
def folders_zip(request: AuthedRequest, collaboration_id: int) -> StreamingHttpResponse:
    """Every live document of every live folder of the customer, as one zip with the folders as
    directories; one line in the log."""
    collaboration = collaboration_for_ending_admin(request, collaboration_id)
    entries = ending.zip_entries(ending.kept_documents(collaboration, live_only=True))
    ending.zip_download_record(collaboration=collaboration, actor=request.user, count=len(entries))
    return zip_entries_response(entries=entries, filename=f"{collaboration.customer.name}.zip")
