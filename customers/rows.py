"""Mina samarbeten's table rows, rendered in Python.

A page of 25 customers through the template (a {% url %}, two get_*_display, five translated
labels and an {% include %} per column, for every row) took 13 ms of the page's 47 ms at 500,000
documents (bench/pages.py, in process); these rows took about 2 ms with format_html, and less
since they are put together with str.format and the standard library's html.escape (which
Django's escape wraps), every value from the data escaped once (issue 16). The other apps' columns
(customers.badges) still render their cell from their own partial, only for a row that has
something to show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape as _esc
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from customers.badges import PartnerColumn
from customers.models import Collaboration, CollaborationStatus, CustomerKind
from portal.links import url_maker

_ROW_HTML = (
    "<tr>"
    '<td data-label="{l_customer}"><a href="{url}"><strong>{name}</strong></a></td>'
    '<td data-label="{l_org_number}">{org_number}</td>'
    '<td data-label="{l_contact}">{contact}{contact_email}</td>'
    '<td data-label="{l_account}">{kind}</td>'
    '<td data-label="{l_status}"><span class="badge {status_class}">{status}</span>{files_kept}</td>'
    "{columns}"
    "</tr>"
)
_DASH = mark_safe('<span class="muted">–</span>')


def customer_rows(
    collaborations: Iterable[Collaboration], *, columns: Sequence[PartnerColumn], request: HttpRequest
) -> list[SafeString]:
    """One <tr> per collaboration (annotated by customers.selectors and the columns' annotate)."""
    detail_url = url_maker("customers:customer_detail")
    kept_url = url_maker("documents:ending_files_kept")  # the firm's page of what an ending kept
    # Every text is escaped once here; the URLs are the portal's own (ids only).
    kinds = {value: _esc(str(label)) for value, label in CustomerKind.choices}
    statuses = {value: _esc(str(label)) for value, label in CollaborationStatus.choices}
    labels = {
        "l_customer": _esc(_("Customer")),
        "l_org_number": _esc(_("Organisation number")),
        "l_contact": _esc(_("Primary contact")),
        "l_account": _esc(_("Account")),
        "l_status": _esc(_("Status")),
    }
    files_kept = _esc(_("Files kept"))
    headings = [_esc(str(column.heading)) for column in columns]
    # The columns' partials: their context is only the row and what their forms need.
    partials = [get_template(column.template) for column in columns]
    partial_context: dict[str, Any] = {"request": request, "csrf_token": get_token(request)}
    rows = []
    for c in collaborations:
        ended = c.status == CollaborationStatus.ENDED
        email = getattr(c, "primary_contact_email", None)
        cells = []
        for column, heading, partial in zip(columns, headings, partials, strict=True):
            cell = partial.render({**partial_context, "c": c}) if column.shows(c) else _DASH
            cells.append(f'<td data-label="{heading}">{cell}</td>')  # the partial escaped its values
        customer = c.customer
        rows.append(
            mark_safe(  # noqa: S308 -- every value from the data is escaped here (_esc)
                _ROW_HTML.format(
                    **labels,
                    url=kept_url(c.pk) if ended else detail_url(c.pk),
                    name=_esc(customer.name),
                    org_number=_esc(customer.org_number),
                    contact=_esc(getattr(c, "primary_contact_name", None) or "–"),
                    contact_email=f'<br><span class="muted">{_esc(email)}</span>' if email else "",
                    kind=kinds.get(customer.kind) or _esc(customer.kind),
                    status_class="ok" if c.status == CollaborationStatus.ACTIVE else "warn",
                    status=statuses.get(c.status) or _esc(c.status),
                    files_kept=f'<br><a class="muted" href="{kept_url(c.pk)}">{files_kept}</a>'
                    if ended
                    else "",
                    columns="".join(cells),
                )
            )
        )
    return rows
