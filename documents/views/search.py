"""Searching documents by name, on both sides.

Partner side: across every customer the user works with at the active partner (Mina samarbeten),
or within one customer (its Documents tab). Customer side: across the folders shared with the user
at every firm the active customer collaborates with (Samarbeten), or at one firm. What may be
found is decided by documents.selectors.search_*_documents, with the same rules as opening the
document; a customer the user may not see is a 404, as everywhere.
"""

from __future__ import annotations

from html import escape as _esc
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from customers import access as customer_access
from documents import selectors
from documents.links import folder_url_maker
from documents.names import search_key
from partners.access import active_partner_org
from portal.context import AuthedRequest
from portal.links import cached_reverse, url_maker
from portal.units import datetime_formatter, size_formatter

MAX_QUERY = 100
# Counting every match of a short, common query over hundreds of thousands of documents costs more
# than it tells: past this many the page says "more than" and asks for more of the name.
MAX_RESULTS = 1000


def _found_page(
    found: selectors.Found, requested: str | None, size: int
) -> tuple[Page[int], selectors.FoundPage]:
    """The page `requested` of what was found, as Paginator.get_page would pick it from the first
    MAX_RESULTS (not a number: the first; past the end or below 1: the last), and its rows. The
    count comes with the page (found.page counts one past MAX_RESULTS, which tells that there are
    more), so the name match runs once a request; only a page past the end reads again, the first
    page to learn where the end is."""
    number = Paginator(range(MAX_RESULTS), size).get_page(requested).number  # one there may be
    got = _read(found, number, size)
    if not got.rows and number > 1:
        first = _read(found, 1, size)
        number = Paginator(range(min(first.matches, MAX_RESULTS)), size).get_page(number).number
        got = first if number == 1 else _read(found, number, size)
    return Paginator(range(min(got.matches, MAX_RESULTS)), size).page(number), got


def _read(found: selectors.Found, number: int, size: int) -> selectors.FoundPage:
    """Page `number`, which ends at MAX_RESULTS: the one more counted is not shown."""
    offset = (number - 1) * size
    return found.page(offset, min(size, MAX_RESULTS - offset), MAX_RESULTS + 1)


def _query(request: AuthedRequest) -> str:
    return " ".join(request.GET.get("q", "").split())[:MAX_QUERY]


def _rows(documents: list[selectors.SearchRow], *, side: str, across: bool) -> list[SafeString]:
    """The result rows in Python, put together like the file list's (documents.views.partner
    _ROW_HTML): every value from the data through html.escape once, the labels translated and
    escaped once a page. Through the template they took about half of the page's Python time
    (bench/pages.py); one f-string a row, not str.format with a dozen keywords, a quarter of what
    is left. `across`: the customer (or firm) column, on the pages across all of them."""
    detail_url = url_maker("documents:document_detail")
    folder_url = folder_url_maker(side)
    size = size_formatter()
    l_folder, l_updated, l_size = _esc(_("Folder")), _esc(_("Updated")), _esc(_("Size"))
    organisation_label = _esc(_("Customer") if side == "partner" else _("Firm"))
    date_label = datetime_formatter(get_format("SHORT_DATETIME_FORMAT"))
    zone = timezone.get_current_timezone()  # once, not a context-local lookup a row
    rows = []
    for d in documents:
        updated = d.updated_at.astimezone(zone)
        organisation = ""
        if across:
            name = d.customer_name if side == "partner" else d.partner_name
            organisation = f'<td data-label="{organisation_label}">{_esc(name)}</td>'
        detail, document_name = _esc(detail_url(d.pk)), _esc(d.name)
        folder, label = _esc(folder_url(d.collaboration_id, d.folder_id)), _esc(d.folder_label)
        when, shown_when = updated.isoformat(), _esc(date_label(updated))
        shown_size = _esc(size(d.size)) if d.size is not None else "–"
        rows.append(
            SafeString(  # every value from the data is escaped above
                "<tr>"
                f'<td class="result-name"><a href="{detail}"><strong>{document_name}</strong></a></td>'
                f'<td class="result-folder" data-label="{l_folder}"><a href="{folder}">{label}</a></td>'
                f"{organisation}"
                f'<td data-label="{l_updated}"><time datetime="{when}">{shown_when}</time></td>'
                f'<td class="num" data-label="{l_size}">{shown_size}</td>'
                "</tr>"
            )
        )
    return rows


def _render(
    request: AuthedRequest, found: selectors.Found, *, side: str, query: str, **context: Any
) -> HttpResponse:
    page, got = _found_page(found, request.GET.get("page"), settings.PAGE_SIZE)
    return render(
        request,
        "documents/search.html",
        {
            "side": side,
            "query": query,
            "too_short": bool(query) and len(search_key(query)) < selectors.SEARCH_MIN_LENGTH,
            "min_length": selectors.SEARCH_MIN_LENGTH,
            "page": page,
            "results": got.rows,
            "rows": _rows(got.rows, side=side, across=context.get("collaboration") is None),
            "capped": got.matches > MAX_RESULTS,
            "max_results": MAX_RESULTS,
            **context,
        },
    )


@login_required
@require_GET
def partner_search(request: AuthedRequest) -> HttpResponse:
    """Mina samarbeten: every customer the user works with at the active partner."""
    partner = active_partner_org(request)
    query = _query(request)
    found = selectors.search_partner_documents(user=request.user, partner=partner, query=query)
    return _render(
        request,
        found,
        side="partner",
        query=query,
        partner=partner,
        action=cached_reverse("documents:partner_search"),
    )


@login_required
@require_GET
def partner_customer_search(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    """One customer's documents (its Documents tab)."""
    collaboration, partner = customer_access.collaboration_for_partner_user(request, collaboration_id)
    query = _query(request)
    found = selectors.search_partner_documents(
        user=request.user, partner=partner, query=query, collaboration=collaboration
    )
    return _render(
        request,
        found,
        side="partner",
        query=query,
        collaboration=collaboration,
        tab="documents",
        action=cached_reverse("documents:partner_customer_search", args=[collaboration.pk]),
    )


@login_required
@require_GET
def customer_search(request: AuthedRequest) -> HttpResponse:
    """Samarbeten: what is shared with the user at every firm the active customer works with."""
    customer = customer_access.active_customer(request)
    query = _query(request)
    found = selectors.search_customer_documents(user=request.user, customer=customer, query=query)
    return _render(
        request,
        found,
        side="customer",
        query=query,
        customer=customer,
        action=cached_reverse("documents:customer_search"),
    )


@login_required
@require_GET
def customer_collaboration_search(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    """What one firm shares with the user."""
    collaboration, customer = customer_access.collaboration_for_customer_user(request, collaboration_id)
    query = _query(request)
    found = selectors.search_customer_documents(
        user=request.user, customer=customer, query=query, collaboration=collaboration
    )
    return _render(
        request,
        found,
        side="customer",
        query=query,
        collaboration=collaboration,
        tab="documents",
        action=cached_reverse("documents:customer_collaboration_search", args=[collaboration.pk]),
    )
