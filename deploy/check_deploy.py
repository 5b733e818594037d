"""`manage.py check --deploy --fail-level WARNING` with the README's production variables.

`make test` runs it: any deployment warning Django (or an installed app) raises for the settings
the README tells an operator to use fails the build. The README's placeholders stand for the
deployment's own values: a random secret key and passwords, and a throwaway self-signed sealing
certificate (production start-up refuses missing sealing files, see portal/production.py).

    .venv/bin/python deploy/check_deploy.py
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
COMMAND = ["manage.py", "check", "--deploy", "--fail-level", "WARNING"]


def readme_production_variables(readme: str) -> dict[str, str]:
    """The README's <!-- production-variables --> block as a dict."""
    block = re.search(r"<!-- production-variables -->\s*```\w*\n(.*?)```", readme, re.S)
    if block is None:
        raise SystemExit("README.md lost its production-variables block")
    variables = {}
    for line in block.group(1).splitlines():
        match = re.fullmatch(r"(PORTAL_[A-Z0-9_]+)=(.*)", line.strip())
        if match:
            variables[match.group(1)] = match.group(2)
    return variables


def sealing_files(folder: Path, *, common_name: str = "check --deploy seal") -> dict[str, str]:
    """A self-signed key and certificate (also the CA file) in `folder` with the given subject, as
    PORTAL_SIGNING_SEAL_* variables; not the development one unless asked for by its subject."""
    folder.mkdir(parents=True, exist_ok=True)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / "seal-key.pem", folder / "seal-cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return {
        "PORTAL_SIGNING_SEAL_KEY_FILE": str(key_file),
        "PORTAL_SIGNING_SEAL_CERT_FILE": str(cert_file),
        "PORTAL_SIGNING_SEAL_CA_FILE": str(cert_file),
    }


def production_env(folder: Path) -> dict[str, str]:
    """A clean environment (none of the caller's PORTAL_* variables) with the README's block."""
    variables = readme_production_variables((BASE_DIR / "README.md").read_text())
    variables["PORTAL_SECRET_KEY"] = secrets.token_urlsafe(50)
    variables.update({name: secrets.token_hex(16) for name, value in variables.items() if "<" in value})
    variables.update(sealing_files(folder))
    variables["PORTAL_VAR_DIR"] = str(folder / "var")
    # Nor the test run's DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly refuses.
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PORTAL_") and name != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(variables)
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    return env


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="check-deploy-") as folder:
        env = production_env(Path(folder))
        if env.get("PORTAL_DEBUG") != "false":
            raise SystemExit("the README's production block must set PORTAL_DEBUG=false")
        argv = [sys.executable, *COMMAND]  # fixed argv, no shell
        return subprocess.run(argv, cwd=BASE_DIR, env=env, check=False).returncode  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
