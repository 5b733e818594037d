"""Signing's part of the collaboration lists (customers.badges), registered in SigningConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from customers.badges import CustomerSection, PartnerColumn
from signing import selectors
from signing.models import Party


def _waiting(*, user: Any, collaboration_ids: list[int]) -> list[tuple[Party, str]]:
    parties = selectors.parties_waiting_on(user=user, collaboration_ids=collaboration_ids)
    # The logged-in page behind the link, never the raw token (it would sit in page caches).
    return [(party, reverse("signing:party_open", args=[party.pk])) for party in parties]


# Mina samarbeten: per customer, its pending and recently declined or expired signings (those the
# user has not dismissed).
ATTENTION = PartnerColumn(
    heading=_("Signings"),
    template="signing/_attention.html",
    annotations=selectors.attention_counts,
    shows=lambda c: any(getattr(c, f"signings_{kind}") for kind in ("waiting", "declined", "expired")),
)
# Samarbeten: the signings of these firms waiting on the user, each linking to its signing page.
WAITING = CustomerSection(
    name="waiting",
    template="signing/_waiting_for_you.html",
    exists=selectors.waiting_on_user_exists,
    items=_waiting,
)
