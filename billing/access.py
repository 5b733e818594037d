"""Who may see and change a partner's billing. Built on partners.access: the partner is always the
user's active one, so another partner's figures cannot even be named in a request."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from billing.models import Statement
from partners import access
from partners.models import Partner


def partner_for_balances(request: HttpRequest) -> tuple[Partner, bool]:
    """The active partner and whether the user is its account administrator. Every partner user
    sees the balance and the ledger; only administrators buy (the caller checks the flag). 404
    when the active organisation is not a partner."""
    return access.active_partner(request)


def partner_for_storage(request: HttpRequest) -> Partner:
    """The active partner, for its account administrators only: staff get 403, everyone else 404."""
    return access.active_partner_for_admin(request)


def partner_for_statements(request: HttpRequest) -> Partner:
    """As for storage: the active partner, for its account administrators only."""
    return access.active_partner_for_admin(request)


def statement_for_admin(request: HttpRequest, year: int, month: int) -> Statement:
    """The active partner's statement of that month, for its account administrators: staff get
    403, everyone else 404, and so does a month without a statement (or another partner's)."""
    partner = access.active_partner_for_admin(request)
    try:
        period = dt.date(year, month, 1)
    except ValueError:
        raise Http404 from None
    return get_object_or_404(Statement.objects.select_related("partner"), partner=partner, period=period)
