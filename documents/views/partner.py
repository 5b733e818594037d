"""Partner side of documents: Mina samarbeten / customer / Dokument.

Whoever may see the customer (an account administrator of the partner, or staff assigned to it)
sees every folder of it and manages them: documents.access decides, 404 for anyone else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.models import Collaboration, CustomerMembership
from documents import access, selectors, services
from documents.access import FolderRights
from documents.forms import AccessForm, BulkForm, FolderNameForm, MoveFolderForm, NewFolderForm
from documents.models import Audience, CustomerAccess, Document, Folder
from documents.storage import human_size
from documents.zipping import zip_response
from partners.models import PartnerMembership
from portal.context import AuthedRequest, org_context
from portal.errors import ServiceError
from portal.models import AuditEvent, User

# --- Helpers shared by the pages ------------------------------------------------------------


def _activate_partner(request: AuthedRequest, collaboration: Collaboration) -> None:
    """As on the customer pages, the header shows the partner the page belongs to. The session is
    written only when that changes (a write on every page would cost three queries)."""
    ctx = org_context(request)
    active = ctx.active
    if active is None or not (active.is_partner and active.id == collaboration.partner_id):
        ctx.activate("partner", collaboration.partner_id)


def _folder_url(folder: Folder, query: str = "") -> str:
    url = reverse("documents:partner_folder", args=[folder.collaboration_id, folder.pk])
    return f"{url}?{query}" if query else url


def _all_folders(request: AuthedRequest, collaboration: Collaboration) -> list[Folder]:
    return list(
        selectors.folders_visible_to(user=request.user, collaboration=collaboration, rights_side="partner")
    )


def _path_labels(folders: Iterable[Folder]) -> dict[int, str]:
    """ "Top / Sub / Leaf" for every folder, from the one list the tree is built from."""
    folders = list(folders)
    names = {f.pk: f.name for f in folders}
    return {f.pk: " / ".join([*(names.get(pk, "?") for pk in f.ancestor_ids()), f.name]) for f in folders}


def _choices(labels: dict[int, str], exclude: Iterable[int] = ()) -> list[tuple[int, str]]:
    skip = set(exclude)
    return sorted(((pk, label) for pk, label in labels.items() if pk not in skip), key=lambda c: c[1].lower())


def _user_choices(collaboration: Collaboration) -> list[tuple[int, str]]:
    def label(m: CustomerMembership) -> str:
        name = m.user.get_full_name()
        return _("%(name)s (primary contact)") % {"name": name} if m.is_primary_contact else name

    return [(m.user_id, label(m)) for m in selectors.customer_users_for_access(collaboration=collaboration)]


def _add_service_error(form: forms.Form, error: ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _sort(value: str | None) -> str:
    return value if value in selectors.SORTS else "name"


def file_list_context(
    request: AuthedRequest,
    *,
    folder: Folder,
    rights: FolderRights,
    bulk_url: str,
    list_url: str,
    sort: str,
    move_targets: Sequence[tuple[int, str]] = (),
    bulk_form: BulkForm | None = None,
) -> dict[str, Any]:
    """What documents/_file_list.html needs (see the comment at its top); usable by either side.
    A constant number of queries whatever the number of documents: a count and one page."""
    page = Paginator(
        selectors.documents_in(user=request.user, folder=folder, sort=sort), settings.PAGE_SIZE
    ).get_page(request.GET.get("page"))
    for document in page.object_list:
        version = document.current_version
        document.size_label = human_size(version.size) if version else ""
    checked: set[int] = set()
    if bulk_form is not None:
        # Tick again what was ticked when the form comes back with an error.
        checked = set(bulk_form.cleaned_data.get("documents") or [])
    return {
        "folder": folder,
        "rights": rights,
        "side": rights.side,
        "page": page,
        "documents": page.object_list,
        "sort": sort,
        "bulk_url": bulk_url,
        "list_url": list_url,
        "move_targets": list(move_targets),
        "bulk_form": bulk_form,
        "checked_ids": checked,
    }


def _render_folder(
    request: AuthedRequest, folder: Folder, *, sort: str, bulk_form: BulkForm | None = None, status: int = 200
) -> HttpResponse:
    collaboration = folder.collaboration
    folders = _all_folders(request, collaboration)
    labels = _path_labels(folders)
    by_id = {f.pk: f for f in folders}
    context = file_list_context(
        request,
        folder=folder,
        rights=access.PARTNER_RIGHTS,
        bulk_url=reverse("documents:partner_bulk", args=[collaboration.pk, folder.pk]),
        list_url=_folder_url(folder),
        sort=sort,
        move_targets=_choices(labels, exclude=[folder.pk]),
        bulk_form=bulk_form,
    )
    context.update(
        {
            "collaboration": collaboration,
            "tab": "documents",
            "tree": selectors.folder_tree(folders),
            "ancestors": [by_id[pk] for pk in folder.ancestor_ids() if pk in by_id],
            "subfolders": sorted(
                (f for f in folders if f.parent_id == folder.pk), key=lambda f: f.name.lower()
            ),
            "top_folder": folder.root or folder,
            "audience_label": selectors.audience_label(folder),
            "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
            "max_upload_size": human_size(settings.MAX_UPLOAD_BYTES),
        }
    )
    return render(request, "documents/partner_folder.html", context, status=status)


# --- Pages ----------------------------------------------------------------------------------


@login_required
@require_GET
def root(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration = access.collaboration_for_partner_documents(request.user, collaboration_id)
    _activate_partner(request, collaboration)
    folders = _all_folders(request, collaboration)
    top = sorted((f for f in folders if f.is_top_level), key=lambda f: f.name.lower())
    return render(
        request,
        "documents/partner_root.html",
        {
            "collaboration": collaboration,
            "tab": "documents",
            "tree": selectors.folder_tree(folders),
            "top_folders": [(f, selectors.audience_label(f)) for f in top],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def folder_create(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    """A top-level folder gets the customer's access here; a subfolder (?parent=<id>) inherits it."""
    collaboration = access.collaboration_for_partner_documents(request.user, collaboration_id)
    _activate_partner(request, collaboration)
    parent: Folder | None = None
    raw_parent = request.GET.get("parent", "")
    if raw_parent:
        if not raw_parent.isdigit() or len(raw_parent) > 18:
            raise Http404
        parent = access.folder_for_partner(request.user, int(raw_parent), collaboration_id=collaboration.pk)
    data = request.POST if request.method == "POST" else None
    form: FolderNameForm | NewFolderForm
    if parent is not None:
        form = FolderNameForm(data)
    else:
        form = NewFolderForm(
            data,
            user_choices=_user_choices(collaboration),
            initial={"customer_access": CustomerAccess.NONE, "audience": Audience.ALL},
        )
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        access_fields: dict[str, Any] = {}
        if parent is None:
            access_fields = {
                "customer_access": cleaned["customer_access"],
                "audience": cleaned["audience"],
                "selected_user_ids": cleaned["users"],
                "primary_contact_manages": cleaned["primary_contact_manages"],
            }
        try:
            folder = services.folder_create(
                collaboration=collaboration,
                actor=request.user,
                name=cleaned["name"],
                parent=parent,
                **access_fields,
            )
        except ServiceError as error:
            _add_service_error(form, error)
        else:
            messages.success(request, _("The folder %(name)s was created.") % {"name": folder.name})
            return redirect(_folder_url(folder))
    return render(
        request,
        "documents/partner_folder_create.html",
        {"collaboration": collaboration, "parent": parent, "form": form},
        status=422 if form.errors else 200,
    )


@login_required
@require_GET
def folder_detail(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    folder = access.folder_for_partner(request.user, folder_id, collaboration_id=collaboration_id)
    _activate_partner(request, folder.collaboration)
    return _render_folder(request, folder, sort=_sort(request.GET.get("sort")))


@login_required
@require_http_methods(["GET", "POST"])
def folder_rename(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    folder = access.folder_for_partner(request.user, folder_id, collaboration_id=collaboration_id)
    _activate_partner(request, folder.collaboration)
    form = FolderNameForm(request.POST or None, initial={"name": folder.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.folder_rename(folder=folder, actor=request.user, name=form.cleaned_data["name"])
        except ServiceError as error:
            _add_service_error(form, error)
        else:
            messages.success(request, _("The folder was renamed to %(name)s.") % {"name": folder.name})
            return redirect(_folder_url(folder))
    return render(
        request,
        "documents/partner_folder_rename.html",
        {"collaboration": folder.collaboration, "folder": folder, "form": form},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def folder_move(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    """Targets: the collaboration's folders outside the folder's own subtree, or the top level."""
    folder = access.folder_for_partner(request.user, folder_id, collaboration_id=collaboration_id)
    collaboration = folder.collaboration
    _activate_partner(request, collaboration)
    folders = _all_folders(request, collaboration)
    by_id = {f.pk: f for f in folders}
    subtree = [f.pk for f in folders if f.path.startswith(folder.path)]
    choices: list[tuple[int | str, str]] = [("", _("Top level (no parent folder)"))]
    choices += _choices(_path_labels(folders), exclude=subtree)
    form = MoveFolderForm(
        request.POST or None, target_choices=choices, initial={"target": folder.parent_id or ""}
    )
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["target"]
        try:
            services.folder_move(
                folder=folder, actor=request.user, new_parent=by_id[target] if target else None
            )
        except ServiceError as error:
            _add_service_error(form, error)
        else:
            messages.success(request, _("The folder %(name)s was moved.") % {"name": folder.name})
            return redirect(_folder_url(folder))
    return render(
        request,
        "documents/partner_folder_move.html",
        {"collaboration": collaboration, "folder": folder, "form": form},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def folder_delete(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    """Ask first (GET, saying what goes with the folder), then delete (POST)."""
    folder = access.folder_for_partner(request.user, folder_id, collaboration_id=collaboration_id)
    collaboration = folder.collaboration
    _activate_partner(request, collaboration)
    if request.method == "GET":
        contents = selectors.folder_contents(folder=folder)
        return render(
            request,
            "documents/partner_folder_delete.html",
            {
                "collaboration": collaboration,
                "folder": folder,
                "contents": contents,
                "size": human_size(contents.bytes),
            },
        )
    parent = folder.parent
    services.folder_delete(folder=folder, actor=request.user)
    messages.success(request, _("The folder %(name)s was deleted.") % {"name": folder.name})
    if parent is not None:
        return redirect(_folder_url(parent))
    return redirect("documents:partner_root", collaboration.pk)


@login_required
@require_http_methods(["GET", "POST"])
def folder_access(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    """The access dialog of a top-level folder. A subfolder inherits, so it sends you to its top."""
    folder = access.folder_for_partner(request.user, folder_id, collaboration_id=collaboration_id)
    collaboration = folder.collaboration
    _activate_partner(request, collaboration)
    if not folder.is_top_level:
        messages.info(request, _("Access is set on the top-level folder; subfolders inherit it."))
        return redirect("documents:partner_folder_access", collaboration.pk, folder.root_id)
    state = selectors.folder_access_state(folder=folder)
    form = AccessForm(
        request.POST or None,
        user_choices=_user_choices(collaboration),
        initial={
            "customer_access": folder.customer_access,
            "audience": state.audience,
            "users": sorted(state.selected_user_ids),
            "primary_contact_manages": folder.primary_contact_manages,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.folder_set_access(
                folder=folder,
                actor=request.user,
                customer_access=data["customer_access"],
                audience=data["audience"],
                selected_user_ids=data["users"],
                primary_contact_manages=data["primary_contact_manages"],
            )
        except ServiceError as error:
            _add_service_error(form, error)
        else:
            messages.success(request, _("The access to %(name)s was saved.") % {"name": folder.name})
            return redirect(_folder_url(folder))
    return render(
        request,
        "documents/partner_folder_access.html",
        {"collaboration": collaboration, "folder": folder, "form": form},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def bulk(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponseBase:
    """Download as zip, delete or move the ticked documents. Only live documents of this folder are
    choices: an id from anywhere else makes the form invalid and nothing happens."""
    folder = access.folder_for_partner(request.user, folder_id, collaboration_id=collaboration_id)
    collaboration = folder.collaboration
    sort = _sort(request.POST.get("sort"))
    # Ids only, and no longer than a bigint: anything else is simply not a choice.
    requested = [int(v) for v in request.POST.getlist("documents") if v.isdigit() and len(v) < 19]
    candidates = list(selectors.documents_in(user=request.user, folder=folder).filter(pk__in=requested))
    targets = _choices(_path_labels(_all_folders(request, collaboration)), exclude=[folder.pk])
    form = BulkForm(request.POST, document_ids=[d.pk for d in candidates], target_choices=targets)
    if not form.is_valid():
        return _render_folder(request, folder, sort=sort, bulk_form=form, status=422)
    ticked = set(form.cleaned_data["documents"])
    chosen = [d for d in candidates if d.pk in ticked]
    action = form.cleaned_data["action"]
    if action == "download":
        return _bulk_download(request, folder, chosen)
    try:
        if action == "delete":
            count = services.documents_delete(documents=chosen, actor=request.user)
            text = ngettext("%(count)d document was deleted.", "%(count)d documents were deleted.", count) % {
                "count": count
            }
        else:
            target = access.folder_for_partner(
                request.user, form.cleaned_data["target"], collaboration_id=collaboration.pk
            )
            count = services.documents_move(documents=chosen, actor=request.user, target=target)
            text = ngettext(
                "%(count)d document was moved to %(folder)s.",
                "%(count)d documents were moved to %(folder)s.",
                count,
            ) % {"count": count, "folder": target.name}
    except ServiceError as error:
        form.add_error(None, error.message)
        return _render_folder(request, folder, sort=sort, bulk_form=form, status=422)
    messages.success(request, text)
    return redirect(_folder_url(folder, f"sort={sort}"))


def _bulk_download(request: AuthedRequest, folder: Folder, documents: list[Document]) -> HttpResponseBase:
    for document in documents:
        version = document.current_version
        if version is None:
            continue
        # record_download reads version.document.folder: give it the rows we hold, not new queries.
        document.folder = folder
        version.document = document
        services.record_download(version=version, actor=request.user, as_zip=True)
    return zip_response(documents=documents, filename=f"{folder.name}.zip")


# --- Audit log ------------------------------------------------------------------------------

ACTION_LABELS = {
    "document.upload": gettext_lazy("Uploaded a document"),
    "document.version": gettext_lazy("Uploaded a new version"),
    "document.download": gettext_lazy("Downloaded a document"),
    "document.delete": gettext_lazy("Deleted a document"),
    "document.move": gettext_lazy("Moved a document"),
    "version.delete": gettext_lazy("Deleted a version"),
    "folder.create": gettext_lazy("Created a folder"),
    "folder.rename": gettext_lazy("Renamed a folder"),
    "folder.move": gettext_lazy("Moved a folder"),
    "folder.delete": gettext_lazy("Deleted a folder"),
    "folder.access": gettext_lazy("Changed a folder's access"),
}


class AuditFilterForm(forms.Form):
    # Lives here, not in documents/forms.py, only because that module is another author's for now.
    action = forms.ChoiceField(label=gettext_lazy("Action"), required=False)
    actor = forms.TypedChoiceField(label=gettext_lazy("Person"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, people: list[tuple[str, list[tuple[int, str]]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action = self.fields["action"]
        assert isinstance(action, forms.ChoiceField)
        action.choices = [("", _("All actions")), *ACTION_LABELS.items()]
        actor = self.fields["actor"]
        assert isinstance(actor, forms.TypedChoiceField)
        actor.choices = [("", _("Everyone")), *((group, items) for group, items in people if items)]


def _people_in_log(collaboration: Collaboration) -> list[tuple[str, list[tuple[int, str]]]]:
    """The partner's staff and the customer's users who appear in the collaboration's log, grouped.
    (A read that belongs in documents.selectors; kept here while that module is another author's.)"""
    people = (
        User.objects.filter(
            pk__in=AuditEvent.objects.filter(collaboration_id=collaboration.pk).values("actor_id")
        )
        .annotate(
            at_partner=Exists(
                PartnerMembership.objects.filter(partner_id=collaboration.partner_id, user=OuterRef("pk"))
            ),
            at_customer=Exists(
                CustomerMembership.objects.filter(customer_id=collaboration.customer_id, user=OuterRef("pk"))
            ),
        )
        .order_by("name", "email")
    )
    staff: list[tuple[int, str]] = []
    customer: list[tuple[int, str]] = []
    others: list[tuple[int, str]] = []
    for person in people:
        entry = (person.pk, person.get_full_name())
        if person.at_partner:
            staff.append(entry)
        elif person.at_customer:
            customer.append(entry)
        else:
            others.append(entry)
    return [
        (_("At %(name)s") % {"name": collaboration.partner.name}, staff),
        (_("At %(name)s") % {"name": collaboration.customer.name}, customer),
        (_("No longer a member"), others),
    ]


def _event_detail(event: AuditEvent) -> str:
    details = event.details if isinstance(event.details, dict) else {}
    if event.action == "folder.rename" and details.get("old_name"):
        return _("was %(name)s") % {"name": details["old_name"]}
    if event.action in ("folder.move", "document.move") and details.get("to"):
        return _("to %(path)s") % {"path": details["to"]}
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
    _activate_partner(request, collaboration)
    form = AuditFilterForm(request.GET, people=_people_in_log(collaboration))
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
