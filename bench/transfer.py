"""Transfer benchmark: a 1 GB file through the portal (nginx -> gunicorn, X-Accel-Redirect) against
nginx serving it directly, with the web process's memory.

    apt-get install -y nginx-light      # once; nginx is not part of the test environment
    .venv/bin/python bench/transfer.py  # about 2-4 minutes, needs ~3.5 GB free in --tmp-dir

It writes a 1 GB file into a temporary media folder, runs nginx with deploy/nginx.conf (its
upstream, listen and alias lines pointed at loopback and the temporary folders, plus two
locations for the baselines: /direct/ serving the media folder and /put/ taking a WebDAV PUT),
and gunicorn with PORTAL_X_ACCEL_REDIRECT_PREFIX=/protected/ and PORTAL_MEDIA_ROOT at that folder,
against the bench database. A document row points at the file. Then:

- download: the document through the portal (login session, access check, audit event,
  X-Accel-Redirect, nginx sends the file) against GET /direct/<file> from nginx, --runs times each,
  alternating;
- upload: the file through nginx to the portal's upload URL (raw body with X-File-Name and the
  CSRF header: nginx streams it to Django as it arrives, proxy_request_buffering off, and Django
  hashes, measures and sniffs it on its way straight into storage, an unnamed file linked at its
  key once accepted: the body is written once) against a PUT of the same file to nginx alone (nginx
  writes it to disk), --upload-runs times each, and the same upload straight to gunicorn;
- memory: VmRSS of every gunicorn process sampled every 20 ms, before and during each transfer.

Prints MB/s (10^6 bytes) per run, medians, the ratios, the web processes' peak memory and the
load average (the machine should be quiet). Targets (medians of 5 runs): download at least 0.95x
nginx's throughput, upload at least 0.6x nginx's PUT, with flat web-process memory. Everything made
is removed at the end (files, nginx and gunicorn, the benchmark's document rows).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

MB = 1_000_000
BLOCK = 1 << 20
FILE_KEY = "transfer/bench-1gb.bin"
DOCUMENT_NAME = "Stor fil 1 GB.bin"
UPLOAD_NAME = "Uppladdad 1 GB.bin"
FOLDER_NAME = "Överföringar"
EMAIL = "transfer-admin@transfer.example"
PASSWORD = "transfer-password-1"
DOWNLOAD_TARGET = 0.95
UPLOAD_TARGET = 0.6


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=common.DEFAULT_DATABASE_URL)
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (1024)")
    parser.add_argument("--runs", type=int, default=5, help="downloads of each kind (5)")
    parser.add_argument("--upload-runs", type=int, default=5, help="uploads of each kind (5)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--tmp-dir", default=None, help="where the temporary files go (system default)")
    return parser.parse_args()


# --- Memory ---------------------------------------------------------------------------------------


class MemorySampler:
    """Samples VmRSS of gunicorn's master and workers every 20 ms in a thread."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.peak_kb = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def pids(self) -> list[int]:
        return [self.master, *common.children(self.master)]

    def current(self) -> dict[int, int]:
        return {pid: common.memory_kb(pid)[0] for pid in self.pids()}

    def reset(self) -> None:
        with self._lock:
            self.peak_kb = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            largest = max(self.current().values(), default=0)
            with self._lock:
                self.peak_kb = max(self.peak_kb, largest)
            time.sleep(0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Phase:
    name: str
    seconds: list[float] = field(default_factory=list)
    first_byte: list[float] = field(default_factory=list)
    nbytes: int = 0
    rss_before_kb: int = 0
    rss_peak_kb: int = 0

    def rates(self) -> list[float]:
        return [self.nbytes / MB / s for s in self.seconds]

    def median(self) -> float:
        return statistics.median(self.rates()) if self.seconds else float("nan")


# --- HTTP, with 1 MiB reads and writes so the client costs little -------------------------------


def download(port: int, path: str, headers: dict[str, str], expected: int) -> tuple[float, float]:
    """(seconds for the whole transfer, seconds until the response headers arrived)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    buffer = bytearray(BLOCK)
    view = memoryview(buffer)
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    first_byte = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status} {response.read(500)!r}")
    received = 0
    while True:
        n = response.readinto(view)
        if not n:
            break
        received += n
    elapsed = time.perf_counter() - started
    conn.close()
    if received != expected:
        raise RuntimeError(f"GET {path}: {received} bytes, expected {expected}")
    return elapsed, first_byte


def upload(
    port: int, method: str, path: str, source: Path, headers: dict[str, str]
) -> tuple[float, int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=BLOCK)
    size = source.stat().st_size
    with source.open("rb") as body:
        started = time.perf_counter()
        conn.request(
            method,
            path,
            body=body,
            headers={**headers, "Content-Length": str(size), "Content-Type": "application/octet-stream"},
        )
        response = conn.getresponse()
        answer = response.read()
        elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, response.status, answer


# --- nginx ----------------------------------------------------------------------------------------


def nginx_config(*, tmp: Path, media: Path, nginx_port: int, web_port: int) -> str:
    """common.nginx_config with the two baseline locations added to its server block."""
    baselines = f"""
    # Benchmark baselines (bench/transfer.py only): nginx alone sending and receiving the file.
    location /direct/ {{
        alias {media}/;
    }}
    location /put/ {{
        alias {tmp}/put/;
        dav_methods PUT;
        create_full_put_path on;
        client_body_temp_path {tmp}/put-tmp;
    }}
"""
    return common.nginx_config(
        tmp=tmp, media=media, nginx_port=nginx_port, web_port=web_port, extra_locations=baselines
    )


# --- Fixture --------------------------------------------------------------------------------------


def make_file(path: Path, size: int) -> str:
    """`size` bytes of a repeated random 8 MiB block; returns the sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(8 << 20)
    digest = hashlib.sha256()
    written = 0
    with path.open("wb") as out:
        while written < size:
            chunk = block[: min(len(block), size - written)]
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    return digest.hexdigest()


def fixture(size: int, sha256: str) -> tuple[int, int]:
    """A partner admin, a customer, a folder and a document whose version is the 1 GB file.
    Returns (document id, folder id). Idempotent; earlier benchmark documents are removed."""
    from customers.models import Collaboration, CollaborationStatus, CustomerAccount, CustomerMembership
    from documents import services
    from documents.models import Document, DocumentVersion, Folder, PreviewStatus
    from partners.models import Partner, PartnerMembership, PartnerRole
    from portal.models import User

    partner, _ = Partner.objects.get_or_create(
        org_number="559990-0013", defaults={"name": "Transfer Byrå AB"}
    )
    user = User.objects.filter(email=EMAIL).first() or User.objects.create_user(
        email=EMAIL, password=PASSWORD, name="Transfer Admin"
    )
    PartnerMembership.objects.get_or_create(partner=partner, user=user, defaults={"role": PartnerRole.ADMIN})
    customer, _ = CustomerAccount.objects.get_or_create(
        org_number="559990-0021", created_by_partner=partner, defaults={"name": "Transfer Kund AB"}
    )
    contact = User.objects.filter(email="transfer-kund@transfer.example").first() or User.objects.create_user(
        email="transfer-kund@transfer.example", name="Transfer Kund"
    )
    CustomerMembership.objects.get_or_create(
        customer=customer, user=contact, defaults={"is_primary_contact": True}
    )
    collaboration, _ = Collaboration.objects.get_or_create(
        partner=partner, customer=customer, status=CollaborationStatus.ACTIVE
    )
    folder = Folder.objects.filter(collaboration=collaboration, parent=None, name=FOLDER_NAME).first()
    if folder is None:
        folder = services.folder_create(collaboration=collaboration, actor=user, name=FOLDER_NAME)
    cleanup_rows(folder.pk)
    document = Document.objects.create(folder=folder, name=DOCUMENT_NAME)
    version = DocumentVersion.objects.create(
        document=document,
        number=1,
        storage_key=FILE_KEY,
        size=size,
        content_type="application/octet-stream",
        sha256=sha256,
        uploaded_by=user,
        preview_status=PreviewStatus.NONE,
    )
    Document.objects.filter(pk=document.pk).update(current_version=version)
    return document.pk, folder.pk


def cleanup_rows(folder_id: int) -> None:
    from documents.models import Document, DocumentVersion

    DocumentVersion.objects.filter(document__folder_id=folder_id).delete()
    Document.objects.filter(folder_id=folder_id).delete()


# --- Run ------------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    if shutil.which("nginx") is None:
        print("nginx is not installed: apt-get install -y nginx-light", file=sys.stderr)
        return 2
    started = time.monotonic()
    size = args.size_mb << 20
    tmp = Path(tempfile.mkdtemp(prefix="portal-transfer-", dir=args.tmp_dir))
    media, upload_tmp = tmp / "media", tmp / "upload-tmp"
    for folder in (media, upload_tmp, tmp / "put", tmp / "put-tmp", tmp / "static"):
        folder.mkdir(parents=True)
    env = common.portal_env(
        args.database_url,
        tmp / "var",
        PORTAL_MEDIA_ROOT=str(media),
        PORTAL_X_ACCEL_REDIRECT_PREFIX="/protected/",
        PORTAL_UPLOAD_TEMP_DIR=str(upload_tmp),
        PORTAL_MAX_UPLOAD_BYTES=str(2 * size + (1 << 20)),
    )
    processes: list[subprocess.Popen[bytes]] = []
    folder_id = 0
    try:
        common.ensure_database(args.database_url)
        common.manage(env, "migrate", "-v0")
        os.environ.update(env)
        import django

        django.setup()
        t0 = time.monotonic()
        sha256 = make_file(media / FILE_KEY, size)
        print(f"wrote a {size / MB:,.0f} MB file in {time.monotonic() - t0:.1f} s ({tmp})")
        print("load average (1/5/15 min) at the start: " + "/".join(f"{x:.1f}" for x in os.getloadavg()))
        document_id, folder_id = fixture(size, sha256)

        web_port, nginx_port = common.free_port(), common.free_port()
        nginx = common.start_nginx(
            tmp, nginx_config(tmp=tmp, media=media, nginx_port=nginx_port, web_port=web_port)
        )
        processes.append(nginx)
        with common.gunicorn(
            env, port=web_port, workers=args.workers, timeout=600, log=tmp / "gunicorn.log"
        ) as web:
            common.wait_for_http(f"http://127.0.0.1:{nginx_port}/accounts/login/", process=nginx)
            session = common.login(f"http://127.0.0.1:{nginx_port}", EMAIL, PASSWORD)
            cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
            csrf = session.cookies.get("csrftoken") or ""
            for _ in range(4 * args.workers):  # every worker warm before memory is compared
                session.get(
                    f"http://127.0.0.1:{nginx_port}/documents/{document_id}/", timeout=60
                ).raise_for_status()
            sampler = MemorySampler(web.pid)
            try:
                phases = measure(
                    args,
                    sampler,
                    nginx_port,
                    web_port,
                    size,
                    document_id,
                    folder_id,
                    media / FILE_KEY,
                    cookies,
                    csrf,
                )
            finally:
                sampler.close()
            hwm = {pid: common.memory_kb(pid)[1] for pid in [web.pid, *common.children(web.pid)]}
        print_report(phases, hwm, args)
        print("load average (1/5/15 min) at the end: " + "/".join(f"{x:.1f}" for x in os.getloadavg()))
    finally:
        for process in processes:
            common.stop(process)
        if folder_id:
            cleanup_rows(folder_id)
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"removed {tmp}")
    print(f"total run time {time.monotonic() - started:.0f} s")
    return 0


def measure(
    args: argparse.Namespace,
    sampler: MemorySampler,
    port: int,
    web_port: int,
    size: int,
    document_id: int,
    folder_id: int,
    source: Path,
    cookies: str,
    csrf: str,
) -> dict[str, Phase]:
    auth = {"Cookie": cookies}
    phases = {
        name: Phase(name)
        for name in (
            "portal download",
            "nginx download",
            "portal upload",
            "portal upload, no nginx",
            "nginx upload (PUT)",
        )
    }

    def timed(phase: Phase, action: Any) -> None:
        before = max(sampler.current().values())
        phase.rss_before_kb = max(phase.rss_before_kb, before)
        sampler.reset()
        outcome = action()
        seconds, first_byte = outcome if isinstance(outcome, tuple) else (outcome, None)
        if first_byte is not None:
            phase.first_byte.append(first_byte)
        phase.rss_peak_kb = max(phase.rss_peak_kb, sampler.peak_kb)
        phase.seconds.append(seconds)
        phase.nbytes = size
        print(f"  {phase.name:<24} {size / MB / seconds:8.0f} MB/s  ({seconds:.2f} s)", flush=True)

    for run in range(args.runs):
        order = [("portal", True), ("nginx", False)] if run % 2 == 0 else [("nginx", False), ("portal", True)]
        for _name, through_portal in order:
            if through_portal:
                timed(
                    phases["portal download"],
                    lambda: download(port, f"/documents/{document_id}/download/", auth, size),
                )
            else:
                timed(phases["nginx download"], lambda: download(port, f"/direct/{FILE_KEY}", {}, size))
    upload_headers = {**auth, "X-CSRFToken": csrf, "X-File-Name": quote(UPLOAD_NAME)}

    def portal_upload(target_port: int) -> float:
        seconds, status, answer = upload(
            target_port, "POST", f"/documents/folders/{folder_id}/upload/", source, upload_headers
        )
        if status != 201:
            raise RuntimeError(f"portal upload: HTTP {status} {answer[:300]!r}")
        return seconds

    def nginx_upload(run: int) -> float:
        seconds, status, answer = upload(port, "PUT", f"/put/upload-{run}.bin", source, {})
        if status not in (201, 204):
            raise RuntimeError(f"nginx PUT: HTTP {status} {answer[:300]!r}")
        return seconds

    for run in range(args.upload_runs):
        timed(phases["portal upload"], functools.partial(portal_upload, port))
        # The same straight to gunicorn: tells nginx's share of the upload time from Django's.
        timed(phases["portal upload, no nginx"], functools.partial(portal_upload, web_port))
        timed(phases["nginx upload (PUT)"], functools.partial(nginx_upload, run))
    return phases


def print_report(phases: dict[str, Phase], hwm: dict[int, int], args: argparse.Namespace) -> None:
    table = common.Table(
        ["transfer", "runs", "MB/s each", "median MB/s", "first byte ms", "web RSS before", "web RSS peak"]
    )
    for phase in phases.values():
        table.add(
            phase.name,
            len(phase.seconds),
            " ".join(f"{r:.0f}" for r in phase.rates()),
            f"{phase.median():.0f}",
            f"{statistics.median(phase.first_byte) * 1000:.1f}" if phase.first_byte else "-",
            f"{phase.rss_before_kb / 1024:.0f} MiB",
            f"{phase.rss_peak_kb / 1024:.0f} MiB",
        )
    print()
    print(table.render())
    download_ratio = phases["portal download"].median() / phases["nginx download"].median()
    upload_ratio = phases["portal upload"].median() / phases["nginx upload (PUT)"].median()
    growth = {
        p.name: (p.rss_peak_kb - p.rss_before_kb) / 1024
        for p in phases.values()
        if p.name.startswith("portal")
    }
    print()
    print(
        f"download: portal / nginx = {download_ratio:.3f} (target >= {DOWNLOAD_TARGET}) "
        f"{'ok' if download_ratio >= DOWNLOAD_TARGET else 'BELOW TARGET'}"
    )
    direct_ratio = phases["portal upload, no nginx"].median() / phases["nginx upload (PUT)"].median()
    print(
        f"upload:   portal / nginx PUT = {upload_ratio:.3f} (target >= {UPLOAD_TARGET}) "
        f"{'ok' if upload_ratio >= UPLOAD_TARGET else 'BELOW TARGET'} "
        f"(straight to gunicorn: {direct_ratio:.3f})"
    )
    master, *workers = hwm.values()
    print(
        f"web processes (gunicorn master + {args.workers} sync workers), RSS growth during the transfer "
        f"of {phases['portal download'].nbytes / MB:,.0f} MB: "
        + ", ".join(f"{name} {kb:+.0f} MiB" for name, kb in growth.items())
    )
    print(
        f"peak RSS (VmHWM): master {master / 1024:.0f} MiB, workers "
        + ", ".join(f"{kb / 1024:.0f}" for kb in workers)
        + " MiB"
    )


if __name__ == "__main__":
    sys.exit(main())
