"""Run the whole portal on one machine: Celery worker, Celery beat and runserver, and the BankID
simulator when PORTAL_BANKID_URL points at one (plain HTTP on loopback, as `make run` sets it).

This is what `make run` ends with. Each part is a child process of the same
Python interpreter, kept running by portal.supervisor: one that dies is logged
and started again; Ctrl-C or SIGTERM stops them all together.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.bankid.client import is_loopback_host
from portal.supervisor import Child, Supervisor

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "portal-demo"
DEMO_LOGINS: tuple[tuple[str, str], ...] = (
    ("anna@byra.example", "admin of Demo Byrå AB"),
    ("erik@byra.example", "staff of Demo Byrå AB, works with Kund AB"),
    ("karin@kund.example", "primary contact of Kund AB"),
    ("olle@kund.example", "customer user of Kund AB"),
    ("bo@bygg.example", "primary contact of Bygg AB"),
    ("per@annan.example", "admin of Annan Byrå AB (another tenant)"),
)

# Which demo user BankID's simulator identities log in (seed_demo gives them these numbers).
DEMO_BANKID: tuple[tuple[str, str], ...] = (
    ("karin@kund.example", "Karin Karlsson 19850312-2387"),
    ("bo@bygg.example", "Bo Bengtsson 19721105-6572"),
)

# How long children get to stop after SIGTERM before they are killed.
STOP_TIMEOUT_SECONDS = 15.0
# How long to wait for runserver to accept connections before printing the URL anyway.
READY_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.2


class Command(BaseCommand):
    help = (
        "Run the portal's embedded default on this machine: a Celery worker, Celery beat and "
        "Django's runserver, each as a child process, then print the URL and the demo logins. "
        "Stop with Ctrl-C (or SIGTERM): all children are stopped together. A child that exits "
        "unexpectedly is logged and started again, after a pause that grows (up to 30 s) while "
        "it keeps dying right after its start. Run `migrate` and `seed_demo` first (`make run` "
        "does)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address runserver binds to (127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port runserver listens on (8000).")

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        if not 0 < port < 65536:
            raise CommandError(f"--port must be between 1 and 65535, got {port}")
        self._check_port_free(host, port)
        self._prepare_folders()

        supervisor = Supervisor(
            self._children(host, port),
            cwd=settings.BASE_DIR,
            env=self._child_env(),
            stop_timeout=STOP_TIMEOUT_SECONDS,
        )
        stop_signal: list[int] = []

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop_signal.append(signum)

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            supervisor.start()
            self._wait(supervisor, host, port, stop_signal)
        finally:
            supervisor.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Stopped.")

    # --- Set-up ---------------------------------------------------------------

    def _children(self, host: str, port: int) -> list[Child]:
        python = sys.executable
        manage_py = str(Path(settings.BASE_DIR) / "manage.py")
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        runserver = [python, manage_py, "runserver", address, "--noreload"]
        if ":" in host:
            runserver.append("--ipv6")
        return [
            Child(
                "celery worker",
                [python, "-m", "celery", "-A", "portal", "worker", "--loglevel=info", "--concurrency=2"],
            ),
            Child("celery beat", [python, "-m", "celery", "-A", "portal", "beat", "--loglevel=info"]),
            Child("runserver", runserver),
            *self._bankid_simulator(python, manage_py),
        ]

    def _bankid_simulator(self, python: str, manage_py: str) -> list[Child]:
        """The simulator as a child when PORTAL_BANKID_URL is plain HTTP on loopback (only the
        simulator may be reached so) at a port nothing else listens on yet."""
        address = simulator_address()
        if address is None:
            return []
        host, port = address
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                logger.warning(
                    "%s:%s is in use: the BankID simulator already running there is used", host, port
                )
                return []
        command = [python, manage_py, "bankid_simulator", "--host", host, "--port", str(port)]
        return [Child("bankid simulator", command)]

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Children must use the settings this command runs with, even when given by --settings.
        env["DJANGO_SETTINGS_MODULE"] = settings.SETTINGS_MODULE
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def _prepare_folders(self) -> None:
        """Create the folders the worker and beat expect; kombu's filesystem transport does not."""
        folders: list[Path] = []
        if str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
            options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
            for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
                if options.get(key):
                    folders.append(Path(str(options[key])))
        schedule = getattr(settings, "CELERY_BEAT_SCHEDULE_FILENAME", "")
        if schedule:
            folders.append(Path(schedule).parent)
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)

    def _check_port_free(self, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # Same as runserver: a port in TIME_WAIT is fine, one in use is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise CommandError(
                        f"{host}:{port} is already in use; stop what is running there or pass --port."
                    ) from None
                raise CommandError(f"cannot listen on {host}:{port}: {exc}") from None

    # --- Running ----------------------------------------------------------------

    def _wait(self, supervisor: Supervisor, host: str, port: int, stop_signal: list[int]) -> None:
        """Keep the children running until a stop signal."""
        started = time.monotonic()
        announced = False
        while not stop_signal:
            supervisor.check()
            if not announced and (
                self._accepts_connections(host, port) or time.monotonic() - started > READY_TIMEOUT_SECONDS
            ):
                self._announce(host, port)
                announced = True
            time.sleep(POLL_SECONDS)
        logger.info("received %s, stopping", signal.Signals(stop_signal[0]).name)

    def _accepts_connections(self, host: str, port: int) -> bool:
        target = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)  # noqa: S104
        try:
            with socket.create_connection((target, port), timeout=0.2):
                return True
        except OSError:
            return False

    def _announce(self, host: str, port: int) -> None:
        shown_host = "127.0.0.1" if host == "0.0.0.0" else host  # noqa: S104
        if ":" in shown_host:
            shown_host = f"[{shown_host}]"
        url = f"http://{shown_host}:{port}/"
        width = max(len(email) for email, _ in DEMO_LOGINS)
        lines = [
            "",
            "=" * 72,
            f"  Partner portal is running: {url}",
            "",
            f"  Demo logins (password: {DEMO_PASSWORD})",
            *(f"    {email.ljust(width)}  {role}" for email, role in DEMO_LOGINS),
            "",
            *self._bankid_lines(),
            "  Celery worker and beat run beside it. Press Ctrl-C to stop everything.",
            "=" * 72,
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _bankid_lines(self) -> list[str]:
        address = simulator_address()
        if address is None:
            return []
        host, port = address
        width = max(len(email) for email, _ in DEMO_BANKID)
        return [
            f"  Log in with BankID: approve as a test identity at http://{host}:{port}/",
            *(f"    {email.ljust(width)}  {who}" for email, who in DEMO_BANKID),
            "",
        ]


def simulator_address() -> tuple[str, int] | None:
    """(host, port) of PORTAL_BANKID_URL when it is the simulator's: plain HTTP on loopback."""
    parts = urlsplit(settings.BANKID_URL or "")
    if parts.scheme != "http" or not parts.hostname or not is_loopback_host(parts.hostname):
        return None
    return parts.hostname, parts.port or 80
