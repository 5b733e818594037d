"""The address of a folder's page, on the partner's side or the customer's."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.urls import reverse

from portal.links import url_maker

if TYPE_CHECKING:
    from documents.models import Folder


def folder_url(folder: Folder, side: str) -> str:
    """The folder's page for a user on `side` ("partner" or "customer"); a partner user who opens the
    customer's page is sent on to the partner's, so a notification can link the customer's."""
    return reverse(_route(side), args=[folder.collaboration_id, folder.pk])


def folder_url_maker(side: str) -> Callable[..., str]:
    """folder_url for a list of rows: (collaboration id, folder id) -> URL, one reverse() in all."""
    return url_maker(_route(side), 2)


def _route(side: str) -> str:
    return "documents:partner_folder" if side == "partner" else "documents:customer_folder"
