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


# What apps above customers do when a collaboration ends (signing cancels its pending requests,
# docrequests its open requests, documents purges the files when they go at once).
# ended(collaboration=..., actor=..., delete_now=...), inside collaboration_end's transaction.
CollaborationEnded = Callable[..., None]
_ended: list[CollaborationEnded] = []


def register_collaboration_ended(fn: CollaborationEnded) -> None:
    if fn not in _ended:
        _ended.append(fn)


def collaboration_ended(*, collaboration: object, actor: object, delete_now: bool) -> None:
    """Run every registered reaction. Precondition: called inside the transaction that ended the
    collaboration (its row locked), so that ending and what goes with it commit together or not at
    all."""
    for fn in _ended:
        fn(collaboration=collaboration, actor=actor, delete_now=delete_now)


# What the end page says will happen: each app adds its lines ("3 pending signings will be
# cancelled"), as summary(collaboration=...) -> list[str], in the active language.
EndingSummary = Callable[..., list[str]]
_summaries: list[EndingSummary] = []


def register_ending_summary(fn: EndingSummary) -> None:
    if fn not in _summaries:
        _summaries.append(fn)


def ending_summary(*, collaboration: object) -> list[str]:
    return [line for fn in _summaries for line in fn(collaboration=collaboration)]
