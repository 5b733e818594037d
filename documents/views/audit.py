"""The log of a customer's documents, for the partner: who did what, when, from where; on a page
and as a CSV file of any length."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET

from customers.models import Collaboration
from documents import access, retention, selectors
from documents.forms import AuditFilterForm
from documents.models import Audience, CustomerAccess
from documents.views.partner import activate_partner
from portal.context import AuthedRequest
from portal.csv_export import Cell, csv_streaming_response, text_cell
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
    "folder.retention": gettext_lazy("Changed a folder's retention rule"),
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
    if event.action == "folder.retention":
        return retention.rule_detail_text(details.get("new"))
    if details.get("version"):
        text = _("version %(number)s") % {"number": details["version"]}
        return f"{text} ({_('zip')})" if details.get("zip") else text
    return ""


def _filter_form(request: AuthedRequest, collaboration: Collaboration) -> AuditFilterForm:
    return AuditFilterForm(
        request.GET,
        people=selectors.people_in_log(collaboration=collaboration),
        action_labels=ACTION_LABELS,
    )


def _events(
    request: AuthedRequest, collaboration: Collaboration, form: AuditFilterForm
) -> QuerySet[AuditEvent]:
    """Precondition: `form` is valid."""
    filters = form.cleaned_data
    return selectors.audit_events(
        collaboration=collaboration,
        action=filters.get("action") or "",
        actor_id=filters.get("actor"),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )


def _log_page(request: AuthedRequest, collaboration: Collaboration, form: AuditFilterForm) -> HttpResponse:
    valid = form.is_valid()
    page = None
    if valid:
        page = Paginator(_events(request, collaboration, form), settings.PAGE_SIZE).get_page(
            request.GET.get("page")
        )
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
            "page": page,
            "filtered": valid and form.is_filtered(),
        },
        status=200 if valid else 422,
    )


@login_required
@require_GET
def audit_log(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration = access.collaboration_for_partner_documents(request, collaboration_id)
    activate_partner(request, collaboration)
    return _log_page(request, collaboration, _filter_form(request, collaboration))


# Rows fetched from the database at a time: the file is written as they arrive, so a year of
# events never sits in memory.
EXPORT_CHUNK = 2000


def _csv_rows(events: QuerySet[AuditEvent], language: str) -> Iterator[list[Cell]]:
    # The rows are written after the view has returned: keep the request's language for them.
    with translation.override(language):
        for event in events.iterator(chunk_size=EXPORT_CHUNK):
            actor = event.actor
            yield [
                timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                text_cell(actor.get_full_name() if actor else _("The system")),
                text_cell(actor.email if actor else ""),
                text_cell(ACTION_LABELS.get(event.action, event.action)),
                text_cell(event.object_repr),
                text_cell(_event_detail(event)),
                event.ip or "",
            ]


@login_required
@require_GET
def audit_log_csv(request: AuthedRequest, collaboration_id: int) -> HttpResponseBase:
    """The log as the page's filter has it (action, person, days), as a CSV file."""
    collaboration = access.collaboration_for_partner_documents(request, collaboration_id)
    activate_partner(request, collaboration)
    form = _filter_form(request, collaboration)
    if not form.is_valid():
        return _log_page(request, collaboration, form)
    days = [
        f"{day:%Y-%m-%d}" for day in (form.cleaned_data["date_from"], form.cleaned_data["date_to"]) if day
    ]
    header = [_("Time"), _("Person"), _("Email"), _("Action"), _("Object"), _("Details"), _("IP address")]
    return csv_streaming_response(
        header=header,
        rows=_csv_rows(_events(request, collaboration, form), translation.get_language()),
        filename=" ".join([_("Log"), collaboration.customer.name, "–".join(days)]).strip() + ".csv",
    )
