"""The address of a folder's page, on the partner's side or the customer's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse

if TYPE_CHECKING:
    from documents.models import Folder


def folder_url(folder: Folder, side: str) -> str:
    """The folder's page for a user on `side` ("partner" or "customer"); a partner user who opens the
    customer's page is sent on to the partner's, so a notification can link the customer's."""
    name = "documents:partner_folder" if side == "partner" else "documents:customer_folder"
    return reverse(name, args=[folder.collaboration_id, folder.pk])
