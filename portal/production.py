"""What a production process refuses to start with.

The embedded default (SQLite, console email, a development secret key and sealing certificate)
is for development; with PORTAL_DEBUG false the portal is production and must not run on any of
it. `PortalConfig.ready()` calls `refuse_unsafe_production()`, so every process that sets Django
up stops with the list below before it does anything: gunicorn's workers (the WSGI module calls
django.setup()), Celery's worker and beat (Celery's Django fixup calls django.setup() and
re-raises what it raises), and every manage.py command, migrate included. A Django system check
would not do: gunicorn and Celery do not act on system checks, and `manage.py shell` skips them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# The values the repository itself ships; a deployment using one of them has not set its own.
DEVELOPMENT_SECRET_KEY = "embedded-default-insecure-key-change-me-in-production-0123456789"
DEVELOPMENT_EMAIL_BACKEND = "portal.mail.ConsoleKeepingBackend"
EXAMPLE_S3_ACCESS_KEY = "portal-s3-access-key-change-me"
EXAMPLE_S3_SECRET_KEY = "portal-s3-secret-key-change-me"
# The common name of the sealing certificate `manage.py signing_dev_cert` makes (signing.devkeys).
DEV_SUBJECT = "Partnerportalen sealing (development)"


def unsafe_production_settings() -> list[str]:
    """Why these settings must not run in production, one line each; empty when they may (or
    when DEBUG is on: development runs on the embedded default by design)."""
    if settings.DEBUG:
        return []
    problems: list[str] = []
    try:
        secret_key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses to hand out an empty key
        secret_key = ""
    if not secret_key or secret_key == DEVELOPMENT_SECRET_KEY:
        problems.append(
            "PORTAL_SECRET_KEY is unset or the development key: set a long random string, e.g. "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    if settings.EMAIL_BACKEND == DEVELOPMENT_EMAIL_BACKEND:
        problems.append(
            "PORTAL_EMAIL_HOST is unset: without an SMTP server emails (with their password and "
            "signing links and codes) only go to the console and the Sent emails table."
        )
    problems.extend(_sealing_problems())
    problems.extend(_s3_problems())
    problems.extend(_bankid_problems())
    return problems


def refuse_unsafe_production() -> None:
    problems = unsafe_production_settings()
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        raise ImproperlyConfigured(
            "The portal refuses to start in production (PORTAL_DEBUG is false) with these "
            f"settings:\n{lines}\nSee README.md, Production. For development set PORTAL_DEBUG=true."
        )


def _sealing_problems() -> list[str]:
    files = {
        "PORTAL_SIGNING_SEAL_KEY_FILE": Path(settings.SIGNING_SEAL_KEY_FILE),
        "PORTAL_SIGNING_SEAL_CERT_FILE": Path(settings.SIGNING_SEAL_CERT_FILE),
        "PORTAL_SIGNING_SEAL_CA_FILE": Path(settings.SIGNING_SEAL_CA_FILE),
    }
    missing = [f"{name} ({path})" for name, path in files.items() if not path.is_file()]
    if missing:
        return [f"the sealing key files are missing: {', '.join(missing)}."]
    if _is_development_certificate(files["PORTAL_SIGNING_SEAL_CERT_FILE"]):
        return [
            "the sealing certificate is the development one made by `manage.py signing_dev_cert`: "
            "point PORTAL_SIGNING_SEAL_KEY_FILE, _CERT_FILE and _CA_FILE at the portal's own."
        ]
    return []


def _is_development_certificate(path: Path) -> bool:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False  # not ours to judge here; loading the key at sealing time says what is wrong
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return any(name.value == DEV_SUBJECT for name in names)


def _s3_problems() -> list[str]:
    if not settings.S3_BUCKET:
        return []
    storage: Any = settings.STORAGES["default"]
    options = storage.get("OPTIONS", {})
    if (
        options.get("access_key") == EXAMPLE_S3_ACCESS_KEY
        or options.get("secret_key") == EXAMPLE_S3_SECRET_KEY
    ):
        return [
            "PORTAL_S3_ACCESS_KEY or PORTAL_S3_SECRET_KEY is the example from the repository: "
            "give the S3 identity keys of its own."
        ]
    return []


def _bankid_problems() -> list[str]:
    # The client takes plain HTTP only on loopback: that is the development simulator, whose page
    # lets anyone approve an order as any of its test identities.
    if urlsplit(settings.BANKID_URL).scheme == "http":
        return [
            "PORTAL_BANKID_URL is plain HTTP, i.e. the development BankID simulator: point it at "
            "BankID's service (https://appapi2.bankid.com/rp/v6.0/) or leave it empty."
        ]
    return []
