"""The log of a customer's documents, for the partner: who did what, when, from where."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET

from documents import access, selectors
from documents.forms import AuditFilterForm
from documents.models import Audience, CustomerAccess
from documents.views.partner import activate_partner
from portal.context import AuthedRequest
from portal.models import AuditEvent

ACTION_LABELS = {
    "document.upload": gettext_lazy("Uploaded a document"),
    "document.version": gettext_lazy("Uploaded a new version"),
    "document.download": gettext_lazy("Downloaded a document"),
    "document.delete": gettext_lazy("Deleted a document"),
    "document.virus_refused": gettext_lazy("Upload refused: virus found"),
    "document.move": gettext_lazy("Moved a document"),
    "version.delete": gettext_lazy("Deleted a version"),
    "folder.create": gettext_lazy("Created a folder"),
    "folder.rename": gettext_lazy("Renamed a folder"),
    "folder.move": gettext_lazy("Moved a folder"),
    "folder.delete": gettext_lazy("Deleted a folder"),
    "folder.access": gettext_lazy("Changed a folder's access"),
}


def _event_detail(event: AuditEvent) -> str:
    details = event.details if isinstance(event.details, dict) else {}
    if event.action == "folder.rename" and details.get("old_name"):
        return _("was %(name)s") % {"name": details["old_name"]}
    if event.action in ("folder.move", "document.move") and details.get("to"):
        return _("to %(path)s") % {"path": details["to"]}
    if event.action == "document.virus_refused":
        return f"{details.get('name', '')}: {details.get('signature', '')}"
    if event.action == "folder.delete":
        return ngettext(
            "with %(count)d document", "with %(count)d documents", int(details.get("documents") or 0)
        ) % {"count": int(details.get("documents") or 0)}
    if event.action == "folder.access":
        level = details.get("customer_access")
        who = details.get("audience")
        parts = [str(CustomerAccess(level).label)] if level in CustomerAccess.values else []
        if who in Audience.values and level != CustomerAccess.NONE:
            parts.append(str(Audience(who).label))
        return ", ".join(parts)
    if details.get("version"):
        text = _("version %(number)s") % {"number": details["version"]}
        return f"{text} ({_('zip')})" if details.get("zip") else text
    return ""


@login_required
@require_GET
def audit_log(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration = access.collaboration_for_partner_documents(request.user, collaboration_id)
    activate_partner(request, collaboration)
    form = AuditFilterForm(
        request.GET,
        people=selectors.people_in_log(user=request.user, collaboration=collaboration),
        action_labels=ACTION_LABELS,
    )
    valid = form.is_valid()
    filters = form.cleaned_data if valid else {}
    events = selectors.audit_events(
        user=request.user,
        collaboration=collaboration,
        action=filters.get("action") or "",
        actor_id=filters.get("actor"),
    )
    page = Paginator(events, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.action_label = ACTION_LABELS.get(event.action, event.action)
        event.detail = _event_detail(event)
    return render(
        request,
        "documents/partner_audit_log.html",
        {
            "collaboration": collaboration,
            "tab": "log",
            "form": form,
            "page": page if valid else None,
            "filtered": bool(filters.get("action") or filters.get("actor")),
        },
        status=200 if valid else 422,
    )
