"""Document requests' part of the collaboration lists (customers.badges), registered in
DocrequestsConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from customers.badges import CustomerSection, PartnerColumn
from docrequests import selectors


def _open_requests(*, user: Any) -> dict[str, RawSQL]:
    return selectors.open_request_counts()


# Mina samarbeten: per customer, its open document requests.
OPEN_REQUESTS = PartnerColumn(
    heading=_("Requests"),
    template="docrequests/_open_badge.html",
    annotations=_open_requests,
    shows=lambda c: bool(getattr(c, "docrequests_open", 0)),
)
# Samarbeten: the open requests of these firms that ask the user.
REQUESTED = CustomerSection(
    name="requested",
    template="docrequests/_requested_from_you.html",
    exists=selectors.asking_user_exists,
    items=selectors.requests_asking,
)
