"""A client for BankID's relying-party API v6 (auth, sign, collect, cancel) on `requests`.

Mutual TLS: the portal presents its relying-party certificate (PEM certificate and key, or a
PKCS#12 file) and trusts only the configured CA. Plain HTTP is allowed only to a loopback address
(the simulator). `maintenance` and `internalError` are retried a few times after a pause, as
BankID's guidelines allow; every other error raises its class from `errors` at once.

A client holds a requests.Session, which is not meant to be shared between threads: make one per
unit of work (`BankIDClient.from_settings()` is cheap; a PKCS#12 file is unpacked once per process).
"""

from __future__ import annotations

import atexit
import base64
import functools
import ipaddress
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)
from django.conf import settings

from portal.bankid.errors import (
    ERRORS_BY_CODE,
    BankIDConfigurationError,
    BankIDError,
    BankIDUnavailable,
)

logger = logging.getLogger(__name__)

TEST_URL = "https://appapi2.test.bankid.com/rp/v6.0/"
PRODUCTION_URL = "https://appapi2.bankid.com/rp/v6.0/"


@dataclass(frozen=True)
class Order:
    """What `auth` and `sign` return. `qr_start_secret` stays on the server."""

    order_ref: str
    auto_start_token: str
    qr_start_token: str
    qr_start_secret: str

    def autostart_url(self, redirect: str = "null") -> str:
        return f"bankid:///?autostarttoken={self.auto_start_token}&redirect={redirect}"


@dataclass(frozen=True)
class CompletionUser:
    personal_number: str
    name: str
    given_name: str
    surname: str


@dataclass(frozen=True)
class CompletionData:
    """The evidence of a completed order; `raw` is the service's JSON as received, to store."""

    user: CompletionUser
    device_ip_address: str
    device_uhi: str
    bank_id_issue_date: str
    step_up: bool
    signature: str  # base64 of the XML signature
    ocsp_response: str  # base64 of the DER OCSP response
    risk: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CompletionData:
        user = data.get("user") or {}
        device = data.get("device") or {}
        step_up = data.get("stepUp")
        return cls(
            user=CompletionUser(
                personal_number=str(user.get("personalNumber", "")),
                name=str(user.get("name", "")),
                given_name=str(user.get("givenName", "")),
                surname=str(user.get("surname", "")),
            ),
            device_ip_address=str(device.get("ipAddress", "")),
            device_uhi=str(device.get("uhi", "")),
            bank_id_issue_date=str(data.get("bankIdIssueDate", "")),
            # v6.0 sends {"mrtd": bool}; older answers a bool.
            step_up=bool(step_up.get("mrtd")) if isinstance(step_up, dict) else bool(step_up),
            signature=str(data.get("signature", "")),
            ocsp_response=str(data.get("ocspResponse", "")),
            risk=data.get("risk"),
            raw=data,
        )


@dataclass(frozen=True)
class CollectResult:
    order_ref: str
    status: str  # "pending" | "failed" | "complete"
    hint_code: str | None
    completion_data: CompletionData | None

    @property
    def done(self) -> bool:
        return self.status != "pending"


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_base_url(url: str) -> str:
    """The base URL with a trailing slash, or BankIDConfigurationError when it can't be used."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise BankIDConfigurationError(
            f"PORTAL_BANKID_URL must be an https URL such as {TEST_URL}, got {url!r}."
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise BankIDConfigurationError(
            f"PORTAL_BANKID_URL {url!r} is plain HTTP to a host that is not loopback: BankID must be "
            "reached over HTTPS with the relying-party certificate (plain HTTP is allowed only for "
            "the simulator on 127.0.0.1)."
        )
    return url if url.endswith("/") else url + "/"


@functools.cache
def _pem_files_from_p12(p12_file: str, password: str) -> tuple[str, str]:
    """Write the certificate and key of a PKCS#12 file to PEM files in a private temporary
    directory (mode 0700, files 0600), removed when the process ends: requests takes files.
    Once per process and file, however many clients are made."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(
            Path(p12_file).read_bytes(), password.encode() if password else None
        )
    except (OSError, ValueError) as exc:
        raise BankIDConfigurationError(f"PORTAL_BANKID_P12_FILE {p12_file!r} can't be read: {exc}") from exc
    if key is None or cert is None:
        raise BankIDConfigurationError(f"PORTAL_BANKID_P12_FILE {p12_file!r} holds no key and certificate.")
    directory = tempfile.mkdtemp(prefix="portal-bankid-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    chain = cert.public_bytes(Encoding.PEM) + b"".join(c.public_bytes(Encoding.PEM) for c in extra)
    for path, data in (
        (cert_path, chain),
        (key_path, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())),
    ):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    return cert_path, key_path


class BankIDClient:
    def __init__(
        self,
        base_url: str,
        *,
        cert_file: str = "",
        key_file: str = "",
        p12_file: str = "",
        p12_password: str = "",
        ca_file: str = "",
        connect_timeout: float = 5,
        read_timeout: float = 10,
        attempts: int = 3,
        retry_pause: float = 1.0,
    ) -> None:
        self.base_url = checked_base_url(base_url)
        self.attempts = max(1, attempts)
        self.retry_pause = retry_pause
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.session.headers["Content-Type"] = "application/json"
        # Passed with every request, not set on the session: requests lets REQUESTS_CA_BUNDLE in
        # the environment override a session's `verify`, and BankID's CA must win.
        self.cert: tuple[str, str] | None = None
        self.verify: str | bool = True
        if p12_file:
            self.cert = _pem_files_from_p12(p12_file, p12_password)
        elif cert_file or key_file:
            if not (cert_file and key_file):
                raise BankIDConfigurationError(
                    "Set both PORTAL_BANKID_CERT_FILE and PORTAL_BANKID_KEY_FILE, or PORTAL_BANKID_P12_FILE."
                )
            self.cert = (cert_file, key_file)
        if ca_file:
            if not Path(ca_file).is_file():
                raise BankIDConfigurationError(f"PORTAL_BANKID_CA_FILE {ca_file!r} does not exist.")
            self.verify = ca_file

    @classmethod
    def from_settings(cls, *, base_url: str | None = None) -> BankIDClient:
        url = base_url or settings.BANKID_URL
        if not url:
            raise BankIDConfigurationError("BankID is not configured: set PORTAL_BANKID_URL.")
        return cls(
            url,
            cert_file=settings.BANKID_CERT_FILE,
            key_file=settings.BANKID_KEY_FILE,
            p12_file=settings.BANKID_P12_FILE,
            p12_password=settings.BANKID_P12_PASSWORD,
            ca_file=settings.BANKID_CA_FILE,
            connect_timeout=settings.BANKID_CONNECT_TIMEOUT,
            read_timeout=settings.BANKID_READ_TIMEOUT,
            attempts=settings.BANKID_ATTEMPTS,
            retry_pause=settings.BANKID_RETRY_PAUSE_MS / 1000,
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> BankIDClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the four calls --------------------------------------------------------------------

    def auth(
        self,
        *,
        end_user_ip: str,
        user_visible_data: str = "",
        user_non_visible_data: bytes = b"",
        requirement: dict[str, Any] | None = None,
        return_url: str = "",
    ) -> Order:
        body = self._order_body(
            end_user_ip, user_visible_data, user_non_visible_data, requirement, return_url
        )
        return self._order(self._call("auth", body))

    def sign(
        self,
        *,
        end_user_ip: str,
        user_visible_data: str,
        user_non_visible_data: bytes = b"",
        requirement: dict[str, Any] | None = None,
        return_url: str = "",
    ) -> Order:
        if not user_visible_data:
            raise ValueError("sign needs the text the person signs (userVisibleData).")
        body = self._order_body(
            end_user_ip, user_visible_data, user_non_visible_data, requirement, return_url
        )
        return self._order(self._call("sign", body))

    def collect(self, order_ref: str) -> CollectResult:
        data = self._call("collect", {"orderRef": order_ref})
        completion = data.get("completionData")
        return CollectResult(
            order_ref=str(data.get("orderRef", order_ref)),
            status=str(data.get("status", "")),
            hint_code=data.get("hintCode"),
            completion_data=CompletionData.from_json(completion) if completion else None,
        )

    def cancel(self, order_ref: str) -> None:
        self._call("cancel", {"orderRef": order_ref})

    # --- plumbing --------------------------------------------------------------------------

    @staticmethod
    def _order_body(
        end_user_ip: str,
        user_visible_data: str,
        user_non_visible_data: bytes,
        requirement: dict[str, Any] | None,
        return_url: str,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"endUserIp": end_user_ip}
        if user_visible_data:
            body["userVisibleData"] = base64.b64encode(user_visible_data.encode("utf-8")).decode("ascii")
            body["userVisibleDataFormat"] = "simpleMarkdownV1"
        if user_non_visible_data:
            body["userNonVisibleData"] = base64.b64encode(user_non_visible_data).decode("ascii")
        if requirement:
            body["requirement"] = requirement
        if return_url:
            body["returnUrl"] = return_url
        return body

    @staticmethod
    def _order(data: dict[str, Any]) -> Order:
        try:
            return Order(
                order_ref=str(data["orderRef"]),
                auto_start_token=str(data["autoStartToken"]),
                qr_start_token=str(data["qrStartToken"]),
                qr_start_secret=str(data["qrStartSecret"]),
            )
        except KeyError as exc:
            raise BankIDError(f"the answer lacks {exc.args[0]}") from None

    def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(1, self.attempts + 1):
            try:
                return self._post(method, body)
            except BankIDError as exc:
                if not exc.retryable or attempt == self.attempts:
                    raise
                logger.warning(
                    "BankID %s answered %s (try %d of %d); trying again in %.1f s",
                    method,
                    exc.error_code,
                    attempt,
                    self.attempts,
                    self.retry_pause,
                )
                time.sleep(self.retry_pause)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _post(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.base_url + method
        try:
            response = self.session.post(
                url, json=body, timeout=self.timeout, cert=self.cert, verify=self.verify
            )
        except requests.RequestException as exc:
            raise BankIDUnavailable(f"{url}: {exc}") from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code == 200 and isinstance(data, dict):
            return data
        if isinstance(data, dict) and data.get("errorCode") in ERRORS_BY_CODE:
            error_class = ERRORS_BY_CODE[data["errorCode"]]
            raise error_class(str(data.get("details", "")), http_status=response.status_code)
        raise BankIDError(
            f"{url} answered HTTP {response.status_code}: {response.text[:200]!r}",
            http_status=response.status_code,
        )
