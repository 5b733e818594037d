"""What both benchmarks share: the bench database, manage.py, gunicorn, logins, memory, percentiles.

Everything runs on this machine and talks to loopback only.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"
# Files of the bench database (the shared preview thumbnail) live here, apart from the dev data.
DEFAULT_VAR_DIR = ROOT / "var" / "bench"


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database of `url` if it does not exist; True if it was created."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
        return True


def portal_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for manage.py and gunicorn: the bench database, quiet logs.
    Makes the folders under `var_dir` the portal expects: static files (none are collected) and
    the filesystem Celery queue an upload's preview task is sent to (no worker takes it here)."""
    for folder in ("static", "celery/queue", "celery/processed", "celery/control"):
        (var_dir / folder).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        {
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_VAR_DIR": str(var_dir),
            # On: the bench runs on the development key, console email and sealing files, which
            # production (debug off) refuses to start with. DEBUG only adds Django's query log.
            "PORTAL_DEBUG": "true",
            "PORTAL_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def production_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """portal_env() with PORTAL_DEBUG off, i.e. production settings: no query log, no debug
    context, as a deployment runs. Production refuses to start on development values
    (portal/production.py), so this sets what it asks for and nothing more: a random secret key
    (sessions last one run), an SMTP host (127.0.0.1:9, which nothing here sends to) and a
    throwaway self-signed sealing certificate under `var_dir` (deploy/check_deploy.py's; the page
    benchmark seals nothing). No S3 (documents stay on the filesystem) and no BankID, as
    production allows."""
    import secrets

    from deploy.check_deploy import sealing_files

    env = portal_env(database_url, var_dir)
    env.pop("PORTAL_DEBUG", None)
    env.update(sealing_files(var_dir / "bench-seal", common_name="Partnerportalen bench (never seals)"))
    env.update(
        {
            "PORTAL_SECRET_KEY": secrets.token_urlsafe(50),
            "PORTAL_EMAIL_HOST": "127.0.0.1",
            "PORTAL_EMAIL_PORT": "9",
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, quiet: bool = False) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_http(url: str, *, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} before answering")
        try:
            requests.get(url, timeout=5, allow_redirects=False)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str],
    *,
    port: int,
    workers: int,
    timeout: int = 60,
    log: Path | None = None,
    threads: int = 0,
    startup: float = 90.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn serving the portal on 127.0.0.1:`port`, stopped on exit: sync workers, or with
    `threads` gthread workers of that many threads each (as docker-compose.yml runs it). Waits up
    to `startup` seconds for the first answer (four workers booting on a busy machine take 30)."""
    argv = [
        PYTHON,
        "-m",
        "gunicorn",
        "portal.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread" if threads else "sync",
        # gthread keeps connections open longer than nginx does (deploy/nginx.conf), as in compose.
        *(["--threads", str(threads), "--keep-alive", "75"] if threads else []),
        "--timeout",
        str(timeout),
        "--error-logfile",
        str(log) if log else "-",
        "--log-level",
        "warning",
        # Not the control socket in ~/.gunicorn, which two gunicorns at once would share.
        "--no-control-socket",
    ]
    process = subprocess.Popen(argv, cwd=ROOT, env=env, process_group=0)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/accounts/login/", timeout=startup, process=process)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], *, grace: float = 15.0) -> None:
    """SIGTERM the process (and its group, which it leads), then SIGKILL what is left."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def children(pid: int) -> list[int]:
    """The child processes of `pid` (gunicorn's workers), from /proc."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            found += [int(p) for p in text.split()]
    return found


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in kB; (0, 0) if it is gone."""
    values = {"VmRSS": 0, "VmHWM": 0}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _sep, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def nginx_config(*, tmp: Path, media: Path, nginx_port: int, web_port: int, extra_locations: str = "") -> str:
    """deploy/nginx.conf inside an http block, its upstream, listen and alias lines pointed at
    loopback and the temporary folders under `tmp`; `extra_locations` go into its server block."""
    server = (ROOT / "deploy" / "nginx.conf").read_text()
    replacements = {
        "server web:8000;": f"server 127.0.0.1:{web_port};",
        "listen 80 default_server;": f"listen 127.0.0.1:{nginx_port};",
        "alias /srv/media/;": f"alias {media}/;",
        "alias /srv/static/;": f"alias {tmp}/static/;",
    }
    for old, new in replacements.items():
        if old not in server:
            raise RuntimeError(f"deploy/nginx.conf no longer has {old!r}: update bench/common.py")
        server = server.replace(old, new)
    if extra_locations:
        end = server.rstrip().rfind("}")
        server = server[:end] + extra_locations + server[end:]
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {tmp}/client-body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{server}
}}
"""


def start_nginx(tmp: Path, config: str) -> subprocess.Popen[bytes]:
    """nginx in the foreground with `config` (written to `tmp`/nginx.conf); stop it with stop()."""
    path = tmp / "nginx.conf"
    path.write_text(config)
    return subprocess.Popen(["nginx", "-p", str(tmp), "-c", str(path)], process_group=0)


_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def login(base_url: str, email: str, password: str) -> requests.Session:
    """A session logged in through the login form, as a browser does it."""
    session = requests.Session()
    page = session.get(f"{base_url}/accounts/login/", timeout=30)
    page.raise_for_status()
    match = _CSRF_INPUT.search(page.text)
    if match is None:
        raise RuntimeError("no CSRF token on the login page")
    answer = session.post(
        f"{base_url}/accounts/login/",
        data={"username": email, "password": password, "csrfmiddlewaretoken": match.group(1)},
        headers={"Referer": f"{base_url}/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302 or "sessionid" not in session.cookies:
        raise RuntimeError(f"login of {email} failed: HTTP {answer.status_code}")
    return session


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (0 < fraction <= 1) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(fraction * len(ordered) + 0.999999)))
    return ordered[rank - 1]


@dataclass
class Table:
    """A plain text table, printed with aligned columns."""

    headers: Sequence[str]

    def __post_init__(self) -> None:
        self.rows: list[list[str]] = []

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])

    def render(self) -> str:
        widths = [max([len(h), *(len(r[i]) for r in self.rows)]) for i, h in enumerate(self.headers)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(self.headers, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        for row in self.rows:
            lines.append(
                "  ".join(
                    (c.ljust(w) if i == 0 else c.rjust(w))
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
            )
        return "\n".join(lines)
