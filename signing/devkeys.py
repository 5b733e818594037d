"""The portal's sealing key: where its files are, loading it, and a development CA and key.

Production points the settings at a key and certificate issued by a real CA; development and the
tests make their own with `ensure_dev_sealing_key` (manage.py signing_dev_cert).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from pyhanko.sign import signers

# The development certificate's name, which production refuses (portal.production).
from portal.production import DEV_SUBJECT


class SealingError(Exception):
    """An input is not a readable PDF, or the sealing key cannot be loaded."""


@dataclass(frozen=True)
class SealingKey:
    signer: signers.SimpleSigner
    ca_file: Path

    @property
    def subject(self) -> str:
        cert = self.signer.signing_cert
        return str(cert.subject.native.get("common_name", "")) if cert is not None else ""


def seal_key_paths() -> tuple[Path, Path, Path]:
    """The (key, certificate, CA certificate) files the settings point at."""
    folder = Path(settings.VAR_DIR) / "signing"
    return (
        Path(getattr(settings, "SIGNING_SEAL_KEY_FILE", folder / "seal-key.pem")),
        Path(getattr(settings, "SIGNING_SEAL_CERT_FILE", folder / "seal-cert.pem")),
        Path(getattr(settings, "SIGNING_SEAL_CA_FILE", folder / "seal-ca.pem")),
    )


def _passphrase() -> bytes | None:
    value = getattr(settings, "SIGNING_SEAL_KEY_PASSPHRASE", "") or ""
    return value.encode() if value else None


def load_sealing_key() -> SealingKey:
    key_file, cert_file, ca_file = seal_key_paths()
    missing = [str(p) for p in (key_file, cert_file, ca_file) if not p.is_file()]
    if missing:
        raise SealingError(
            f"Sealing key files missing: {', '.join(missing)} (development: manage.py signing_dev_cert)"
        )
    signer = signers.SimpleSigner.load(
        str(key_file), str(cert_file), ca_chain_files=(str(ca_file),), key_passphrase=_passphrase()
    )
    if signer is None:  # pyHanko logs the cause and returns None
        raise SealingError(f"Could not load the sealing key {key_file} with certificate {cert_file}")
    return SealingKey(signer=signer, ca_file=ca_file)


def ensure_dev_sealing_key(*, force: bool = False) -> bool:
    """Make a development CA and a sealing certificate and key where the settings point, unless all
    three files exist (or `force`). Returns whether files were written. The CA's private key is
    not kept: a new certificate means a new CA, so nothing can issue more certificates under it."""
    key_file, cert_file, ca_file = seal_key_paths()
    if not force and all(p.is_file() for p in (key_file, cert_file, ca_file)):
        return False
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    ca_name = pyca_x509.Name(
        [
            pyca_x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
            pyca_x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Partnerportalen (development)"),
            pyca_x509.NameAttribute(NameOID.COMMON_NAME, "Partnerportalen development CA"),
        ]
    )
    ca_cert = (
        pyca_x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(pyca_x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(pyca_x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(pyca_x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    subject = pyca_x509.Name(
        [
            pyca_x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
            pyca_x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Partnerportalen (development)"),
            pyca_x509.NameAttribute(NameOID.COMMON_NAME, DEV_SUBJECT),
        ]
    )
    cert = (
        pyca_x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(pyca_x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=3 * 365))
        .add_extension(pyca_x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        # id-kp-documentSigning (RFC 9336), and emailProtection, which NSS (poppler's pdfsig) and
        # Acrobat accept for document signatures.
        .add_extension(
            pyca_x509.ExtendedKeyUsage(
                [pyca_x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"), ExtendedKeyUsageOID.EMAIL_PROTECTION]
            ),
            critical=False,
        )
        .add_extension(pyca_x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            pyca_x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    passphrase = _passphrase()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    for path in (key_file, cert_file, ca_file):
        path.parent.mkdir(parents=True, exist_ok=True)
    _write(key_file, key_pem, mode=0o600)
    _write(cert_file, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    _write(ca_file, ca_cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return True


def _key_usage(*, cert_sign: bool) -> pyca_x509.KeyUsage:
    return pyca_x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,  # nonRepudiation: pyHanko requires it of a signer
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write(path: Path, data: bytes, *, mode: int) -> None:
    """Write via a temporary file and a rename, so a reader never sees half a key."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
