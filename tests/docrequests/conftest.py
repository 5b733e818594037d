"""Fixtures of the document request tests: a folder that takes the customer's uploads and an open
request in it asking the customer's plain user (not the primary contact)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from docrequests import services
from docrequests.models import DocumentRequest
from documents import services as documents
from documents.models import CustomerAccess, Folder
from portal.models import User
from tests.conftest import World

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture(autouse=True)
def _english(db: None) -> None:
    """The pages speak the user's language; these tests read the English texts (the msgids)."""
    User.objects.update(language="en")


@pytest.fixture
def folder(world: World) -> Folder:
    return documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Underlag",
        customer_access=CustomerAccess.EDIT,
    )


def make_request(world: World, folder: Folder, **kwargs: Any) -> DocumentRequest:
    values: dict[str, Any] = {
        "collaboration": world.collaboration,
        "actor": world.admin,
        "folder": folder,
        "title": "Kontoutdrag december",
        "items": ["Företagskontot", "Sparkontot"],
        "due_date": timezone.localdate() + dt.timedelta(days=10),
        "asked": [world.customer_user],
    }
    values.update(kwargs)
    return services.docrequest_create(**values)


@pytest.fixture
def docrequest(world: World, folder: Folder) -> DocumentRequest:
    return make_request(world, folder)
