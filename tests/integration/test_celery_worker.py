"""A real Celery worker (a subprocess) against Redis, sending through a real SMTP server.

The test process publishes to Redis database 15; the worker consumes from it, reads the
test database and sends to an aiosmtpd server on loopback. Nothing here is eager.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import connection, transaction

from customers.models import Collaboration, CustomerMembership
from customers.services import NewCustomerUser, documents_customer_create
from customers.tasks import send_customer_welcome
from partners.models import PartnerMembership, PartnerRole
from portal.celery import app as celery_app
from tests.factories import CollaborationFactory, CustomerMembershipFactory, PartnerMembershipFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REDIS_URL = "redis://127.0.0.1:6379/15"
BASE_DIR = Path(settings.BASE_DIR)
WAIT_SECONDS = 30.0


@dataclass
class SmtpSink:
    """An aiosmtpd handler that keeps every message it receives."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(([str(r) for r in envelope.rcpt_tos], message))
        return "250 Message accepted for delivery"

    def received(self) -> list[tuple[list[str], EmailMessage]]:
        with self._lock:
            return list(self.messages)

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _test_database_url() -> str:
    db = connection.settings_dict
    assert db["ENGINE"] == "django.db.backends.postgresql", "the worker test needs PostgreSQL"
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{db['NAME']}"


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.fixture(scope="module")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.port = port
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def redis_db15() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


def _reset_celery_connections() -> None:
    """Drop the app's cached connection and producer pools, so the next publish
    connects to whatever `broker_url` says now."""
    app: Any = celery_app
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    if app.amqp._producer_pool is not None:
        app.amqp._producer_pool.force_close_all()
        app.amqp._producer_pool = None


@pytest.fixture(scope="module")
def celery_to_redis15(redis_db15: redis.Redis) -> Iterator[None]:
    """The test process publishes to Redis database 15, for real (not eagerly)."""
    conf = celery_app.conf
    saved: dict[str, Any] = {
        "broker_url": conf.broker_url,
        "broker_transport_options": conf.broker_transport_options,
        "task_always_eager": conf.task_always_eager,
    }
    conf.update(
        broker_url=REDIS_URL, broker_transport_options={"visibility_timeout": 3600}, task_always_eager=False
    )
    _reset_celery_connections()
    with celery_app.connection_for_write() as conn:
        assert conn.as_uri().endswith("/15"), conn.as_uri()
    try:
        yield
    finally:
        conf.update(saved)
        _reset_celery_connections()


@pytest.fixture(scope="module")
def celery_worker(
    django_db_setup: None,
    django_db_blocker: Any,
    smtp_sink: SmtpSink,
    celery_to_redis15: None,
) -> Iterator[Worker]:
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_DB_CONN_MAX_AGE": "0",
            "PORTAL_REDIS_URL": REDIS_URL,
            "PORTAL_EMAIL_HOST": smtp_sink.host,
            "PORTAL_EMAIL_PORT": str(smtp_sink.port),
            "PORTAL_EMAIL_TIMEOUT": "5",
            "PORTAL_BASE_URL": "http://portal.test",
            "PORTAL_VAR_DIR": tempfile.mkdtemp(prefix="celery-worker-var-"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    log_file = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)  # noqa: SIM115
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
        f"it-{os.getpid()}@%h",
    ]
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    worker = Worker(process=process, log_path=Path(log_file.name))
    try:
        yield worker
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log_file.close()
        Path(log_file.name).unlink(missing_ok=True)


@pytest.fixture
def sink(smtp_sink: SmtpSink, celery_worker: Worker, redis_db15: redis.Redis) -> SmtpSink:
    smtp_sink.clear()
    return smtp_sink


def _wait_for_mail(sink: SmtpSink, worker: Worker, count: int = 1) -> list[tuple[list[str], EmailMessage]]:
    if not _wait_for(lambda: len(sink.received()) >= count, WAIT_SECONDS):
        alive = "running" if worker.process.poll() is None else f"exited {worker.process.returncode}"
        pytest.fail(f"no email within {WAIT_SECONDS:.0f} s (worker {alive}). Worker log:\n{worker.log()}")
    return sink.received()


def _text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def test_customer_create_sends_welcome_through_real_worker(
    sink: SmtpSink, celery_worker: Worker, redis_db15: redis.Redis
) -> None:
    admin_membership: PartnerMembership = PartnerMembershipFactory.create(
        partner__name="Worker Byrå AB", role=PartnerRole.ADMIN
    )
    partner = admin_membership.partner

    with transaction.atomic():
        collaboration = documents_customer_create(
            partner=partner,
            actor=admin_membership.user,
            name="Smtp Kund AB",
            org_number="556036-0793",
            primary_contact=NewCustomerUser(name="Karin Kontakt", email="Karin.Kontakt@Example.com"),
        )
        # Nothing is published before the commit.
        assert redis_db15.llen("celery") == 0
        assert sink.received() == []

    received = _wait_for_mail(sink, celery_worker)
    assert len(received) == 1
    recipients, message = received[0]
    assert recipients == ["karin.kontakt@example.com"]
    assert message["To"] == "karin.kontakt@example.com"
    # Python folds a long encoded subject onto a continuation line; the parser keeps its indent.
    subject = str(message["Subject"]).strip()
    assert subject in {
        "Worker Byrå AB delar dokument med dig i partnerportalen",
        "Worker Byrå AB shares documents with you in the partner portal",
    }
    body = _text_body(message)
    assert "http://portal.test/accounts/set-password/" in body
    assert "Smtp Kund AB" in body

    membership = CustomerMembership.objects.get(
        customer=collaboration.customer, user__email="karin.kontakt@example.com"
    )
    assert membership.welcome_sent_at is not None
    assert membership.is_primary_contact


def test_same_welcome_task_twice_sends_one_email(
    sink: SmtpSink, celery_worker: Worker, redis_db15: redis.Redis
) -> None:
    collaboration: Collaboration = CollaborationFactory.create(
        partner__name="Dubbel Byrå AB", customer__name="Dubbel Kund AB"
    )
    membership: CustomerMembership = CustomerMembershipFactory.create(
        customer=collaboration.customer,
        is_primary_contact=True,
        is_admin=True,
        user__email="dubbel@example.com",
    )

    send_customer_welcome.delay(membership.pk, collaboration.partner_id)
    send_customer_welcome.delay(membership.pk, collaboration.partner_id)

    received = _wait_for_mail(sink, celery_worker)
    # The solo worker runs the second task right after the first: give it time to (not) send.
    assert _wait_for(lambda: redis_db15.llen("celery") == 0, 10.0), "the second task was never consumed"
    time.sleep(3)
    received = sink.received()
    assert len(received) == 1, [m["Subject"] for _rcpt, m in received]
    assert received[0][0] == ["dubbel@example.com"]
    membership.refresh_from_db()
    assert membership.welcome_sent_at is not None
