"""Partner side of documents: Mina samarbeten / customer / Dokument.

Whoever may see the customer (an account administrator of the partner, or staff assigned to it)
sees every folder of it and manages them: documents.access decides, 404 for anyone else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape as _esc
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import F, QuerySet
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.models import Collaboration, CustomerMembership
from documents import access, locks, paging, retention, selectors, services
from documents.access import FolderRights
from documents.forms import AccessForm, BulkForm, FolderNameForm, MoveFolderForm, NewFolderForm
from documents.links import folder_url
from documents.models import Audience, CustomerAccess, Document, Folder, PreviewStatus
from documents.views.files import bulk_download
from portal.context import AuthedRequest, org_context
from portal.errors import ServiceError
from portal.links import url_maker
from portal.units import datetime_formatter, human_size, size_formatter

# --- Helpers shared by the pages ------------------------------------------------------------


def activate_partner(request: AuthedRequest, collaboration: Collaboration) -> None:
    """As on the customer pages, the header shows the partner the page belongs to."""
    org_context(request).activate("partner", collaboration.partner_id)


def _all_folders(request: AuthedRequest, collaboration: Collaboration) -> list[Folder]:
    return selectors.folders_visible_to(user=request.user, collaboration=collaboration, rights_side="partner")


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


def _sort(value: str | None) -> str:
    return value if value in selectors.SORTS else "name"


# One row of the file list. Made with format_html in Python, not with template tags: a page of 25
# rows spent most of its time resolving template variables (bench/pages.py). Measured again in
# issue 15 (django.test.Client, a folder of 500 documents, median of 50 requests, the variants
# interleaved), with the same values handed to a template: at 25 rows a page, Python 110 ms, the
# rows inline in _file_list.html's loop 118.5 ms, an {% include %} per row 118.5 ms; at 500 rows,
# Python 280 ms, inline 275 ms (a tie), include 374 ms. Python is never slower, so it stays.
# Issue 16 took format_html out as well: its lazy-string checks and conditional_escape per value
# were a third of the rows' time. Every value from the data goes through _esc (the standard
# library's html.escape, which Django's escape wraps) once; RowLabels holds escaped texts.
# The column headers are in documents/_file_list.html.
_ROW_HTML = (
    "<tr>"
    '<td class="col-check">'
    '<input type="checkbox" name="documents" value="{pk}" id="doc-{pk}"{checked}{retained}>'
    '<label for="doc-{pk}" class="visually-hidden">{select_label}</label>'
    "</td>"
    '<td class="col-name"><div class="file-name">{icon}'
    '<span><a href="{detail_url}">{name}</a>{versions}{kept}'
    '<span class="file-actions">{open_link}'
    '<a href="{download_url}" download>{download}<span class="visually-hidden"> {name}</span></a>'
    "</span></span></div></td>"
    '<td class="num col-size" data-label="{size_heading}">{size_label}</td>'
    '<td class="col-date" data-label="{updated_heading}"><time datetime="{date_iso}">{date_label}</time></td>'
    '<td class="col-by" data-label="{by_heading}">{by_label}{customer_badge}</td>'
    "</tr>"
)


@dataclass(frozen=True)
class RowLabels:
    """The texts every row repeats, translated and HTML-escaped once per page, and the date
    format of the language."""

    open: str
    download: str
    size: str
    updated: str
    uploaded_by: str
    customer_badge: str
    file_icon: str
    kept_until: str  # not escaped: "%(date)s" is filled in per row, then escaped
    select: str  # not escaped: "%(name)s" is filled in per row, then escaped
    retention_title: str
    date_label: Callable[[dt.datetime], str]  # SHORT_DATETIME_FORMAT of the language
    size_label: Callable[[int], str]  # human_size in the language

    @classmethod
    def current(cls) -> RowLabels:
        return cls(
            open=_esc(_("Open")),
            download=_esc(_("Download")),
            size=_esc(_("Size")),
            updated=_esc(_("Updated")),
            uploaded_by=_esc(_("Uploaded by")),
            customer_badge=f' <span class="badge">{_esc(_("customer"))}</span>',
            file_icon=_esc(pgettext("file type icon", "FILE")),
            kept_until=_("Kept until %(date)s"),
            select=_("Select %(name)s"),
            retention_title=_esc(_("Under retention: it cannot be deleted until this day has passed.")),
            date_label=datetime_formatter(get_format("SHORT_DATETIME_FORMAT")),
            size_label=size_formatter(),
        )


# What a row shows, read as one named tuple per document (values_list), not as Document, version
# and User instances: making those was about a millisecond of a folder page (bench/pages.py). The
# version's columns are None for a document without one (the joins are LEFT OUTER).
FILE_ROW_VALUES = {
    "version_id": F("current_version_id"),
    "version_size": F("current_version__size"),
    "version_type": F("current_version__content_type"),
    "version_preview": F("current_version__preview_status"),
    "version_by_customer": F("current_version__uploaded_by_customer"),
    "uploader_name": F("current_version__uploaded_by__name"),
    "uploader_email": F("current_version__uploaded_by__email"),
}
FILE_ROW_FIELDS = ("pk", "name", "version_count", "updated_at", *FILE_ROW_VALUES)


def file_rows(documents: QuerySet[Document]) -> QuerySet[Any]:
    """`documents` (selectors.documents_in) as the named tuples _file_row reads, in the same order."""
    return documents.annotate(**FILE_ROW_VALUES).values_list(*FILE_ROW_FIELDS, named=True)


def file_source(folder: Folder, sort: str) -> paging.FileSource:
    """The folder's rows for paging.file_page: prepared statements on PostgreSQL
    (selectors.PreparedFileSource), file_rows of documents_in elsewhere, the same rows."""
    if connection.vendor == "postgresql":
        return selectors.PreparedFileSource(folder.pk, sort)
    documents = selectors.documents_in(folder=folder, sort=sort)
    return paging.QuerySetSource(file_rows(documents), sort=sort, counted=documents)


def _file_row(
    document: Any,
    *,
    side: str,
    checked: bool,
    labels: RowLabels,
    detail_url: Callable[[int], str],
    download_url: Callable[[int], str],
    preview_url: Callable[[int], str],
    kept_until: dt.date | None = None,
) -> SafeString:
    """One row of a file_rows tuple; `kept_until` is the last day of the document's retention
    while it lasts."""
    has_version = document.version_id is not None
    content_type = document.version_type or ""
    is_pdf = content_type == "application/pdf"
    count = document.version_count or 1
    updated = timezone.localtime(document.updated_at)
    name = _esc(document.name)
    icon_class, icon_label, preview = "", labels.file_icon, ""
    if has_version:
        if document.version_preview == PreviewStatus.READY:
            preview = preview_url(document.version_id)
        elif is_pdf:
            icon_class, icon_label = "pdf", "PDF"
        elif content_type.startswith("image/"):
            icon_class, icon_label = "img", "IMG"
        elif content_type == "text/plain":
            icon_label = "TXT"
    if preview:
        icon = f'<img class="file-thumb" src="{_esc(preview)}" alt="" width="40" height="52" loading="lazy">'
    else:
        icon = f'<span class="file-icon {icon_class}" aria-hidden="true">{icon_label}</span>'
    download = _esc(download_url(document.pk))
    # User.get_full_name: the name, or the email when there is none.
    uploader = (document.uploader_name or document.uploader_email) if has_version else None
    if kept_until is None:
        select_label, retained, kept = labels.select % {"name": document.name}, "", ""
    else:
        day = retention.day_label(kept_until)
        under = _("Select %(name)s (under retention: it cannot be deleted until %(date)s has passed)")
        select_label = under % {"name": document.name, "date": day}
        retained = f' data-kept-until="{kept_until.isoformat()}"'
        kept = (
            f' <span class="badge retention" title="{labels.retention_title}">'
            f"{_esc(labels.kept_until % {'date': day})}</span>"
        )
    versions = ""
    if count > 1:
        counted = ngettext("%(n)s version", "%(n)s versions", count) % {"n": count}
        versions = f' <span class="badge muted">{_esc(counted)}</span>'
    open_link = ""
    if has_version and is_pdf:
        open_link = (
            f'<a href="{download}?inline=1" target="_blank" rel="noopener">{labels.open}'
            f'<span class="visually-hidden"> {name}</span></a> · '
        )
    return mark_safe(  # noqa: S308 -- every value from the data is escaped above (_esc)
        _ROW_HTML.format(
            pk=int(document.pk),
            checked=" checked" if checked else "",
            select_label=_esc(select_label),
            retained=retained,
            kept=kept,
            icon=icon,
            detail_url=_esc(detail_url(document.pk)),
            name=name,
            versions=versions,
            open_link=open_link,
            download_url=download,
            download=labels.download,
            size_heading=labels.size,
            size_label=_esc(labels.size_label(document.version_size)) if has_version else "",
            updated_heading=labels.updated,
            date_iso=updated.isoformat(),
            date_label=_esc(labels.date_label(updated)),
            by_heading=labels.uploaded_by,
            by_label=_esc(uploader) if uploader else "–",
            customer_badge=labels.customer_badge
            if has_version and document.version_by_customer and side == "partner"
            else "",
        )
    )


def _move_options(targets: Sequence[tuple[int, str]], bulk_form: BulkForm | None) -> SafeString:
    """The <option>s of "Move to…", the one the refused form had chosen selected: made here, not in
    a template loop, because a customer has as many as it has folders (0.4 ms at 10 folders)."""
    chosen = bulk_form.cleaned_data.get("target") if bulk_form is not None else None
    return mark_safe(  # noqa: S308 -- the labels are escaped here, the ids are ints
        "".join(
            f'<option value="{int(pk)}"{" selected" if pk == chosen else ""}>{_esc(label)}</option>'
            for pk, label in targets
        )
    )


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
    A constant number of queries whatever the number of documents: a count and one page, found by
    the name after the previous page's last where the links carry it (documents.paging)."""
    page = paging.file_page(
        file_source(folder, sort), sort=sort, query=request.GET, per_page=settings.PAGE_SIZE
    )
    detail_url = url_maker("documents:document_detail")
    download_url = url_maker("documents:document_download")
    preview_url = url_maker("documents:preview")
    checked: set[int] = set()
    if bulk_form is not None:
        # Tick again what was ticked when the form comes back with an error.
        checked = set(bulk_form.cleaned_data.get("documents") or [])
    labels = RowLabels.current()
    rule = retention.Rule.of(folder.root or folder)
    kept: dict[int, dt.date] = {}
    if rule is not None:  # no rule, no query: the root came with the folder
        kept = retention.retained_documents(Document.objects.filter(pk__in=[d.pk for d in page.object_list]))
    rows = [
        _file_row(
            d,
            side=rights.side,
            checked=d.pk in checked,
            labels=labels,
            detail_url=detail_url,
            download_url=download_url,
            preview_url=preview_url,
            kept_until=kept.get(d.pk),
        )
        for d in page.object_list
    ]
    return {
        "folder": folder,
        "rights": rights,
        "side": rights.side,
        "page": page,
        "documents": page.object_list,
        "rows": rows,
        "sort": sort,
        "bulk_url": bulk_url,
        "list_url": list_url,
        "move_targets": list(move_targets),
        "move_options": _move_options(move_targets, bulk_form),
        "bulk_form": bulk_form,
        "retention_rule": retention.rule_text(rule) if rule is not None else "",
        "retained_count": len(kept),
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
        list_url=folder_url(folder, "partner"),
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
            "can_set_retention": _is_partner_admin(request, collaboration),
        }
    )
    return render(request, "documents/partner_folder.html", context, status=status)


def _is_partner_admin(request: AuthedRequest, collaboration: Collaboration) -> bool:
    """An account administrator of the collaboration's partner (from the request's organisations,
    no query): who may set a retention rule."""
    org = request.org.find("partner", collaboration.partner_id)
    return org is not None and org.is_admin


# --- Pages ----------------------------------------------------------------------------------


@login_required
@require_GET
def root(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration = access.collaboration_for_partner_documents(request, collaboration_id)
    activate_partner(request, collaboration)
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
    collaboration = access.collaboration_for_partner_documents(request, collaboration_id)
    activate_partner(request, collaboration)
    parent: Folder | None = None
    raw_parent = request.GET.get("parent", "")
    if raw_parent:
        if not raw_parent.isdigit() or len(raw_parent) > 18:
            raise Http404
        parent = access.folder_for_partner(request, int(raw_parent), collaboration_id=collaboration.pk)
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
            error.add_to(form)
        else:
            messages.success(request, _("The folder %(name)s was created.") % {"name": folder.name})
            return redirect(folder_url(folder, "partner"))
    return render(
        request,
        "documents/partner_folder_create.html",
        {"collaboration": collaboration, "parent": parent, "form": form},
        status=422 if form.errors else 200,
    )


@login_required
@require_GET
def folder_detail(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    folder = access.folder_for_partner(request, folder_id, collaboration_id=collaboration_id)
    activate_partner(request, folder.collaboration)
    return _render_folder(request, folder, sort=_sort(request.GET.get("sort")))


@login_required
@require_http_methods(["GET", "POST"])
def folder_rename(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    folder = access.folder_for_partner(request, folder_id, collaboration_id=collaboration_id)
    activate_partner(request, folder.collaboration)
    form = FolderNameForm(request.POST or None, initial={"name": folder.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.folder_rename(folder=folder, actor=request.user, name=form.cleaned_data["name"])
        except ServiceError as error:
            error.add_to(form)
        else:
            messages.success(request, _("The folder was renamed to %(name)s.") % {"name": folder.name})
            return redirect(folder_url(folder, "partner"))
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
    folder = access.folder_for_partner(request, folder_id, collaboration_id=collaboration_id)
    collaboration = folder.collaboration
    activate_partner(request, collaboration)
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
            error.add_to(form)
        else:
            messages.success(request, _("The folder %(name)s was moved.") % {"name": folder.name})
            return redirect(folder_url(folder, "partner"))
    return render(
        request,
        "documents/partner_folder_move.html",
        {"collaboration": collaboration, "folder": folder, "form": form},
        status=422 if form.errors else 200,
    )


def _folder_delete_page(
    request: AuthedRequest,
    folder: Folder,
    *,
    in_signing: Sequence[str] = (),
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    contents = selectors.folder_contents(folder=folder)
    retained = ""
    if retention.Rule.of(folder.root or folder) is not None:
        retained = retention.retained_names(
            Document.objects.filter(folder__path__startswith=folder.path, deleted_at__isnull=True)
        )
    return render(
        request,
        "documents/partner_folder_delete.html",
        {
            "retained": retained,
            "collaboration": folder.collaboration,
            "folder": folder,
            "contents": contents,
            "size": human_size(contents.bytes),
            "in_signing": ", ".join(in_signing),
            "error": error,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def folder_delete(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    """Ask first (GET, saying what goes with the folder), then delete (POST)."""
    folder = access.folder_for_partner(request, folder_id, collaboration_id=collaboration_id)
    collaboration = folder.collaboration
    activate_partner(request, collaboration)
    if request.method == "GET":
        return _folder_delete_page(request, folder, in_signing=locks.folder_names_in_signing(folder))
    parent = folder.parent
    try:
        services.folder_delete(folder=folder, actor=request.user)
    except ServiceError as error:
        return _folder_delete_page(request, folder, error=error.message, status=422)
    messages.success(request, _("The folder %(name)s was deleted.") % {"name": folder.name})
    if parent is not None:
        return redirect(folder_url(parent, "partner"))
    return redirect("documents:partner_root", collaboration.pk)


@login_required
@require_http_methods(["GET", "POST"])
def folder_access(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    """The access dialog of a top-level folder. A subfolder inherits, so it sends you to its top."""
    folder = access.folder_for_partner(request, folder_id, collaboration_id=collaboration_id)
    collaboration = folder.collaboration
    activate_partner(request, collaboration)
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
            error.add_to(form)
        else:
            messages.success(request, _("The access to %(name)s was saved.") % {"name": folder.name})
            return redirect(folder_url(folder, "partner"))
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
    folder = access.folder_for_partner(request, folder_id, collaboration_id=collaboration_id)
    collaboration = folder.collaboration
    sort = _sort(request.POST.get("sort"))
    # Ids only, and no longer than a bigint: anything else is simply not a choice.
    requested = [int(v) for v in request.POST.getlist("documents") if v.isdigit() and len(v) < 19]
    candidates = list(selectors.documents_in(folder=folder).filter(pk__in=requested))
    targets = _choices(_path_labels(_all_folders(request, collaboration)), exclude=[folder.pk])
    form = BulkForm(request.POST, document_ids=[d.pk for d in candidates], target_choices=targets)
    if not form.is_valid():
        return _render_folder(request, folder, sort=sort, bulk_form=form, status=422)
    ticked = set(form.cleaned_data["documents"])
    chosen = [d for d in candidates if d.pk in ticked]
    action = form.cleaned_data["action"]
    if action == "download":
        return bulk_download(request, folder, chosen)
    try:
        if action == "delete":
            count = services.documents_delete(documents=chosen, actor=request.user)
            text = ngettext("%(count)d document was deleted.", "%(count)d documents were deleted.", count) % {
                "count": count
            }
        else:
            target = access.folder_for_partner(
                request, form.cleaned_data["target"], collaboration_id=collaboration.pk
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
    return redirect(f"{folder_url(folder, 'partner')}?sort={sort}")
