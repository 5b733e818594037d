"""What apps above customers undo when a person stops being a user of a customer.

Customers knows no documents model (documents depends on customers, not the other way round), yet
a removed user's own grants on the customer's folders must go with the membership, in the same
transaction, or adding the person again would bring them back. Each app that keeps per-user rights
under a customer registers a cleanup in its AppConfig.ready(), as billing.usage does for sizes.
"""

from __future__ import annotations

from collections.abc import Callable

# cleanup(customer_id=..., user_id=...): delete what gave the user access under that customer.
MembershipCleanup = Callable[..., None]
_cleanups: list[MembershipCleanup] = []


def register_membership_cleanup(cleanup: MembershipCleanup) -> None:
    if cleanup not in _cleanups:
        _cleanups.append(cleanup)


def membership_removed(*, customer_id: int, user_id: int) -> None:
    """Run every registered cleanup. Precondition: called inside the transaction that deleted the
    membership, so that the membership and the rights it carried go together or not at all."""
    for cleanup in _cleanups:
        cleanup(customer_id=customer_id, user_id=user_id)
