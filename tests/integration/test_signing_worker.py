"""Sealing with a real Celery worker: killed while it seals, the request is sealed exactly once."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.utils import timezone

from billing import services as billing
from documents import services as documents
from documents.models import CustomerAccess, Document
from partners.models import PartnerRole
from signing import devkeys, services
from signing.methods import method_for
from signing.models import Party, SigningRequest, Status
from tests.factories import CollaborationFactory, PartnerMembershipFactory
from tests.integration import harness
from tests.integration.conftest import VISIBILITY, StartWorker
from tests.pdfs import blank_pdf

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_worker_killed_while_sealing_leaves_one_sealed_document(
    start: StartWorker, settings: Any, tmp_path: Any
) -> None:
    # Worker and test share the sealing key and the document storage.
    keys = {
        "signing_seal_key_file": tmp_path / "key.pem",
        "signing_seal_cert_file": tmp_path / "cert.pem",
        "signing_seal_ca_file": tmp_path / "ca.pem",
    }
    for name, path in keys.items():
        setattr(settings, name.upper(), path)
    devkeys.ensure_dev_sealing_key()
    membership = PartnerMembershipFactory.create(partner__name="Sigill Byrå AB", role=PartnerRole.ADMIN)
    admin = membership.user
    billing.signature_grant(partner=membership.partner, amount=1, reason="test")
    collaboration = CollaborationFactory.create(partner=membership.partner)
    folder = documents.folder_create(
        collaboration=collaboration, actor=admin, name="Avtal", customer_access=CustomerAccess.NONE
    )
    version = documents.document_upload(
        folder=folder, actor=admin, name="Avtal.pdf", chunks=[blank_pdf(400)], by_customer=False
    )
    request = services.signing_send(
        collaboration=collaboration,
        actor=admin,
        document=version.document,
        parties=[services.PartyInput("Kund", "kund@example.com")],
        deadline=timezone.now() + dt.timedelta(days=7),
    )
    paths = {key: str(value) for key, value in keys.items()}
    first = start("sealer-1", **paths)
    party = Party.objects.get(request=request)
    services.party_act(party=party, action="sign", answer=method_for(party).start(party), ip="127.0.0.1")
    # Kill the worker as soon as it has claimed the sealing, while it builds the PDF.
    claimed = harness.wait_for(
        lambda: SigningRequest.objects.filter(pk=request.pk).exclude(seal_claim="").exists(),
        timeout=30,
        interval=0.005,
    )
    assert claimed, first.describe()
    first.kill()
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert request.sealed_version_id is None, (
        "the worker finished before it could be killed: use a larger PDF"
    )
    # Redis hands the unacknowledged task to the next worker once the visibility timeout passes.
    time.sleep(VISIBILITY + 1)
    second = start("sealer-2", celery_visibility_timeout=VISIBILITY, **paths)
    sealed = harness.wait_for(
        lambda: SigningRequest.objects.filter(pk=request.pk, sealed_version__isnull=False).exists(),
        timeout=60,
    )
    assert sealed, second.describe()
    time.sleep(2)  # any duplicate would show up by now
    signed = Document.objects.filter(folder=folder, name="Avtal (signed).pdf")
    assert signed.count() == 1 and signed.get().version_count == 1
