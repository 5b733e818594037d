"""What the integration tests share: an SMTP sink, real Celery workers, a private redis-server,
and waiting helpers.

A worker is a subprocess (`python -c ... worker`, the same as `celery -A portal worker`) in its
own process group, configured through PORTAL_* environment variables like production, reading
the test database and sending to the sink on loopback. The test process publishes for real
(not eagerly) with `celery_publishing_to`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import kombu.pools
import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import connection
from django.urls import reverse
from redis.backoff import NoBackoff
from redis.retry import Retry

from portal.celery import app as celery_app

BASE_DIR = Path(settings.BASE_DIR)
WAIT_SECONDS = 30.0

Received = tuple[list[str], EmailMessage]
VAR_DIR_PREFIX = "celery-worker-var-"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def accepts(port: int) -> bool:
    """Whether something listens on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Server:
    """A web server the test started (runserver or gunicorn), with its output in a file."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def url(self, name: str, *args: object) -> str:
        return self.base_url + reverse(name, args=args)


@contextmanager
def web_server(command: list[str], *, port: int, env: dict[str, str], name: str) -> Iterator[Server]:
    """Run `command` (serving on 127.0.0.1:`port`) in its own process group, its output in a log
    file; fail the test when it does not start within 30 s, stop it (TERM, then KILL) after."""
    log_file = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        command, cwd=BASE_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    log_file.close()
    server = Server(process=process, base_url=f"http://127.0.0.1:{port}", log_path=Path(log_file.name))
    try:
        if not wait_for(lambda: accepts(port) or not server.alive(), 30):
            pytest.fail(f"{name} did not start\n{server.log()}")
        if not server.alive():
            pytest.fail(f"{name} exited on start\n{server.log()}")
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        server.log_path.unlink(missing_ok=True)


def worker_database_url() -> str:
    """The test database, as a PORTAL_DATABASE_URL a worker can use."""
    db = connection.settings_dict
    assert db["ENGINE"] == "django.db.backends.postgresql", "the worker tests need PostgreSQL"
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{db['NAME']}"


# --- SMTP ---------------------------------------------------------------------------------------


@dataclass
class SmtpSink:
    """An aiosmtpd handler that keeps every message it accepts.

    A message counts as accepted (and is kept) only when handle_DATA returns its "250": that is
    the moment a real server takes responsibility for it. `hold_next()` makes the next message
    wait before that reply until `release()`: the client is then inside `send`, with the whole
    message transmitted and no answer yet. If the client disconnects meanwhile (killed),
    aiosmtpd cancels the handler: the message is recorded in `dropped`, never in `messages`.
    """

    host: str = "127.0.0.1"
    port: int = 0
    hold_timeout: float = 30.0
    messages: list[Received] = field(default_factory=list)
    dropped: list[Received] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    _to_hold: int = 0
    _released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        item = ([str(r) for r in envelope.rcpt_tos], message)
        with self._lock:
            hold = self._to_hold > 0
            if hold:
                self._to_hold -= 1
        if hold:
            self.holding.set()
            deadline = time.monotonic() + self.hold_timeout
            try:
                while not self._released.is_set() and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
            except asyncio.CancelledError:  # the client went away before our reply
                with self._lock:
                    self.dropped.append(item)
                raise
            if server.transport is None or server.transport.is_closing():
                with self._lock:
                    self.dropped.append(item)
                return "421 Connection lost before the message was accepted"
        with self._lock:
            self.messages.append(item)
        return "250 Message accepted for delivery"

    def hold_next(self) -> None:
        """Hold the reply to the next message until release()."""
        with self._lock:
            self._to_hold = 1
        self.holding.clear()
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def received_by(self, address: str) -> list[Received]:
        return [m for m in self.received() if address in m[0]]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.dropped.clear()
            self._to_hold = 0
        self._released.set()
        self.holding.clear()


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.port = port
    try:
        yield sink
    finally:
        sink.release()
        controller.stop()


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


# --- A private redis-server ----------------------------------------------------------------------


REDIS_SERVER = shutil.which("redis-server")


class RedisServer:
    """A redis-server of our own on a free port, without persistence, that a test may stop and
    start again on the same port (the machine's Redis on 6379 is never touched)."""

    def __init__(self) -> None:
        assert REDIS_SERVER is not None, "redis-server is not installed"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        # No retries: redis-py's default retries a refused connection with backoff for seconds.
        return redis.Redis(
            host="127.0.0.1", port=self.port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
        )

    def ping(self) -> bool:
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        assert self.process is None, "already running"
        assert REDIS_SERVER is not None
        command = [
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(self.ping, 10.0, interval=0.05):
            self.stop()
            pytest.fail(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None
        assert not self.ping(), "redis-server still answers after stop"


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- Celery ---------------------------------------------------------------------------------------


def reset_celery_connections() -> None:
    """Drop the app's cached connection and producer pools, so the next publish
    connects to whatever `broker_url` says now."""
    app: Any = celery_app
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    if app.amqp._producer_pool is not None:
        app.amqp._producer_pool.force_close_all()
        app.amqp._producer_pool = None
    # The producer pool is kept in kombu's registry too, per broker URL: a closed one would come
    # back for the same URL ("Acquire on closed pool").
    kombu.pools.reset()


@contextmanager
def celery_publishing_to(broker_url: str, *, visibility_timeout: int = 3600) -> Iterator[None]:
    """The test process publishes to `broker_url`, for real (not eagerly)."""
    conf = celery_app.conf
    saved: dict[str, Any] = {
        "broker_url": conf.broker_url,
        "broker_transport_options": conf.broker_transport_options,
        "task_always_eager": conf.task_always_eager,
    }
    conf.update(
        broker_url=broker_url,
        broker_transport_options={"visibility_timeout": visibility_timeout},
        task_always_eager=False,
    )
    reset_celery_connections()
    with celery_app.connection_for_write() as conn:
        wanted = urlsplit(broker_url)
        where = (conn.hostname, int(conn.port or 0), str(conn.virtual_host or "0").strip("/"))
        assert where == (wanted.hostname, wanted.port, wanted.path.strip("/") or "0"), conn.as_uri()
    try:
        yield
    finally:
        conf.update(saved)
        reset_celery_connections()


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path
    name: str
    var_dir: Path | None = None  # PORTAL_VAR_DIR, when worker_env made it

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def alive(self) -> bool:
        """Running; an exited worker is not reaped here (see _exited)."""
        if self.process.returncode is not None:
            return False
        return os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None

    def describe(self) -> str:
        state = "running" if self.alive else "exited"
        return f"--- worker {self.name} ({state}) ---\n{self.log()}"

    def wait_ready(self, timeout: float = WAIT_SECONDS) -> None:
        if not wait_for(lambda: " ready." in self.log() or not self.alive, timeout):
            pytest.fail(f"the worker did not start within {timeout:.0f} s\n{self.describe()}")
        if not self.alive:
            pytest.fail(f"the worker exited on start\n{self.describe()}")

    def succeeded(self, task_id: str) -> bool:
        return f"[{task_id}] succeeded" in self.log()

    def _exited(self, timeout: float) -> bool:
        """Wait for the worker to exit without reaping it: while it is an unreaped zombie its
        process group id cannot be reused, so signalling the group stays safe."""
        return wait_for(lambda: not self.alive, timeout, interval=0.05)

    def kill(self) -> None:
        """SIGKILL the worker and whatever it started (embedded beat): no shutdown, no acks."""
        if self.process.returncode is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self._exited(10)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """A warm shutdown (SIGTERM to the group), then SIGKILL for anything left in it."""
        if self.process.returncode is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self._exited(15)
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def worker_env(
    *, database_url: str, redis_url: str, sink: SmtpSink, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            # The development key and sealing files: production (debug off) refuses them.
            "PORTAL_DEBUG": "true",
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_DB_CONN_MAX_AGE": "0",
            "PORTAL_REDIS_URL": redis_url,
            "PORTAL_EMAIL_HOST": sink.host,
            "PORTAL_EMAIL_PORT": str(sink.port),
            "PORTAL_EMAIL_TIMEOUT": "5",
            "PORTAL_BASE_URL": "http://portal.test",
            "PORTAL_VAR_DIR": tempfile.mkdtemp(prefix=VAR_DIR_PREFIX),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def start_worker(*, env: dict[str, str], name: str, beat: bool = False) -> Worker:
    """A solo worker (one task at a time, prefetch 1) on the `celery` queue; with `beat`, the
    beat scheduler embedded (-B). The log goes to a temporary file."""
    log_file = tempfile.NamedTemporaryFile(prefix=f"celery-{name}-", suffix=".log", delete=False)  # noqa: SIM115
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "--loglevel=info",
        "--concurrency=1",
        "--pool=solo",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-Q",
        "celery",
        "-n",
        f"{name}-{os.getpid()}@%h",
    ]
    if beat:
        command.append("-B")
    process = subprocess.Popen(
        command, cwd=BASE_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    log_file.close()
    var_dir = env.get("PORTAL_VAR_DIR", "")
    made = Path(var_dir).name.startswith(VAR_DIR_PREFIX)
    return Worker(
        process=process, log_path=Path(log_file.name), name=name, var_dir=Path(var_dir) if made else None
    )


@contextmanager
def workers() -> Iterator[list[Worker]]:
    """Collects the workers a test starts; stops them (and removes their logs) at the end."""
    started: list[Worker] = []
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()
            worker.log_path.unlink(missing_ok=True)
            if worker.var_dir is not None:
                shutil.rmtree(worker.var_dir, ignore_errors=True)


def wait_for_mail(
    sink: SmtpSink, workers: list[Worker], count: int = 1, timeout: float = WAIT_SECONDS
) -> list[Received]:
    if not wait_for(lambda: len(sink.received()) >= count, timeout):
        logs = "\n".join(w.describe() for w in workers)
        pytest.fail(f"{len(sink.received())} of {count} emails within {timeout:.0f} s.\n{logs}")
    return sink.received()
