"""A BankID simulator: the RP API v6 endpoints on a small threaded HTTP server, plus a web page
that stands in for the BankID app (pick a test identity, open, approve, cancel, let expire).

Standalone on purpose (http.server, not Django views), so it runs beside the portal, in tests and
in `manage.py bankid_simulator`. Behaviour follows BankID's documentation: orders expire after
`expiry_seconds` (180 like the real service), a collect that has delivered `complete` or `failed`
once gets `invalidParameters` afterwards (an order can't be collected twice), an unknown orderRef
is `invalidParameters` "No such order" and an unknown path `notFound`, and a new order for a
personal number with one in progress cancels that order and answers `alreadyInProgress`.

Test control (JSON POSTs): `/sim/scenario` with `{"next": <hintCode or "complete">,
"personalNumber"?: ...}` decides how the next order (or the next one requiring that personal
number) ends, `{"error": <errorCode>, "times": n, "endpoint"?: "auth"}` makes the next n calls
answer that error; `/sim/reset` forgets everything. GET `/sim/stats` counts calls per endpoint,
`/sim/orders` lists the orders as received (decoded userVisibleData, requirement, returnUrl...),
`/sim/certificate` and `/sim/ca` hand out the certificates that sign the evidence.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import html
import ipaddress
import json
import logging
import re
import secrets
import socket
import ssl
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

from portal.bankid.hints import FAILED_HINT_CODES
from portal.bankid.qr import qr_content

logger = logging.getLogger(__name__)

API_PREFIX = "/rp/v6.0/"
ERROR_STATUS = {
    "alreadyInProgress": 400,
    "invalidParameters": 400,
    "unauthorized": 401,
    "notFound": 404,
    "methodNotAllowed": 405,
    "requestTimeout": 408,
    "unsupportedMediaType": 415,
    "internalError": 500,
    "maintenance": 503,
}
WAITING_HINT_CODES = ("outstandingTransaction", "noClient", "userMrtd", "userCallConfirm")
OUTCOMES = (*FAILED_HINT_CODES, "complete", *WAITING_HINT_CODES)
SIGNATURE_NS = "http://www.bankid.com/signature/v1.0.0/types"


@dataclass(frozen=True)
class Identity:
    personal_number: str
    given_name: str
    surname: str
    note: str = ""

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.surname}"


# Fixed test persons; every number passes the Luhn check (python-stdnum's personnummer).
IDENTITIES = (
    Identity("198503122387", "Karin", "Karlsson", "demo user karin@kund.example"),
    Identity("197211056572", "Bo", "Bengtsson", "demo user bo@bygg.example"),
    Identity("191212121212", "Tolvan", "Tolvansson", "Skatteverket's classic test number"),
    Identity("199604302407", "Anna", "Andersson"),
    Identity("196802145315", "Sven", "Svensson"),
)
IDENTITIES_BY_NUMBER = {identity.personal_number: identity for identity in IDENTITIES}


class ApiError(Exception):
    def __init__(self, error_code: str, details: str) -> None:
        super().__init__(details)
        self.error_code = error_code
        self.details = details


@dataclass
class SimOrder:
    order_ref: str
    kind: str  # "auth" | "sign"
    end_user_ip: str
    user_visible_data_b64: str
    user_non_visible_data_b64: str
    requirement: dict[str, Any]
    return_url: str
    user_visible_data_format: str
    created: float  # time.monotonic()
    auto_start_token: str = field(default_factory=lambda: str(uuid.uuid4()))
    qr_start_token: str = field(default_factory=lambda: str(uuid.uuid4()))
    qr_start_secret: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "pending"
    hint_code: str = "outstandingTransaction"
    outcome: str = ""  # from a scenario: how the first collect ends the order
    identity: Identity | None = None
    completion_data: dict[str, Any] | None = None
    delivered: bool = False  # a terminal status was given to a collect

    @property
    def required_number(self) -> str:
        return str(self.requirement.get("personalNumber", ""))

    @property
    def user_visible_text(self) -> str:
        try:
            return base64.b64decode(self.user_visible_data_b64).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""


@dataclass
class _ErrorScenario:
    error_code: str
    times: int
    endpoint: str


def _issue(
    subject: x509.Name, key: rsa.RSAPrivateKey, issuer: x509.Name, issuer_key: rsa.RSAPrivateKey, *, ca: bool
) -> x509.Certificate:
    now = datetime.now(UTC)
    # KeyUsage: a CA signs certificates and CRLs/OCSP; the signer makes digital signatures.
    usage = (not ca, not ca, False, False, False, ca, ca, False, False)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(x509.KeyUsage(*usage), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


@functools.cache
def simulator_keys() -> tuple[rsa.RSAPrivateKey, x509.Certificate, rsa.RSAPrivateKey, x509.Certificate]:
    """The simulator's CA (key, certificate) and the signing key and certificate it issued; made
    once per process at first use, so every simulator in a test run shares them."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "BankID Simulator CA (test only)")])
    sign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sign_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "BankID Simulator signer (test only)")])
    return (
        ca_key,
        _issue(ca_name, ca_key, ca_name, ca_key, ca=True),
        sign_key,
        _issue(sign_name, sign_key, ca_name, ca_key, ca=False),
    )


class Simulator:
    """The simulated service's state; every method is safe to call from many threads."""

    def __init__(self, *, expiry_seconds: float = 180) -> None:
        self.expiry_seconds = expiry_seconds
        self.lock = threading.Lock()
        self.orders: dict[str, SimOrder] = {}
        self.outcomes: list[tuple[str, str]] = []  # (outcome, personal number or "")
        self.errors: list[_ErrorScenario] = []
        self.calls: Counter[str] = Counter()
        keys = simulator_keys()
        self.ca_key, self.ca_cert, self.sign_key, self.sign_cert = keys
        self.sign_key_pem = self.sign_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.sign_cert_pem = self.sign_cert.public_bytes(serialization.Encoding.PEM)
        self.ca_cert_pem = self.ca_cert.public_bytes(serialization.Encoding.PEM)

    # --- evidence ---------------------------------------------------------------------------

    def _signature_xml(self, order: SimOrder, identity: Identity) -> bytes:
        def child(parent: Any, tag: str, text: str = "", **attrib: str) -> Any:
            element = etree.SubElement(parent, f"{{{SIGNATURE_NS}}}{tag}", attrib)
            element.text = text or None
            return element

        root = etree.Element(f"{{{SIGNATURE_NS}}}bankIdSignedData", nsmap={None: SIGNATURE_NS})
        root.set("Id", "bidSignedData")
        service = child(root, "srvInfo")
        child(service, "name", "Portal BankID Simulator")
        child(service, "nonce", base64.b64encode(secrets.token_bytes(20)).decode())
        child(root, "usrVisibleData", order.user_visible_data_b64, charset="UTF-8", visible="wysiwys")
        if order.user_non_visible_data_b64:
            child(root, "usrNonVisibleData", order.user_non_visible_data_b64)
        client = child(root, "clientInfo")
        child(client, "funcId", "Identification" if order.kind == "auth" else "Signing")
        child(client, "orderRef", order.order_ref)
        child(client, "personalNumber", identity.personal_number)
        child(client, "name", identity.name)
        child(client, "ipAddress", order.end_user_ip)
        signed = XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#").sign(
            root, key=self.sign_key_pem, cert=[self.sign_cert_pem.decode()]
        )
        return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))

    def _ocsp_response(self) -> bytes:
        now = datetime.now(UTC).replace(microsecond=0)
        response = (
            ocsp.OCSPResponseBuilder()
            .add_response(
                cert=self.sign_cert,
                issuer=self.ca_cert,
                algorithm=hashes.SHA1(),  # noqa: S303 - CertID hashes are SHA-1 in practice (RFC 6960)
                cert_status=ocsp.OCSPCertStatus.GOOD,
                this_update=now,
                next_update=now + timedelta(days=1),
                revocation_time=None,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self.ca_cert)
            .add_extension(x509.OCSPNonce(secrets.token_bytes(16)), critical=False)
            .certificates([self.ca_cert])
            .sign(self.ca_key, hashes.SHA256())
        )
        return response.public_bytes(serialization.Encoding.DER)

    def _complete(self, order: SimOrder, identity: Identity) -> None:
        order.status, order.hint_code, order.identity = "complete", "", identity
        uhi = base64.urlsafe_b64encode(hashlib.sha256(identity.personal_number.encode()).digest()[:20])
        order.completion_data = {
            "user": {
                "personalNumber": identity.personal_number,
                "name": identity.name,
                "givenName": identity.given_name,
                "surname": identity.surname,
            },
            "device": {"ipAddress": order.end_user_ip, "uhi": uhi.decode().rstrip("=")},
            "bankIdIssueDate": "2024-01-15",
            "stepUp": {"mrtd": False},
            "signature": base64.b64encode(self._signature_xml(order, identity)).decode(),
            "ocspResponse": base64.b64encode(self._ocsp_response()).decode(),
        }

    # --- the API ------------------------------------------------------------------------------

    def api(self, endpoint: str, body: Any) -> dict[str, Any]:
        """Answer one API call, or raise ApiError."""
        with self.lock:
            self.calls[endpoint] += 1
            for scenario in self.errors:
                if scenario.endpoint in ("", endpoint):
                    scenario.times -= 1
                    if scenario.times <= 0:
                        self.errors.remove(scenario)
                    raise ApiError(scenario.error_code, f"Simulated {scenario.error_code}.")
            if not isinstance(body, dict):
                raise ApiError("invalidParameters", "The body must be a JSON object.")
            self._expire_old()
            if endpoint in ("auth", "sign"):
                return self._start(endpoint, body)
            order = self.orders.get(str(body.get("orderRef", "")))
            if order is None or order.delivered:
                raise ApiError("invalidParameters", "No such order")
            if endpoint == "cancel":
                del self.orders[order.order_ref]
                return {}
            return self._collect(order)

    def _start(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        end_user_ip = str(body.get("endUserIp", ""))
        try:
            ipaddress.ip_address(end_user_ip)
        except ValueError:
            raise ApiError("invalidParameters", "Invalid endUserIp") from None
        visible = body.get("userVisibleData", "")
        if kind == "sign" and not visible:
            raise ApiError("invalidParameters", "userVisibleData is required for sign")
        for name in ("userVisibleData", "userNonVisibleData"):
            try:
                base64.b64decode(str(body.get(name, "")), validate=True)
            except binascii.Error:
                raise ApiError("invalidParameters", f"Invalid {name}") from None
        if len(str(visible)) > 40_000:
            raise ApiError("invalidParameters", "userVisibleData too long")
        if body.get("userVisibleDataFormat", "simpleMarkdownV1") != "simpleMarkdownV1":
            raise ApiError("invalidParameters", "Invalid userVisibleDataFormat")
        requirement = body.get("requirement") or {}
        if not isinstance(requirement, dict):
            raise ApiError("invalidParameters", "Invalid requirement")
        number = str(requirement.get("personalNumber", ""))
        if number:
            for other in self.orders.values():
                if other.status == "pending" and other.required_number == number:
                    # As BankID: the order in progress is cancelled and no new one is made.
                    other.status, other.hint_code = "failed", "cancelled"
                    raise ApiError("alreadyInProgress", "Order already in progress for pno")
        order = SimOrder(
            order_ref=str(uuid.uuid4()),
            kind=kind,
            end_user_ip=end_user_ip,
            user_visible_data_b64=str(visible),
            user_non_visible_data_b64=str(body.get("userNonVisibleData", "")),
            requirement=requirement,
            return_url=str(body.get("returnUrl", "")),
            user_visible_data_format=str(body.get("userVisibleDataFormat", "")),
            created=time.monotonic(),
        )
        order.outcome = self._take_outcome(number)
        if order.outcome in WAITING_HINT_CODES:
            order.hint_code, order.outcome = order.outcome, ""
        self.orders[order.order_ref] = order
        return {
            "orderRef": order.order_ref,
            "autoStartToken": order.auto_start_token,
            "qrStartToken": order.qr_start_token,
            "qrStartSecret": order.qr_start_secret,
        }

    def _take_outcome(self, number: str) -> str:
        for index, (outcome, wanted) in enumerate(self.outcomes):
            if not wanted or wanted == number:
                del self.outcomes[index]
                return outcome if not wanted or outcome != "complete" else f"complete:{wanted}"
        return ""

    def _collect(self, order: SimOrder) -> dict[str, Any]:
        outcome = order.outcome
        if order.status == "pending" and outcome:
            if outcome.startswith("complete"):
                wanted = outcome.partition(":")[2] or order.required_number
                identity = IDENTITIES_BY_NUMBER.get(wanted, IDENTITIES[0])
                if order.hint_code == "userSign":  # one collect sees userSign first, like the app
                    self._complete(order, identity)
                else:
                    order.hint_code = "userSign"
            else:
                order.status, order.hint_code = "failed", outcome
        answer: dict[str, Any] = {"orderRef": order.order_ref, "status": order.status}
        if order.status != "complete":
            answer["hintCode"] = order.hint_code
        else:
            answer["completionData"] = order.completion_data
        if order.status != "pending":
            order.delivered = True
        return answer

    def _expire_old(self) -> None:
        now = time.monotonic()
        for order in list(self.orders.values()):
            if order.status == "pending" and now - order.created > self.expiry_seconds:
                order.status, order.hint_code = "failed", "expiredTransaction"
            if order.delivered and now - order.created > self.expiry_seconds + 600:
                del self.orders[order.order_ref]

    # --- the app page's actions and test control --------------------------------------------

    def app_action(self, order_ref: str, action: str, personal_number: str = "") -> str:
        """What the person does in the stand-in app. Returns "" or why it could not be done."""
        with self.lock:
            self._expire_old()
            order = self.orders.get(order_ref)
            if order is None or order.status != "pending":
                return "That order is no longer pending."
            if action == "open":
                order.hint_code = "started"
            elif action == "approve":
                identity = IDENTITIES_BY_NUMBER.get(personal_number)
                if identity is None:
                    return "Pick one of the test identities."
                if order.required_number and order.required_number != personal_number:
                    return "The order requires another personal number."
                # The next collect sees userSign (the person types the security code), then complete.
                order.outcome = f"complete:{personal_number}"
            elif action == "cancel":
                order.status, order.hint_code = "failed", "userCancel"
            elif action == "expire":
                order.created -= self.expiry_seconds + 1
            else:
                return "Unknown action."
            return ""

    def scenario(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise ValueError("a JSON object, please")
        with self.lock:
            if "error" in body:
                code = str(body["error"])
                if code not in ERROR_STATUS:
                    raise ValueError(f"error must be one of {', '.join(ERROR_STATUS)}")
                endpoint = str(body.get("endpoint", ""))
                if endpoint not in ("", "auth", "sign", "collect", "cancel"):
                    raise ValueError("endpoint must be auth, sign, collect or cancel (or absent: any)")
                times = int(body.get("times", 1))
                if times < 1:
                    raise ValueError("times must be at least 1")
                self.errors.append(_ErrorScenario(code, times, endpoint))
                return
            outcome = str(body.get("next", ""))
            if outcome not in OUTCOMES:
                raise ValueError(f"next must be one of {', '.join(OUTCOMES)}")
            self.outcomes.append((outcome, str(body.get("personalNumber", ""))))

    def orders_seen(self) -> list[dict[str, Any]]:
        """The orders as the service received them, for tests to check what a client sent."""
        with self.lock:
            return [
                {
                    "orderRef": o.order_ref,
                    "kind": o.kind,
                    "endUserIp": o.end_user_ip,
                    "userVisibleData": o.user_visible_text,
                    "userVisibleDataFormat": o.user_visible_data_format,
                    "userNonVisibleData": o.user_non_visible_data_b64,
                    "requirement": o.requirement,
                    "returnUrl": o.return_url,
                    "status": o.status,
                    "hintCode": o.hint_code,
                }
                for o in self.orders.values()
            ]

    def reset(self) -> None:
        with self.lock:
            self.orders.clear()
            self.outcomes.clear()
            self.errors.clear()
            self.calls.clear()

    def page(self, message: str = "") -> str:
        with self.lock:
            self._expire_old()
            now = time.monotonic()
            pending = [o for o in self.orders.values() if o.status == "pending"]
            ended = [o for o in self.orders.values() if o.status != "pending"]
            rows = "".join(self._order_html(order, now) for order in pending)
            done = "".join(
                f"<li><code>{html.escape(o.order_ref)}</code>: {html.escape(o.status)} "
                f"{html.escape(o.hint_code or (o.identity.name if o.identity else ''))}</li>"
                for o in ended
            )
        notice = f'<p role="alert">{html.escape(message)}</p>' if message else ""
        people = "".join(
            f"<li>{html.escape(i.name)}, {i.personal_number}"
            f"{': ' + html.escape(i.note) if i.note else ''}</li>"
            for i in IDENTITIES
        )
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>BankID simulator</title></head><body><main>"
            "<h1>BankID simulator</h1><p>Stands in for the BankID app, for development and tests "
            'only. <a href="/">Refresh</a></p>'
            f"{notice}<h2>Pending orders</h2>{rows or '<p>No pending orders.</p>'}"
            f"<h2>Ended orders</h2><ul>{done or '<li>None.</li>'}</ul>"
            f"<h2>Test identities</h2><ul>{people}</ul></main></body></html>"
        )

    def _order_html(self, order: SimOrder, now: float) -> str:
        seconds = int(now - order.created)
        ref = html.escape(order.order_ref)
        qr_now = qr_content(order.qr_start_token, order.qr_start_secret, seconds)
        options = "".join(
            f'<option value="{i.personal_number}"'
            f"{' selected' if i.personal_number == order.required_number else ''}>"
            f"{html.escape(i.name)} ({i.personal_number})"
            "</option>"
            for i in IDENTITIES
        )
        required = f" Requires {html.escape(order.required_number)}." if order.required_number else ""
        return (
            f'<section aria-labelledby="o-{ref}"><h3 id="o-{ref}">{html.escape(order.kind)} '
            f"<code>{ref}</code></h3>"
            f"<p>Hint: {html.escape(order.hint_code)}; {seconds} s old; from "
            f"{html.escape(order.end_user_ip)}.{required}</p>"
            f"<p>Shown to the person:</p><pre>{html.escape(order.user_visible_text) or '-'}</pre>"
            f"<p>QR code now: <code>{_breakable(qr_now)}</code></p>"
            f"<p>Autostart token: <code>{_breakable(order.auto_start_token)}</code></p>"
            f'<form method="post" action="/sim/orders/{ref}/open"><button>Open in the app</button></form>'
            f'<form method="post" action="/sim/orders/{ref}/approve">'
            f'<label for="pn-{ref}">Identity</label> '
            f'<select id="pn-{ref}" name="personalNumber">{options}</select> '
            "<button>Approve</button></form>"
            f'<form method="post" action="/sim/orders/{ref}/cancel"><button>Cancel in the app</button></form>'
            f'<form method="post" action="/sim/orders/{ref}/expire"><button>Let it expire</button></form>'
            "</section>"
        )


def _breakable(code: str) -> str:
    """Long tokens may wrap on a phone (no stylesheet on this page): after dots, dashes and every
    16 characters of the HMAC."""
    return re.sub(r"([.-]|[0-9a-zA-Z]{16})", r"\1<wbr>", html.escape(code))


class _Handler(BaseHTTPRequestHandler):
    server: SimulatorServer
    server_version = "BankIDSimulator/1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _error(self, code: str, details: str) -> None:
        self._json(ERROR_STATUS[code], {"errorCode": code, "details": details})

    def _page(self, message: str = "", status: int = 200) -> None:
        csp = "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        body = self.server.simulator.page(message).encode()
        self._send(status, body, "text/html; charset=utf-8", {"Content-Security-Policy": csp})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, 1_000_000))

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        simulator = self.server.simulator
        if path.startswith(API_PREFIX):
            self._error("methodNotAllowed", "Use POST.")
        elif path == "/":
            self._page()
        elif path == "/sim/stats":
            with simulator.lock:
                self._json(200, {"calls": dict(simulator.calls), "orders": len(simulator.orders)})
        elif path == "/sim/certificate":
            self._send(200, simulator.sign_cert_pem, "application/x-pem-file")
        elif path == "/sim/orders":
            self._json(200, simulator.orders_seen())
        elif path == "/sim/ca":
            self._send(200, simulator.ca_cert_pem, "application/x-pem-file")
        else:
            self._error("notFound", "No such page.")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        raw = self._body()
        if path.startswith(API_PREFIX):
            self._api(path.removeprefix(API_PREFIX), raw)
        elif path.startswith("/sim/orders/"):
            order_ref, _, action = path.removeprefix("/sim/orders/").partition("/")
            form = parse_qs(raw.decode("utf-8", "replace"))
            number = (form.get("personalNumber") or [""])[0]
            problem = self.server.simulator.app_action(order_ref, action, number)
            if problem:
                self._page(problem, status=409)
            else:
                self._send(303, b"", "text/plain", {"Location": "/"})
        elif path in ("/sim/scenario", "/sim/reset"):
            try:
                if path == "/sim/reset":
                    self.server.simulator.reset()
                else:
                    self.server.simulator.scenario(json.loads(raw or b"null"))
            except ValueError as exc:
                self._json(400, {"error": str(exc)})
                return
            self._json(200, {})
        else:
            self._error("notFound", "No such page.")

    def _api(self, endpoint: str, raw: bytes) -> None:
        if endpoint not in ("auth", "sign", "collect", "cancel"):
            self._error("notFound", "An invalid URL path was used.")
            return
        if self.headers.get_content_type() != "application/json":
            self._error("unsupportedMediaType", "Use Content-Type: application/json.")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._error("invalidParameters", "The body is not JSON.")
            return
        try:
            answer = self.server.simulator.api(endpoint, body)
        except ApiError as exc:
            self._error(exc.error_code, exc.details)
            return
        self._json(200, answer)


class SimulatorServer(ThreadingHTTPServer):
    """One thread per connection; with `ssl_context` HTTPS, the TLS handshake done in the
    connection's thread so a slow or refused client does not hold up the others."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        simulator: Simulator,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.simulator = simulator
        self.ssl_context = ssl_context
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(10)
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                logger.info("TLS handshake with %s refused: %s", client_address, exc)
                return
        super().finish_request(request, client_address)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{host if isinstance(host, str) else host.decode()}:{port}"


def start_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    simulator: Simulator | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> SimulatorServer:
    """Serve in a daemon thread (port 0: a free one); stop with `server.shutdown()`."""
    server = SimulatorServer((host, port), simulator or Simulator(), ssl_context)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="bankid-simulator", daemon=True
    ).start()
    return server
