"""Mutual TLS: the simulator serving HTTPS and demanding a client certificate from a test CA."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from portal.bankid import errors
from portal.bankid.client import BankIDClient
from portal.bankid.errors import BankIDConfigurationError
from portal.bankid.simulator import SimulatorServer, start_in_thread

Key = ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: str, key: Key, issuer: x509.Name) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
    )


def _ca(common_name: str) -> tuple[Key, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(common_name, key, _name(common_name))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca: tuple[Key, x509.Certificate], common_name: str, *, server: bool
) -> tuple[Key, x509.Certificate]:
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(common_name, key, ca_cert.subject)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False
        )
    return key, builder.sign(ca_key, hashes.SHA256())


def _write(path: Path, key: Key | None = None, cert: x509.Certificate | None = None) -> str:
    data = b""
    if cert is not None:
        data += cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        data += key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    path.write_bytes(data)
    return str(path)


@dataclass
class Pki:
    server: SimulatorServer
    url: str
    server_ca_file: str  # what the portal trusts (PORTAL_BANKID_CA_FILE)
    client_cert_file: str
    client_key_file: str
    p12_file: str
    stranger_cert_file: str  # a client certificate from a CA the service does not trust
    stranger_key_file: str


@pytest.fixture
def pki(tmp_path: Path) -> Iterator[Pki]:
    server_ca, client_ca, stranger_ca = _ca("Test BankID server CA"), _ca("Test RP CA"), _ca("Other CA")
    server_key, server_cert = _leaf(server_ca, "127.0.0.1", server=True)
    client_key, client_cert = _leaf(client_ca, "Partnerportalen RP", server=False)
    stranger_key, stranger_cert = _leaf(stranger_ca, "Someone else", server=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(
        _write(tmp_path / "server-cert.pem", cert=server_cert),
        _write(tmp_path / "server-key.pem", server_key),
    )
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(_write(tmp_path / "client-ca.pem", cert=client_ca[1]))
    server = start_in_thread(ssl_context=context)

    p12 = tmp_path / "rp.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"rp", client_key, client_cert, None, serialization.BestAvailableEncryption(b"hemligt")
        )
    )
    yield Pki(
        server=server,
        url=server.base_url + "/rp/v6.0/",
        server_ca_file=_write(tmp_path / "server-ca.pem", cert=server_ca[1]),
        client_cert_file=_write(tmp_path / "client-cert.pem", cert=client_cert),
        client_key_file=_write(tmp_path / "client-key.pem", client_key),
        p12_file=str(p12),
        stranger_cert_file=_write(tmp_path / "stranger-cert.pem", cert=stranger_cert),
        stranger_key_file=_write(tmp_path / "stranger-key.pem", stranger_key),
    )
    server.shutdown()
    server.server_close()


def test_client_with_its_certificate_is_served(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets this variable override a session's CA; the client must trust BankID's CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert pki.url.startswith("https://")
    with BankIDClient(
        pki.url, cert_file=pki.client_cert_file, key_file=pki.client_key_file, ca_file=pki.server_ca_file
    ) as bankid:
        order = bankid.auth(end_user_ip="127.0.0.1")
        assert bankid.collect(order.order_ref).status == "pending"


def test_client_with_a_pkcs12_file_is_served(pki: Pki) -> None:
    with BankIDClient(
        pki.url, p12_file=pki.p12_file, p12_password="hemligt", ca_file=pki.server_ca_file
    ) as bankid:
        assert bankid.auth(end_user_ip="127.0.0.1").order_ref
        assert bankid.cert is not None
        key_path = bankid.cert[1]
    # The key taken out of the PKCS#12 file is readable by this process only.
    assert Path(key_path).stat().st_mode & 0o777 == 0o600
    assert Path(key_path).parent.stat().st_mode & 0o777 == 0o700


def test_wrong_pkcs12_password_is_a_configuration_error(pki: Pki) -> None:
    with pytest.raises(BankIDConfigurationError, match="PORTAL_BANKID_P12_FILE"):
        BankIDClient(pki.url, p12_file=pki.p12_file, p12_password="fel", ca_file=pki.server_ca_file)


def test_client_without_a_certificate_is_refused(pki: Pki) -> None:
    with BankIDClient(pki.url, ca_file=pki.server_ca_file) as bankid, pytest.raises(errors.BankIDUnavailable):
        bankid.auth(end_user_ip="127.0.0.1")
    assert pki.server.simulator.calls["auth"] == 0


def test_client_with_a_certificate_from_another_ca_is_refused(pki: Pki) -> None:
    with (
        BankIDClient(
            pki.url,
            cert_file=pki.stranger_cert_file,
            key_file=pki.stranger_key_file,
            ca_file=pki.server_ca_file,
        ) as bankid,
        pytest.raises(errors.BankIDUnavailable),
    ):
        bankid.auth(end_user_ip="127.0.0.1")
    assert pki.server.simulator.calls["auth"] == 0


def test_client_refuses_a_server_its_ca_did_not_issue(pki: Pki, tmp_path: Path) -> None:
    other_ca_file = _write(tmp_path / "other-ca.pem", cert=_ca("Not BankID")[1])
    with (
        BankIDClient(
            pki.url, cert_file=pki.client_cert_file, key_file=pki.client_key_file, ca_file=other_ca_file
        ) as bankid,
        pytest.raises(errors.BankIDUnavailable, match=r"(?i)certificate"),
    ):
        bankid.auth(end_user_ip="127.0.0.1")


def test_half_a_pem_pair_or_a_missing_ca_is_a_configuration_error(pki: Pki) -> None:
    with pytest.raises(BankIDConfigurationError, match="KEY_FILE"):
        BankIDClient(pki.url, cert_file=pki.client_cert_file)
    with pytest.raises(BankIDConfigurationError, match="CA_FILE"):
        BankIDClient(pki.url, ca_file="/nonexistent/ca.pem")
