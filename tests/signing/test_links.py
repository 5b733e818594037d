"""Issue 10: signing links and codes that hold under attack, and signing records that outlive
their files. Each test here failed before the fix it names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from documents.models import Folder
from signing import selectors
from signing.models import SigningRequest, Status
from signing.services import PartyInput
from tests.conftest import World
from tests.signing.test_services import act, document, parties_of, send


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def test_document_signing_lock_says_pending_sealed_or_free(
    funded: World, folder: Folder, django_capture_on_commit_callbacks: Any, seal_keys: Any
) -> None:
    main = document(folder, funded.admin, "Avtal.pdf")
    extra = document(folder, funded.admin, "Bilaga.pdf")
    other = document(folder, funded.admin, "Annat.pdf")
    with django_capture_on_commit_callbacks(execute=True):
        request = send(funded, main, [PartyInput("A", "a@example.com")], attachments=[extra])
    assert selectors.document_signing_lock(main.pk) == "pending"
    assert selectors.document_signing_lock(extra.pk) == "pending"
    assert selectors.document_signing_lock(other.pk) is None
    with django_capture_on_commit_callbacks(execute=True):
        act(parties_of(request)["A"])
    request.refresh_from_db()
    assert request.status == Status.COMPLETED and request.sealed_version is not None
    assert selectors.document_signing_lock(main.pk) is None
    assert selectors.document_signing_lock(extra.pk) is None
    assert selectors.document_signing_lock(request.sealed_version.document_id) == "sealed"
    SigningRequest.objects.filter(pk=request.pk).update(status=Status.DRAFT)
    assert selectors.document_signing_lock(main.pk) == "pending"
