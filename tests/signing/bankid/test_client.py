"""The client against the simulator running as a real HTTP server (nothing mocked)."""

from __future__ import annotations

import base64
import re
import socket
import threading
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from django.utils.translation import override
from lxml import etree
from signxml import XMLVerifier

from portal.bankid import errors, hints
from portal.bankid.client import BankIDClient
from portal.bankid.errors import BankIDConfigurationError
from portal.bankid.qr import qr_content
from portal.bankid.simulator import ERROR_STATUS, SIGNATURE_NS, Simulator, start_in_thread
from tests.bankid_sim import calls, scenario
from tests.bankid_sim import press as _press

KARIN = "198503122387"


def test_complete_through_the_app_page(simulator, client) -> None:
    text = "Underteckna **Avtal.pdf** från Byggfirman AB"
    order = client.sign(end_user_ip="192.0.2.7", user_visible_data=text)
    assert client.collect(order.order_ref).hint_code == "outstandingTransaction"

    page = requests.get(simulator.base_url + "/", timeout=5).text.replace("<wbr>", "")
    assert order.order_ref in page
    assert "Underteckna **Avtal.pdf** från Byggfirman AB" in page  # decoded from base64 by the service
    assert f"bankid.{order.qr_start_token}." in page
    assert order.qr_start_secret not in page

    assert _press(simulator, order.order_ref, "open").status_code == 303
    assert client.collect(order.order_ref).hint_code == "started"
    assert _press(simulator, order.order_ref, "approve", personalNumber=KARIN).status_code == 303
    assert client.collect(order.order_ref).hint_code == "userSign"
    result = client.collect(order.order_ref)

    assert result.status == "complete"
    assert result.hint_code is None
    data = result.completion_data
    assert data is not None
    assert (data.user.personal_number, data.user.name, data.user.given_name, data.user.surname) == (
        KARIN,
        "Karin Karlsson",
        "Karin",
        "Karlsson",
    )
    assert data.device_ip_address == "192.0.2.7"
    assert data.device_uhi
    assert data.bank_id_issue_date
    assert data.step_up is False
    assert data.raw["user"]["personalNumber"] == KARIN

    # The signature is a real XML signature over what the person saw, by the simulator's key.
    cert_pem = requests.get(simulator.base_url + "/sim/certificate", timeout=5).text
    verified = XMLVerifier().verify(base64.b64decode(data.signature), x509_cert=cert_pem)
    assert not isinstance(verified, list)
    signed = verified.signed_xml
    assert signed is not None
    visible = signed.find(f"{{{SIGNATURE_NS}}}usrVisibleData")
    assert base64.b64decode(visible.text).decode() == text
    assert signed.findtext(f".//{{{SIGNATURE_NS}}}personalNumber") == KARIN

    tampered = base64.b64decode(data.signature).replace(b"Karin Karlsson", b"Mallory Karlsson")
    with pytest.raises(Exception, match=r"(?i)digest|signature"):
        XMLVerifier().verify(tampered, x509_cert=cert_pem)

    # The OCSP response is a real one for that certificate, signed by the simulator's CA.
    response = ocsp.load_der_ocsp_response(base64.b64decode(data.ocsp_response))
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    ca = x509.load_pem_x509_certificate(requests.get(simulator.base_url + "/sim/ca", timeout=5).content)
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == cert.serial_number
    ca_key = ca.public_key()
    assert isinstance(ca_key, rsa.RSAPublicKey)
    assert response.signature_hash_algorithm is not None
    ca_key.verify(
        response.signature, response.tbs_response_bytes, padding.PKCS1v15(), response.signature_hash_algorithm
    )

    # BankID: an order can't be collected twice once it has completed.
    with pytest.raises(errors.InvalidParameters):
        client.collect(order.order_ref)


def test_approve_with_an_unknown_identity_is_refused_by_the_page(simulator, client) -> None:
    order = client.auth(end_user_ip="127.0.0.1")
    response = _press(simulator, order.order_ref, "approve", personalNumber="190101010101")
    assert response.status_code == 409
    assert client.collect(order.order_ref).status == "pending"


def test_user_cancel_in_the_app(simulator, client) -> None:
    order = client.auth(end_user_ip="127.0.0.1")
    _press(simulator, order.order_ref, "open")
    assert _press(simulator, order.order_ref, "cancel").status_code == 303
    result = client.collect(order.order_ref)
    assert (result.status, result.hint_code) == ("failed", "userCancel")
    with override("en"):
        assert hints.message_for(result.status, result.hint_code, "qr") == "Action cancelled."


def test_order_expires_after_the_configured_time() -> None:
    server = start_in_thread(simulator=Simulator(expiry_seconds=0.5))
    try:
        with BankIDClient(server.base_url + "/rp/v6.0/", retry_pause=0) as bankid:
            order = bankid.auth(end_user_ip="127.0.0.1")
            assert bankid.collect(order.order_ref).status == "pending"
            time.sleep(0.7)
            result = bankid.collect(order.order_ref)
    finally:
        server.shutdown()
        server.server_close()
    assert (result.status, result.hint_code) == ("failed", "expiredTransaction")


def test_let_it_expire_button(simulator, client) -> None:
    order = client.auth(end_user_ip="127.0.0.1")
    _press(simulator, order.order_ref, "expire")
    result = client.collect(order.order_ref)
    assert (result.status, result.hint_code) == ("failed", "expiredTransaction")


@pytest.mark.parametrize("hint_code", hints.FAILED_HINT_CODES)
def test_every_failure_hint_code_by_scenario(simulator, client, hint_code: str) -> None:
    scenario(simulator, next=hint_code)
    order = client.auth(end_user_ip="127.0.0.1")
    result = client.collect(order.order_ref)
    assert (result.status, result.hint_code, result.completion_data) == ("failed", hint_code, None)
    # A failure is delivered once; the order is gone afterwards.
    with pytest.raises(errors.InvalidParameters):
        client.collect(order.order_ref)


def test_scenario_applies_only_to_the_next_order(simulator, client) -> None:
    scenario(simulator, next="startFailed")
    first = client.auth(end_user_ip="127.0.0.1")
    second = client.auth(end_user_ip="127.0.0.1")
    assert client.collect(first.order_ref).hint_code == "startFailed"
    assert client.collect(second.order_ref).hint_code == "outstandingTransaction"


@pytest.mark.parametrize("hint_code", ["noClient", "userMrtd", "userCallConfirm"])
def test_waiting_hint_codes_by_scenario(simulator, client, hint_code: str) -> None:
    scenario(simulator, next=hint_code)
    order = client.auth(end_user_ip="127.0.0.1")
    result = client.collect(order.order_ref)
    assert (result.status, result.hint_code) == ("pending", hint_code)


def test_auto_approve_scenario_for_a_personal_number(simulator, client) -> None:
    scenario(simulator, next="complete", personalNumber="197211056572")
    other = client.auth(end_user_ip="127.0.0.1")  # no requirement: not the one meant
    order = client.auth(end_user_ip="127.0.0.1", requirement={"personalNumber": "197211056572"})
    assert client.collect(other.order_ref).hint_code == "outstandingTransaction"
    assert client.collect(order.order_ref).hint_code == "userSign"
    result = client.collect(order.order_ref)
    assert result.status == "complete"
    assert result.completion_data is not None
    assert result.completion_data.user.name == "Bo Bengtsson"


def test_already_in_progress_cancels_the_first_order(simulator, client) -> None:
    first = client.auth(end_user_ip="127.0.0.1", requirement={"personalNumber": KARIN})
    with pytest.raises(errors.AlreadyInProgress) as raised:
        client.auth(end_user_ip="127.0.0.1", requirement={"personalNumber": KARIN})
    assert raised.value.http_status == 400
    with override("en"):
        assert raised.value.user_message == (
            "An identification or signing for this personal number is already started. Please try again."
        )
    result = client.collect(first.order_ref)
    assert (result.status, result.hint_code) == ("failed", "cancelled")
    # Another person's order is not affected.
    client.auth(end_user_ip="127.0.0.1", requirement={"personalNumber": "197211056572"})


def test_maintenance_is_retried_then_succeeds(simulator, client) -> None:
    scenario(simulator, error="maintenance", times=1, endpoint="auth")
    order = client.auth(end_user_ip="127.0.0.1")
    assert order.order_ref
    assert calls(simulator)["auth"] == 2


def test_internal_error_gives_up_after_the_configured_tries(simulator, client) -> None:
    scenario(simulator, error="internalError", times=10, endpoint="collect")
    order = client.auth(end_user_ip="127.0.0.1")
    with pytest.raises(errors.InternalError) as raised:
        client.collect(order.order_ref)
    assert raised.value.http_status == 500
    assert calls(simulator)["collect"] == 3


def test_retries_wait_the_configured_pause(simulator, api_url) -> None:
    scenario(simulator, error="maintenance", times=2)
    with BankIDClient(api_url, attempts=3, retry_pause=0.3) as bankid:
        began = time.monotonic()
        bankid.auth(end_user_ip="127.0.0.1")
        assert time.monotonic() - began >= 0.6


@pytest.mark.parametrize("code", sorted(set(ERROR_STATUS) - {"internalError", "maintenance"}))
def test_other_errors_raise_their_class_at_once(simulator, client, code: str) -> None:
    scenario(simulator, error=code, times=5)
    with pytest.raises(errors.ERRORS_BY_CODE[code]) as raised:
        client.auth(end_user_ip="127.0.0.1")
    assert raised.value.http_status == ERROR_STATUS[code]
    assert raised.value.error_code == code
    assert raised.value.user_message
    assert calls(simulator)["auth"] == 1


def test_cancel_ends_the_order(simulator, client) -> None:
    order = client.auth(end_user_ip="127.0.0.1")
    client.cancel(order.order_ref)
    with pytest.raises(errors.InvalidParameters):
        client.collect(order.order_ref)
    assert order.order_ref not in requests.get(simulator.base_url + "/", timeout=5).text


def test_unknown_order_ref_and_unknown_path(simulator, client) -> None:
    with pytest.raises(errors.InvalidParameters, match="No such order"):
        client.collect("00000000-0000-0000-0000-000000000000")
    with pytest.raises(errors.InvalidParameters):
        client.cancel("nope")
    with BankIDClient(simulator.base_url + "/rp/v9.9/") as wrong_version, pytest.raises(errors.NotFound):
        wrong_version.auth(end_user_ip="127.0.0.1")


def test_the_service_checks_the_request_fields(simulator, client, api_url) -> None:
    with pytest.raises(errors.InvalidParameters, match="endUserIp"):
        client.auth(end_user_ip="not an address")
    with pytest.raises(ValueError, match="userVisibleData"):
        client.sign(end_user_ip="127.0.0.1", user_visible_data="")
    response = requests.post(api_url + "auth", data="{}", headers={"Content-Type": "text/plain"}, timeout=5)
    assert (response.status_code, response.json()["errorCode"]) == (415, "unsupportedMediaType")
    response = requests.get(api_url + "auth", timeout=5)
    assert (response.status_code, response.json()["errorCode"]) == (405, "methodNotAllowed")
    response = requests.post(
        api_url + "sign",
        json={"endUserIp": "127.0.0.1", "userVisibleData": "aGVq", "userVisibleDataFormat": "html"},
        timeout=5,
    )
    assert response.json()["errorCode"] == "invalidParameters"


def test_the_qr_on_the_page_is_the_published_algorithm(simulator, client) -> None:
    order = client.auth(end_user_ip="127.0.0.1")
    page = requests.get(simulator.base_url + "/", timeout=5).text.replace("<wbr>", "")
    shown = re.search(rf"bankid\.{order.qr_start_token}\.(\d+)\.[0-9a-f]{{64}}", page)
    assert shown is not None
    assert shown.group(0) == qr_content(order.qr_start_token, order.qr_start_secret, int(shown.group(1)))


@pytest.mark.parametrize(
    "url",
    ["http://bankid.example/rp/v6.0/", "http://10.0.0.5:8765/rp/v6.0/", "ftp://127.0.0.1/rp/v6.0/", "x"],
)
def test_plain_http_is_refused_unless_loopback(url: str) -> None:
    with pytest.raises(BankIDConfigurationError):
        BankIDClient(url)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8765/rp/v6.0", "http://localhost:1/rp/v6.0/", "http://[::1]:2/rp/v6.0/"],
)
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    assert BankIDClient(url).base_url.endswith("/rp/v6.0/")


def test_settings_configure_the_client(settings, api_url) -> None:
    settings.BANKID_URL = ""
    with pytest.raises(BankIDConfigurationError, match="PORTAL_BANKID_URL"):
        BankIDClient.from_settings()
    settings.BANKID_URL = "http://bankid.example/rp/v6.0/"
    with pytest.raises(BankIDConfigurationError, match="not loopback"):
        BankIDClient.from_settings()
    settings.BANKID_URL = api_url
    settings.BANKID_ATTEMPTS, settings.BANKID_RETRY_PAUSE_MS = 4, 0
    settings.BANKID_CONNECT_TIMEOUT, settings.BANKID_READ_TIMEOUT = 2, 3
    bankid = BankIDClient.from_settings()
    assert (bankid.base_url, bankid.attempts, bankid.timeout) == (api_url, 4, (2, 3))
    assert bankid.auth(end_user_ip="127.0.0.1").order_ref


def test_a_service_that_does_not_answer_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    port = listener.getsockname()[1]
    try:
        with BankIDClient(f"http://127.0.0.1:{port}/rp/v6.0/", read_timeout=0.3) as bankid:
            began = time.monotonic()
            with pytest.raises(errors.BankIDUnavailable) as raised:
                bankid.auth(end_user_ip="127.0.0.1")
            assert time.monotonic() - began < 3
    finally:
        listener.close()
        for conn in accepted:
            conn.close()
    with override("en"):
        assert "temporarily unavailable" in raised.value.user_message


def test_the_signed_xml_names_the_order(simulator, client) -> None:
    scenario(simulator, next="complete")
    order = client.auth(end_user_ip="127.0.0.1", user_non_visible_data=b"nonce-42")
    client.collect(order.order_ref)
    data = client.collect(order.order_ref).completion_data
    assert data is not None
    xml = etree.fromstring(base64.b64decode(data.signature))
    assert xml.findtext(f".//{{{SIGNATURE_NS}}}orderRef") == order.order_ref
    assert xml.findtext(f".//{{{SIGNATURE_NS}}}funcId") == "Identification"
    assert base64.b64decode(xml.findtext(f"{{{SIGNATURE_NS}}}usrNonVisibleData")) == b"nonce-42"


@pytest.mark.parametrize(
    "body",
    [
        {"next": "bogus"},
        {"error": "bogus"},
        {"error": "maintenance", "endpoint": "x"},
        {"error": "maintenance", "times": 0},
    ],
)
def test_a_scenario_the_simulator_does_not_know_is_refused(simulator, body) -> None:
    response = requests.post(simulator.base_url + "/sim/scenario", json=body, timeout=5)
    assert response.status_code == 400
    assert calls(simulator) == {}


def test_the_client_sends_the_v6_fields(simulator, client) -> None:
    order = client.sign(
        end_user_ip="2001:db8::1",
        user_visible_data="# Avtal\nsha256: abc",
        user_non_visible_data=b"\x00\x01",
        requirement={"personalNumber": KARIN, "pinCode": True},
        return_url="https://portal.example/s/abc#nonce",
    )
    seen = requests.get(simulator.base_url + "/sim/orders", timeout=5).json()
    assert seen == [
        {
            "orderRef": order.order_ref,
            "kind": "sign",
            "endUserIp": "2001:db8::1",
            "userVisibleData": "# Avtal\nsha256: abc",
            "userVisibleDataFormat": "simpleMarkdownV1",
            "userNonVisibleData": "AAE=",
            "requirement": {"personalNumber": KARIN, "pinCode": True},
            "returnUrl": "https://portal.example/s/abc#nonce",
            "status": "pending",
            "hintCode": "outstandingTransaction",
        }
    ]
    assert order.autostart_url() == f"bankid:///?autostarttoken={order.auto_start_token}&redirect=null"


def test_the_app_page_will_not_approve_as_someone_the_order_does_not_allow(simulator, client) -> None:
    order = client.auth(end_user_ip="127.0.0.1", requirement={"personalNumber": KARIN})
    response = _press(simulator, order.order_ref, "approve", personalNumber="197211056572")
    assert response.status_code == 409
    assert "requires another personal number" in response.text
    assert client.collect(order.order_ref).hint_code == "outstandingTransaction"
