"""Who may see and change a partner's billing. Built on partners.access: the partner is always the
user's active one, so another partner's figures cannot even be named in a request."""

from __future__ import annotations

from django.http import HttpRequest

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
