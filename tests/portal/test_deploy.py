"""The production shape holds no secret of its own: docker-compose.yml takes every one from the
environment (compose stops when one is unset), and the S3 identity the portal uses may not
administer SeaweedFS, checked against a real SeaweedFS with deploy/seaweedfs-s3.json."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.documents.conftest import SeaweedFS, _free_ports, _wait_until_ready, _weed_binary

BASE_DIR = Path(__file__).resolve().parents[2]
COMPOSE = (BASE_DIR / "docker-compose.yml").read_text()
IDENTITIES = BASE_DIR / "deploy" / "seaweedfs-s3.json"

SECRETS = [
    "PORTAL_SECRET_KEY",
    "POSTGRES_PASSWORD",
    "PORTAL_EMAIL_HOST",
    "PORTAL_S3_ACCESS_KEY",
    "PORTAL_S3_SECRET_KEY",
    "SEAWEEDFS_ADMIN_ACCESS_KEY",
    "SEAWEEDFS_ADMIN_SECRET_KEY",
    "SEAL_KEY_FILE",
    "SEAL_CERT_FILE",
    "SEAL_CA_FILE",
]


@pytest.mark.parametrize("name", SECRETS)
def test_compose_requires_every_secret_from_the_environment(name: str) -> None:
    uses = re.findall(r"\$\{" + name + r"(:[?-])?[^}]*\}", COMPOSE)
    assert uses, f"{name} is not used"
    assert set(uses) == {":?"}, f"{name} has a default in docker-compose.yml"


def test_no_example_secret_is_left_in_the_production_files() -> None:
    for path in ("docker-compose.yml", "deploy/seaweedfs-s3.json", "deploy/nginx.conf", "Dockerfile"):
        text = (BASE_DIR / path).read_text()
        assert "change-me" not in text, path
        assert "collectstatic-only-not-a-secret" not in text, path


def _service(name: str) -> str:
    """One service's block of docker-compose.yml (up to the next service at the same indent)."""
    match = re.search(rf"^  {name}:\n(.*?)(?=^  [a-z]+:\n|^[a-z]|\Z)", COMPOSE, re.S | re.M)
    assert match is not None, name
    return match.group(1)


def test_only_migrate_and_the_s3_server_know_the_admin_keys() -> None:
    for service in ("migrate", "s3"):
        assert "SEAWEEDFS_ADMIN_SECRET_KEY" in _service(service)
    for service in ("web", "worker", "beat", "nginx"):
        assert "SEAWEEDFS_ADMIN" not in _service(service)
    anchors = COMPOSE.split("services:", 1)[0]
    assert "SEAWEEDFS_ADMIN" not in anchors  # not in x-portal-env, which every app service gets


def test_the_portal_identity_has_no_admin_right() -> None:
    identities = {item["name"]: item for item in json.loads(IDENTITIES.read_text())["identities"]}
    assert "Admin" not in " ".join(identities["portal"]["actions"])
    assert identities["portal"]["credentials"] == [
        {"accessKey": "@PORTAL_S3_ACCESS_KEY@", "secretKey": "@PORTAL_S3_SECRET_KEY@"}
    ]


# --- clamd: uploads are scanned in the production shape ------------------------------------------

CLAMD_CONF = BASE_DIR / "deploy" / "clamd.conf"


def _service_env(name: str) -> dict[str, str]:
    """The PORTAL_* entries a service sets itself (besides the shared x-portal-env)."""
    return {
        key: value.strip('"')
        for key, value in re.findall(r"^\s+(PORTAL_[A-Z0-9_]+):\s*(.*?)\s*$", _service(name), re.M)
    }


def _clamd_option(name: str) -> str:
    match = re.search(rf"^{name}\s+(\S+)\s*$", CLAMD_CONF.read_text(), re.M)
    assert match is not None, name
    return match.group(1)


def _clamd_bytes(value: str) -> int:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    return int(value[:-1]) * units[value[-1].upper()] if value[-1].upper() in units else int(value)


def test_web_and_worker_scan_uploads_with_the_compose_clamd_once_it_is_healthy() -> None:
    clamav = _service("clamav")
    assert re.search(r"^    image: clamav/clamav:\S+$", clamav, re.M)
    assert "clamdcheck.sh" in clamav  # the image's own check: clamd answers PING
    assert "- clamav-db:/var/lib/clamav" in clamav  # the virus database outlives the container
    assert "- ./deploy/clamd.conf:/etc/clamav/clamd.conf:ro" in clamav
    assert re.search(r"^  clamav-db:$", COMPOSE.rsplit("\nvolumes:\n", 1)[1], re.M)
    port = _clamd_option("TCPSocket")
    for service in ("web", "worker"):
        assert _service_env(service)["PORTAL_CLAMD_SOCKET"] == f"clamav:{port}", service
        assert re.search(r"^      clamav:\n        condition: service_healthy$", _service(service), re.M), (
            service
        )
    # The settings read it, and nothing else of the app's gets clamd's address.
    assert 'CLAMD_SOCKET = envstr("CLAMD_SOCKET")' in (BASE_DIR / "portal" / "settings.py").read_text()
    assert "PORTAL_CLAMD_SOCKET" not in COMPOSE.split("services:", 1)[0]


def test_gunicorn_keeps_connections_open_longer_than_nginx_reuses_them() -> None:
    """nginx must drop an idle upstream connection before gunicorn does: otherwise an upload
    sent on a connection gunicorn just closed is a 502 (nginx never retries a POST)."""
    web = _service("web")
    keep_alive = re.search(r'- --keep-alive\n\s+- "(\d+)"', web)
    assert keep_alive, web
    nginx = (BASE_DIR / "deploy" / "nginx.conf").read_text()
    upstream = re.search(r"upstream portal_web \{(.*?)\}", nginx, re.S)
    assert upstream and "keepalive 16;" in upstream.group(1)
    nginx_timeout = re.search(r"keepalive_timeout (\d+)s;", upstream.group(1))
    assert nginx_timeout, upstream.group(1)
    assert int(keep_alive.group(1)) > int(nginx_timeout.group(1))


def test_compose_clamd_accepts_the_largest_upload() -> None:
    """clamd refuses a stream over StreamMaxLength (100 MB by default): the portal would then refuse
    every larger upload as unchecked."""
    largest = re.search(r'PORTAL_MAX_UPLOAD_BYTES: "(\d+)"', COMPOSE)
    assert largest is not None
    for option in ("StreamMaxLength", "MaxScanSize", "MaxFileSize"):
        assert _clamd_bytes(_clamd_option(option)) >= int(largest.group(1)), option


# --- Against a real SeaweedFS --------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    portal: tuple[str, str]
    admin: tuple[str, str]


@pytest.fixture(scope="module")
def deployed_seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Keys]]:
    """SeaweedFS with deploy/seaweedfs-s3.json filled in as the compose s3 service fills it."""
    base = tmp_path_factory.mktemp("seaweedfs-deploy")
    (base / "data").mkdir()
    keys = Keys(
        portal=(secrets.token_hex(10), secrets.token_urlsafe(30)),
        admin=(secrets.token_hex(10), secrets.token_urlsafe(30)),
    )
    config = IDENTITIES.read_text()
    for placeholder, value in {
        "@PORTAL_S3_ACCESS_KEY@": keys.portal[0],
        "@PORTAL_S3_SECRET_KEY@": keys.portal[1],
        "@SEAWEEDFS_ADMIN_ACCESS_KEY@": keys.admin[0],
        "@SEAWEEDFS_ADMIN_SECRET_KEY@": keys.admin[1],
    }.items():
        config = config.replace(placeholder, value)
    assert "@" not in config
    (base / "s3.json").write_text(config)
    master, volume, filer, s3 = _free_ports(4)
    command = [
        _weed_binary(),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={base / 'data'}",
        f"-master.port={master}",
        f"-master.port.grpc={master + 10000}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume + 10000}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer + 10000}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3 + 10000}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={base / 's3.json'}",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
    ]
    endpoint = f"http://127.0.0.1:{s3}"
    # The readiness probe creates its bucket: with the admin identity, as compose's migrate does.
    admin = SeaweedFS(endpoint, keys.admin[0], keys.admin[1], "portal", "us-east-1")
    log = base / "weed.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=base,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={name: value for name, value in os.environ.items() if not name.startswith("AWS_")},
        )
        try:
            _wait_until_ready(admin, process, log)
            yield endpoint, keys
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _client(endpoint: str, key: tuple[str, str]) -> Any:
    return SeaweedFS(endpoint, key[0], key[1], "portal", "us-east-1").client()


def test_portal_identity_reads_and_writes_objects(deployed_seaweedfs: tuple[str, Keys]) -> None:
    endpoint, keys = deployed_seaweedfs
    portal = _client(endpoint, keys.portal)
    portal.put_object(Bucket="portal", Key="a/b.txt", Body=b"hej")
    assert portal.get_object(Bucket="portal", Key="a/b.txt")["Body"].read() == b"hej"
    assert [item["Key"] for item in portal.list_objects_v2(Bucket="portal")["Contents"]] == ["a/b.txt"]


def test_portal_identity_cannot_create_or_delete_buckets(deployed_seaweedfs: tuple[str, Keys]) -> None:
    endpoint, keys = deployed_seaweedfs
    portal = _client(endpoint, keys.portal)
    with pytest.raises(ClientError) as created:
        portal.create_bucket(Bucket="another")
    assert created.value.response["Error"]["Code"] == "AccessDenied"
    admin = _client(endpoint, keys.admin)
    admin.create_bucket(Bucket="spare")  # empty, so only the right can stop its deletion
    with pytest.raises(ClientError) as deleted:
        portal.delete_bucket(Bucket="spare")
    assert deleted.value.response["Error"]["Code"] == "AccessDenied"
    assert {bucket["Name"] for bucket in admin.list_buckets()["Buckets"]} == {"portal", "spare"}
