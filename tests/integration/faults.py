"""What the fault tests share: a private PostgreSQL cluster a test may stop and start (the
machine's on 5432 is never touched), a small tmpfs to fill, a production-mode gunicorn (gthread,
as docker-compose.yml runs it) and logged-in HTTP sessions against it."""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import requests

from deploy.check_deploy import sealing_files
from tests.integration import harness

# --- A private PostgreSQL ------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The newest installed server's binaries (Debian's layout, as `make services` uses)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        pytest.fail("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return Path(found[-1]).parent


class PrivatePostgres:
    """A throwaway cluster in a temporary directory on a free port, trust auth on loopback. Run as
    the `postgres` user when we are root (the server refuses to run as root)."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="pg-faults-"))
        self.data = self.dir / "data"
        self.port = harness.free_port()
        self.running = False
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str, timeout: float = 60) -> str:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(args[:2])} failed:\n{done.stdout}\n{done.stderr}\n{self.log()}")
        return done.stdout

    def log(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session at once (rolling back what is open), as a restart does."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")
        self.running = False

    def createdb(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        if self.running:
            with suppress(BaseException):  # cleanup goes on whatever happened
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


# --- A small filesystem to fill -----------------------------------------------------------------


@contextmanager
def tmpfs(size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "4m") on a temporary directory, unmounted at the end."""
    folder = Path(tempfile.mkdtemp(prefix="tmpfs-faults-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.fail(f"could not mount a tmpfs (these tests run as root): {mounted.stderr}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def fill(folder: Path, *, leave: int) -> Path:
    """Fill `folder`'s filesystem until `leave` bytes or fewer are free; returns the filler file."""
    filler = folder / "filler.bin"
    free = shutil.disk_usage(folder).free
    with filler.open("wb") as out:
        out.write(b"\0" * max(free - leave, 0))
    assert shutil.disk_usage(folder).free <= leave
    return filler


# --- The web server -----------------------------------------------------------------------------


def production_env(*, database_url: str, media_root: Path, var_dir: Path, **extra: str) -> dict[str, str]:
    """PORTAL_* of a production process (debug off, so errors get the portal's own pages) that
    passes portal/production.py: its own key, an SMTP host and sealing files that are not the
    development ones. No Redis: cache in process, Celery's queue in files nobody reads."""
    for folder in ("celery/queue", "celery/processed", "celery/control", "static"):
        (var_dir / folder).mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PORTAL_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_DEBUG": "false",
            "PORTAL_SECRET_KEY": secrets.token_urlsafe(50),
            "PORTAL_EMAIL_HOST": "127.0.0.1",
            "PORTAL_EMAIL_PORT": str(harness.free_port()),
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_MEDIA_ROOT": str(media_root),
            "PORTAL_VAR_DIR": str(var_dir),
            "PORTAL_ALLOWED_HOSTS": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            **sealing_files(var_dir / "seal", common_name="Fault tests seal"),
        }
    )
    env.update(extra)
    return env


def fault_world(env: dict[str, str], command: str) -> dict[str, Any]:
    """Run tests/integration/fault_world.py's `command` with the server's environment."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.fault_world", command],
        cwd=harness.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        pytest.fail(f"fault_world {command} failed:\n{done.stdout}\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@contextmanager
def gunicorn(env: dict[str, str], *, threads: int = 8) -> Iterator[harness.Server]:
    """One gthread worker, so every request lands in the same process."""
    port = harness.free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "portal.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        "60",
    ]
    with harness.web_server(command, port=port, env=env, name="gunicorn-faults") as server:
        yield server


def logged_in(server: harness.Server, email: str, password: str) -> requests.Session:
    """A requests session logged in through the login page, as a browser is."""
    session = requests.Session()
    login_url = server.url("login")
    page = session.get(login_url, timeout=30)
    assert page.status_code == 200, page.text[:500]
    answer = session.post(
        login_url,
        data={"username": email, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text[:1000]
    return session


def csrf(session: requests.Session) -> str:
    return str(session.cookies["csrftoken"])


UNAVAILABLE_TITLES = ("Briefly unavailable", "Tillfälligt otillgänglig")


def is_unavailable_page(response: requests.Response) -> bool:
    """The portal's 503 for an unreachable database: its own page with a retry hint."""
    return (
        response.status_code == 503
        and response.headers.get("Retry-After") == "5"
        and any(title in response.text for title in UNAVAILABLE_TITLES)
        and "Traceback" not in response.text
    )
