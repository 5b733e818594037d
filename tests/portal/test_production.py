"""Production (PORTAL_DEBUG false) refuses the embedded default's unsafe settings.

In-process: each refusal on its own. In real processes: gunicorn, a Celery worker, Celery beat
and `manage.py migrate` stop with the message on bad settings; gunicorn serves and a worker
starts on good ones; `manage.py check --deploy` with the README's production variables warns only
about what the README explains.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from deploy.check_deploy import readme_production_variables, sealing_files
from portal.production import (
    DEVELOPMENT_SECRET_KEY,
    EXAMPLE_S3_ACCESS_KEY,
    EXAMPLE_S3_SECRET_KEY,
    refuse_unsafe_production,
    unsafe_production_settings,
)
from signing.devkeys import DEV_SUBJECT

BASE_DIR = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
REFUSAL = "The portal refuses to start in production"


# --- In process: each refusal -----------------------------------------------------------------


@pytest.fixture
def production(settings: Any, tmp_path: Path) -> Any:
    """Settings that pass: the tests below break one thing each."""
    files = sealing_files(tmp_path / "seal", common_name="Partnerportalen AB seal")
    settings.DEBUG = False
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.SIGNING_SEAL_KEY_FILE = Path(files["PORTAL_SIGNING_SEAL_KEY_FILE"])
    settings.SIGNING_SEAL_CERT_FILE = Path(files["PORTAL_SIGNING_SEAL_CERT_FILE"])
    settings.SIGNING_SEAL_CA_FILE = Path(files["PORTAL_SIGNING_SEAL_CA_FILE"])
    settings.S3_BUCKET = ""
    settings.BANKID_URL = ""
    return settings


def test_good_production_settings_pass(production: Any) -> None:
    assert unsafe_production_settings() == []
    refuse_unsafe_production()  # does not raise


@pytest.mark.parametrize("key", ["", DEVELOPMENT_SECRET_KEY])
def test_unset_or_development_secret_key_is_refused(production: Any, key: str) -> None:
    production.SECRET_KEY = key
    with pytest.raises(ImproperlyConfigured, match="PORTAL_SECRET_KEY is unset or the development key"):
        refuse_unsafe_production()


def test_console_email_is_refused(production: Any) -> None:
    production.EMAIL_BACKEND = "portal.mail.ConsoleKeepingBackend"
    with pytest.raises(ImproperlyConfigured, match="PORTAL_EMAIL_HOST is unset"):
        refuse_unsafe_production()


def test_missing_sealing_files_are_refused(production: Any, tmp_path: Path) -> None:
    production.SIGNING_SEAL_CA_FILE = tmp_path / "nowhere" / "seal-ca.pem"
    with pytest.raises(
        ImproperlyConfigured, match=r"sealing key files are missing: PORTAL_SIGNING_SEAL_CA_FILE"
    ):
        refuse_unsafe_production()


def test_development_sealing_certificate_is_refused(production: Any, tmp_path: Path) -> None:
    files = sealing_files(tmp_path / "dev", common_name=DEV_SUBJECT)
    production.SIGNING_SEAL_KEY_FILE = Path(files["PORTAL_SIGNING_SEAL_KEY_FILE"])
    production.SIGNING_SEAL_CERT_FILE = Path(files["PORTAL_SIGNING_SEAL_CERT_FILE"])
    with pytest.raises(ImproperlyConfigured, match="sealing certificate is the development one"):
        refuse_unsafe_production()


@pytest.mark.parametrize(
    ("access", "secret"),
    [(EXAMPLE_S3_ACCESS_KEY, "own-secret"), ("own-access", EXAMPLE_S3_SECRET_KEY)],
)
def test_example_s3_credentials_are_refused(production: Any, access: str, secret: str) -> None:
    production.S3_BUCKET = "portal"
    production.STORAGES = {
        **production.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": "portal", "access_key": access, "secret_key": secret},
        },
    }
    with pytest.raises(
        ImproperlyConfigured, match="PORTAL_S3_ACCESS_KEY or PORTAL_S3_SECRET_KEY is the example"
    ):
        refuse_unsafe_production()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/rp/v6.0/", "http://localhost:8765/rp/v6.0/", "http://[::1]:8765/rp/v6.0/"]
)
def test_a_plain_http_bankid_service_is_refused(production: Any, url: str) -> None:
    """Plain HTTP is the development simulator on loopback: in production it would sign and log
    people in with identities anyone can pick on its page."""
    production.BANKID_URL = url
    with pytest.raises(ImproperlyConfigured, match="PORTAL_BANKID_URL is plain HTTP"):
        refuse_unsafe_production()


@pytest.mark.parametrize(
    "url", ["", "https://appapi2.test.bankid.com/rp/v6.0/", "https://appapi2.bankid.com/rp/v6.0/"]
)
def test_bankid_over_https_or_unset_passes(production: Any, url: str) -> None:
    production.BANKID_URL = url
    assert unsafe_production_settings() == []


def test_own_s3_credentials_pass(production: Any) -> None:
    production.S3_BUCKET = "portal"
    production.STORAGES = {
        **production.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": "portal", "access_key": "own-access", "secret_key": "own-secret"},
        },
    }
    assert unsafe_production_settings() == []


def test_debug_allows_the_embedded_default(production: Any) -> None:
    production.DEBUG = True
    production.SECRET_KEY = DEVELOPMENT_SECRET_KEY
    production.EMAIL_BACKEND = "portal.mail.ConsoleKeepingBackend"
    assert unsafe_production_settings() == []


def test_the_settings_default_key_is_the_one_refused() -> None:
    settings_source = (BASE_DIR / "portal" / "settings.py").read_text()
    assert "DEVELOPMENT_SECRET_KEY" in settings_source


# --- Real processes ---------------------------------------------------------------------------


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: none of the test run's PORTAL_* variables, production (no debug)."""
    # Nor the test run's DJANGO_ALLOW_ASYNC_UNSAFE, which `check --deploy` rightly refuses.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PORTAL_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_DEBUG": "false",
            "PORTAL_VAR_DIR": str(tmp_path / "var"),
            "PORTAL_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


@pytest.fixture
def good_env(tmp_path: Path) -> dict[str, str]:
    return _env(
        tmp_path,
        PORTAL_SECRET_KEY=secrets.token_urlsafe(50),
        PORTAL_EMAIL_HOST="127.0.0.1",
        PORTAL_EMAIL_PORT="2525",
        **sealing_files(tmp_path / "seal", common_name="Partnerportalen AB seal"),
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


GUNICORN = [str(VENV_BIN / "gunicorn"), "portal.wsgi:application", "--workers", "1", "--timeout", "30"]
CELERY_WORKER = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "--loglevel=info"]
CELERY_BEAT = [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel=info"]
MIGRATE = [sys.executable, "manage.py", "migrate", "--noinput"]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([*GUNICORN, "--bind", "127.0.0.1:0"], id="gunicorn"),
        pytest.param(CELERY_WORKER, id="celery-worker"),
        pytest.param(CELERY_BEAT, id="celery-beat"),
        pytest.param(MIGRATE, id="migrate"),
    ],
)
def test_every_process_refuses_to_start_on_the_embedded_default(tmp_path: Path, argv: list[str]) -> None:
    result = subprocess.run(
        argv, cwd=BASE_DIR, env=_env(tmp_path), capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert REFUSAL in output
    assert "PORTAL_SECRET_KEY is unset or the development key" in output
    assert "PORTAL_EMAIL_HOST is unset" in output
    assert "sealing key files are missing" in output


def test_only_the_secret_key_missing_is_named_alone(tmp_path: Path, good_env: dict[str, str]) -> None:
    del good_env["PORTAL_SECRET_KEY"]
    result = subprocess.run(
        MIGRATE, cwd=BASE_DIR, env=good_env, capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "PORTAL_SECRET_KEY is unset or the development key" in output
    assert "PORTAL_EMAIL_HOST" not in output
    assert "sealing" not in output


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        _stop(process)


def test_gunicorn_serves_with_good_production_settings(
    tmp_path: Path, good_env: dict[str, str], started: list[subprocess.Popen[bytes]]
) -> None:
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*GUNICORN, "--bind", f"127.0.0.1:{port}"],
            cwd=BASE_DIR,
            env=good_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started.append(process)
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=30) as response:
                status = response.status
                break
        except OSError:  # not listening yet (URLError), or the first request still loading
            time.sleep(0.3)
    assert status == 200, log.read_text()


def test_celery_worker_starts_with_good_production_settings(
    tmp_path: Path, good_env: dict[str, str], started: list[subprocess.Popen[bytes]]
) -> None:
    for folder in ("celery/queue", "celery/processed", "celery/control"):
        (tmp_path / "var" / folder).mkdir(parents=True, exist_ok=True)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            CELERY_WORKER,
            cwd=BASE_DIR,
            env=good_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started.append(process)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None and " ready." not in log.read_text():
        time.sleep(0.3)
    text = log.read_text()
    assert " ready." in text, text
    assert REFUSAL not in text


# --- check --deploy with the README's production variables -------------------------------------


def _readme() -> str:
    return (BASE_DIR / "README.md").read_text()


def test_check_deploy_with_the_readme_variables_warns_only_about_what_the_readme_explains(
    tmp_path: Path,
) -> None:
    variables = readme_production_variables(_readme())
    assert variables["PORTAL_DEBUG"] == "false"
    # The README's placeholders stand for the deployment's own values.
    variables["PORTAL_SECRET_KEY"] = secrets.token_urlsafe(50)
    variables.update(sealing_files(tmp_path / "seal", common_name="Partnerportalen AB seal"))
    for name in ("PORTAL_STATIC_ROOT", "PORTAL_MEDIA_ROOT", "PORTAL_VAR_DIR"):
        variables.pop(name, None)
    placeholders = {name: value for name, value in variables.items() if "<" in value}
    assert placeholders.keys() <= {"PORTAL_S3_ACCESS_KEY", "PORTAL_S3_SECRET_KEY", "PORTAL_EMAIL_PASSWORD"}
    variables.update({name: secrets.token_hex(16) for name in placeholders})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        env=_env(tmp_path, **variables),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    raised = set(re.findall(r"\(([a-z_.]+\.[WE]\d{3})\)", output))
    readme = _readme()
    assert {check_id for check_id in raised if check_id not in readme} == set(), output
