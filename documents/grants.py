"""A customer user's own folder grants, as customers.hooks sees them."""

from __future__ import annotations

from documents.models import FolderUserObjectPermission


def customer_user_grants_revoke(*, customer_id: int, user_id: int) -> None:
    """Delete the user's per-user rows on every folder of the customer's collaborations (with any
    partner): they were selected as a user of that customer, which they no longer are. Rows on
    other customers' folders stay. Called in the transaction that removes the membership."""
    FolderUserObjectPermission.objects.filter(
        user_id=user_id, content_object__collaboration__customer_id=customer_id
    ).delete()
