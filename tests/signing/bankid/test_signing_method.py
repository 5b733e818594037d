"""The BankID signing method against the simulator running as a real server: orders for a party,
the personnummer check, the evidence stored once per order, and one charge per request."""

from __future__ import annotations

import base64
import io
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.db import IntegrityError, transaction
from django.utils import translation
from pypdf import PdfReader
from signxml import XMLVerifier

from billing.models import BalanceEntry, EntryKind
from documents.storage import document_storage as documents_storage
from notifications.models import Event as Told
from notifications.models import Notification
from portal.bankid.client import BankIDClient, CollectResult
from portal.bankid.simulator import SIGNATURE_NS, SimulatorServer
from portal.errors import ServiceError
from signing import sealing, selectors, services
from signing.methods import BankID, method_for
from signing.models import Event, Method, Party, SigningRequest, Status
from signing.services import PartyInput
from tests.bankid_sim import press as _press
from tests.conftest import World
from tests.signing.test_services import balance, document, parties_of, send

KARIN = "198503122387"
BO = "197211056572"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _bankid_configured(settings: Any, api_url: str) -> None:
    settings.BANKID_URL = api_url


def approved(server: SimulatorServer, client: BankIDClient, order_ref: str, number: str) -> CollectResult:
    """Approve the order on the simulator's page as `number` and collect until it completes."""
    assert _press(server, order_ref, "approve", personalNumber=number).status_code == 303
    for _ in range(5):
        result = client.collect(order_ref)
        if result.done:
            return result
    raise AssertionError("the order did not complete")


def bankid_sign(server: SimulatorServer, client: BankIDClient, party: Party, number: str) -> CollectResult:
    order = BankID().start_order(party, client=client, end_user_ip="192.0.2.7")
    return approved(server, client, order.order_ref, number)


def bankid_request(world: World, folder: Any, *parties: PartyInput) -> SigningRequest:
    return send(world, document(folder, world.admin), list(parties))


def test_a_bankid_party_signs_and_its_evidence_is_stored(
    funded: World, folder: Any, simulator: SimulatorServer, client: BankIDClient
) -> None:
    request = bankid_request(
        funded,
        folder,
        PartyInput("Karin Karlsson", "k@example.com", method=Method.BANKID, personnummer=KARIN),
    )
    party = parties_of(request)["Karin Karlsson"]
    assert isinstance(method_for(party), BankID) and method_for(party).start(party) == ""
    result = bankid_sign(simulator, client, party, KARIN)
    assert result.completion_data is not None
    # As the signing page will pass it: rebuilt from the order's stored JSON.
    stored_answer = BankID.answer(result.order_ref, result.completion_data.raw)

    services.party_act(
        party=Party.objects.get(pk=party.pk), action="sign", answer=stored_answer, ip="10.0.0.9"
    )

    party.refresh_from_db()
    assert party.action == "signed" and party.bankid_order_ref == result.order_ref
    stored = party.bankid_evidence
    assert stored["orderRef"] == result.order_ref
    assert stored["user"]["personalNumber"] == KARIN
    for key in ("device", "bankIdIssueDate", "stepUp", "signature", "ocspResponse"):
        assert stored[key] == result.completion_data.raw[key]
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    lines = method_for(party).evidence(party)
    assert lines["bankid"].startswith("Karin Karlsson, 19850312-XXXX, signed ")
    assert KARIN not in " ".join(lines.values())
    assert lines["bankid_issued"] == stored["bankIdIssueDate"]
    assert lines["bankid_device"] == "192.0.2.7"
    # The order showed the party what it signs, and asked BankID for that person only.
    seen = requests.get(simulator.base_url + "/sim/orders", timeout=5).json()
    mine = next(o for o in seen if o["orderRef"] == result.order_ref)
    assert mine["requirement"] == {"personalNumber": KARIN}
    # (in the request's language, Swedish here, whatever language the test runs in)
    assert mine["kind"] == "sign" and mine["userVisibleData"] == BankID.order_text(party)
    assert "Avtal.pdf" in mine["userVisibleData"]


def test_someone_else_s_bankid_is_refused_and_the_sender_is_told(
    funded: World, folder: Any, simulator: SimulatorServer, client: BankIDClient
) -> None:
    request = bankid_request(
        funded, folder, PartyInput("Bo Bengtsson", "bo@example.com", method=Method.BANKID, personnummer=BO)
    )
    party = parties_of(request)["Bo Bengtsson"]
    # An order without the requirement (BankID is asked for Bo, but do not rely on that alone).
    order = client.sign(
        end_user_ip="192.0.2.7",
        user_visible_data=BankID.order_text(party),
        user_non_visible_data=BankID.order_data(party),
    )
    result = approved(simulator, client, order.order_ref, KARIN)

    with pytest.raises(ServiceError, match="someone other than the person"):
        services.party_act(party=Party.objects.get(pk=party.pk), action="sign", answer=result)

    party.refresh_from_db()
    assert party.acted_at is None and party.bankid_order_ref == "" and party.bankid_evidence == {}
    assert party.code_failures == 1
    assert Event.objects.filter(request=request, kind="bankid_wrong_person", party=party).exists()
    assert Notification.objects.filter(recipient=funded.staff, event=Told.SIGNING_ATTENTION).exists()
    assert "someone else" in selectors.describe_event(Event.objects.get(kind="bankid_wrong_person"))


def test_an_order_made_for_another_party_or_none_is_refused(
    funded: World, folder: Any, simulator: SimulatorServer, client: BankIDClient
) -> None:
    request = bankid_request(
        funded,
        folder,
        PartyInput("Karin Karlsson", "k@example.com", method=Method.BANKID),
        PartyInput("Bo Bengtsson", "bo@example.com", method=Method.BANKID),
    )
    p = parties_of(request)
    karins = bankid_sign(simulator, client, p["Karin Karlsson"], KARIN)
    with pytest.raises(ServiceError, match="made for another signing"):
        services.party_act(party=p["Bo Bengtsson"], action="sign", answer=karins)
    with pytest.raises(ServiceError, match="Sign with BankID first"):
        services.party_act(party=p["Bo Bengtsson"], action="sign", answer="123456")
    with pytest.raises(ServiceError, match="Sign with BankID first"):
        services.party_act(party=p["Bo Bengtsson"], action="sign", answer=BankID.answer("x", None))
    # The email code method does not take a BankID answer as its code.
    with pytest.raises(ServiceError, match="Enter the code"):
        method_for(Party(method=Method.EMAIL_CODE)).verify(p["Bo Bengtsson"], karins)
    assert not Party.objects.filter(request=request, acted_at__isnull=False).exists()


def test_one_completed_order_proves_one_signature(
    funded: World, folder: Any, simulator: SimulatorServer, client: BankIDClient
) -> None:
    request = bankid_request(
        funded,
        folder,
        PartyInput("Karin Karlsson", "k@example.com", method=Method.BANKID),
        PartyInput("Bo Bengtsson", "bo@example.com", method=Method.BANKID, order=2),
    )
    p = parties_of(request)
    result = bankid_sign(simulator, client, p["Karin Karlsson"], KARIN)
    services.party_act(party=p["Karin Karlsson"], action="sign", answer=result)
    # The same order again, for the party that used it: refused.
    with pytest.raises(ServiceError):
        BankID().verify(Party.objects.get(pk=p["Karin Karlsson"].pk), result)
    # Stored for a second party: the database refuses it.
    with pytest.raises(IntegrityError), transaction.atomic():
        Party.objects.filter(pk=p["Bo Bengtsson"].pk).update(bankid_order_ref=result.order_ref)
    # The service turns that refusal into a message (the order's data matched Bo's, say).
    bo = Party.objects.get(pk=p["Bo Bengtsson"].pk)
    forged = CollectResult(result.order_ref, "complete", None, result.completion_data)
    method = BankID()
    method.order_data = lambda party, **kw: BankID.order_data(p["Karin Karlsson"], **kw)  # type: ignore[method-assign]
    with pytest.raises(ServiceError, match="already been used"):
        method.verify(bo, forged)
    assert Party.objects.get(pk=bo.pk).bankid_order_ref == ""


def test_two_bankid_parties_cost_one_signature(
    funded: World, folder: Any, simulator: SimulatorServer, client: BankIDClient
) -> None:
    before = balance(funded)
    request = bankid_request(
        funded,
        folder,
        PartyInput("Karin Karlsson", "k@example.com", method=Method.BANKID, personnummer=KARIN),
        PartyInput("Bo Bengtsson", "bo@example.com", method=Method.BANKID, personnummer=BO),
    )
    p = parties_of(request)
    for name, number in (("Karin Karlsson", KARIN), ("Bo Bengtsson", BO)):
        result = bankid_sign(simulator, client, p[name], number)
        services.party_act(party=Party.objects.get(pk=p[name].pk), action="sign", answer=result)
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert balance(funded) == before - 1
    charges = BalanceEntry.objects.filter(partner=funded.partner, kind=EntryKind.CHARGE)
    assert list(charges.values_list("reference", flat=True)) == [request.charge_reference]
    refs = set(Party.objects.filter(request=request).values_list("bankid_order_ref", flat=True))
    assert len(refs) == 2 and "" not in refs


# --- The evidence in the sealed PDF ---------------------------------------------------------------


def test_the_sealed_pdf_carries_the_bankid_evidence_under_the_seal(
    funded: World,
    folder: Any,
    simulator: SimulatorServer,
    client: BankIDClient,
    seal_keys: Any,
    settings: Any,
    tmp_path: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.NOTIFICATION_BATCH_SECONDS = 0
    request = bankid_request(
        funded,
        folder,
        PartyInput("Karin Karlsson", "k@example.com", method=Method.BANKID, personnummer=KARIN),
        PartyInput("Bo Bengtsson", "bo@example.com", method=Method.BANKID),
    )
    p = parties_of(request)
    with django_capture_on_commit_callbacks(execute=True):
        for name, number in (("Karin Karlsson", KARIN), ("Bo Bengtsson", BO)):
            result = bankid_sign(simulator, client, p[name], number)
            services.party_act(
                party=Party.objects.get(pk=p[name].pk), action="sign", answer=result, ip="10.0.0.9"
            )
    request.refresh_from_db()
    assert request.sealed_version is not None
    with documents_storage().open(request.sealed_version.storage_key, "rb") as handle:
        data = handle.read()

    reader = PdfReader(io.BytesIO(data))
    files = reader.attachments
    assert sorted(files) == [
        "audit.json",  # the audit trail as data, for the Verify page
        "evidence-1-bankid-Karin-Karlsson.json",
        "evidence-2-bankid-Bo-Bengtsson.json",
    ]
    cert_pem = requests.get(simulator.base_url + "/sim/certificate", timeout=5).text
    for file_name, number in (
        ("evidence-1-bankid-Karin-Karlsson.json", KARIN),
        ("evidence-2-bankid-Bo-Bengtsson.json", BO),
    ):
        evidence = json.loads(files[file_name][0])
        assert evidence["user"]["personalNumber"] == number
        assert (
            evidence["orderRef"]
            == Party.objects.get(
                request=request, personnummer__in=["", number], name=evidence["user"]["name"]
            ).bankid_order_ref
        )
        assert {"device", "bankIdIssueDate", "stepUp", "signature", "ocspResponse"} <= set(evidence)
        verified = XMLVerifier().verify(base64.b64decode(evidence["signature"]), x509_cert=cert_pem)
        assert not isinstance(verified, list)
        assert verified.signed_xml is not None
        assert verified.signed_xml.findtext(f".//{{{SIGNATURE_NS}}}personalNumber") == number

    # The audit trail names the method and the birth date only.
    audit = "\n".join(page.extract_text() for page in reader.pages[1:])
    assert "19850312-XXXX" in audit and "19721105-XXXX" in audit
    assert KARIN not in audit and BO not in audit
    assert "BankID" in audit and "192.0.2.7" in audit and "2024-01-15" in audit
    assert "evidence-1-bankid-Karin-Karlsson.json" in audit

    # The seal covers the embedded files: intact for pyHanko and for poppler's pdfsig.
    assert sealing.validate_sealed_pdf(data, ca_file=seal_keys).ok
    path = tmp_path / "sealed.pdf"
    path.write_bytes(data)
    report = subprocess.run(
        ["pdfsig", str(path)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "Signature Validation: Signature is Valid." in report and "Total document signed" in report
    # A change to an embedded evidence file breaks the seal.
    tampered = data.replace(b'"personalNumber": "198503122387"', b'"personalNumber": "199604302407"')
    assert tampered != data
    assert not sealing.validate_sealed_pdf(tampered, ca_file=seal_keys).ok


def test_a_signature_given_to_decline_only_declines() -> None:
    """What an order was approved for is in its signed userNonVisibleData: a decline order and a
    sign order for the same party and file differ."""
    party = Party(pk=7, request=SigningRequest(pk=3, version_sha256="ab" * 32))
    assert BankID.order_data(party) == b"portal-signing:3:7:" + b"ab" * 32
    assert BankID.order_data(party, declining=True) == BankID.order_data(party) + b":decline"
