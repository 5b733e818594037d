"""Fixtures the signing tests share: a customer folder, a funded partner, a sealing key."""

from __future__ import annotations

from typing import Any

import pytest

from billing import services as billing
from documents import services as documents
from documents.models import CustomerAccess, Folder
from tests.conftest import World


@pytest.fixture
def folder(world: World) -> Folder:
    return documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.READ,
    )


@pytest.fixture
def funded(world: World) -> World:
    billing.signature_grant(partner=world.partner, amount=5, reason="test")
    return world


@pytest.fixture
def seal_keys(settings: Any, tmp_path: Any) -> Any:
    from signing import devkeys

    settings.SIGNING_SEAL_KEY_FILE = tmp_path / "seal-key.pem"
    settings.SIGNING_SEAL_CERT_FILE = tmp_path / "seal-cert.pem"
    settings.SIGNING_SEAL_CA_FILE = tmp_path / "seal-ca.pem"
    devkeys.ensure_dev_sealing_key()
    return tmp_path / "seal-ca.pem"
