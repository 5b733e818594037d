"""A real Celery worker (a subprocess) against Redis, sending through a real SMTP server.

The test process publishes to Redis database 15; the worker consumes from it, reads the
test database and sends to an aiosmtpd server on loopback. Nothing here is eager.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
import redis
from django.db import transaction

from customers.models import Collaboration, CustomerMembership
from customers.services import NewCustomerUser, customer_create
from partners.models import PartnerMembership, PartnerRole
from portal.models import OutboxMessage
from portal.tasks import run_outbox
from tests.factories import CollaborationFactory, CustomerMembershipFactory, PartnerMembershipFactory
from tests.integration import harness
from tests.integration.harness import SmtpSink, Worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="module")
def smtp_sink() -> Iterator[SmtpSink]:
    with harness.smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def redis_db15() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="module")
def celery_to_redis15(redis_db15: redis.Redis) -> Iterator[None]:
    """The test process publishes to Redis database 15, for real (not eagerly)."""
    with harness.celery_publishing_to(REDIS_URL, visibility_timeout=3600):
        yield


@pytest.fixture(scope="module")
def celery_worker(
    django_db_setup: None,
    django_db_blocker: Any,
    smtp_sink: SmtpSink,
    celery_to_redis15: None,
) -> Iterator[Worker]:
    with django_db_blocker.unblock():
        database_url = harness.worker_database_url()
    env = harness.worker_env(database_url=database_url, redis_url=REDIS_URL, sink=smtp_sink)
    with harness.workers() as started:
        worker = harness.start_worker(env=env, name="it")
        started.append(worker)
        yield worker


@pytest.fixture
def sink(smtp_sink: SmtpSink, celery_worker: Worker, redis_db15: redis.Redis) -> SmtpSink:
    smtp_sink.clear()
    return smtp_sink


def _wait_for_mail(sink: SmtpSink, worker: Worker, count: int = 1) -> list[tuple[list[str], EmailMessage]]:
    return harness.wait_for_mail(sink, [worker], count)


def test_customer_create_sends_welcome_through_real_worker(
    sink: SmtpSink, celery_worker: Worker, redis_db15: redis.Redis
) -> None:
    admin_membership: PartnerMembership = PartnerMembershipFactory.create(
        partner__name="Worker Byrå AB", role=PartnerRole.ADMIN
    )
    partner = admin_membership.partner

    with transaction.atomic():
        collaboration = customer_create(
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
    body = harness.text_body(message)
    assert "http://portal.test/accounts/set-password/" in body
    assert "Smtp Kund AB" in body

    membership = CustomerMembership.objects.get(
        customer=collaboration.customer, user__email="karin.kontakt@example.com"
    )
    assert membership.welcome_sent_at is not None
    assert membership.is_primary_contact


def test_same_welcome_message_run_twice_sends_one_email(
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

    message = OutboxMessage.objects.create(
        task="customers.tasks.send_customer_welcome", args=[membership.pk, collaboration.partner_id]
    )
    run_outbox.delay(message.pk)
    run_outbox.delay(message.pk)

    received = _wait_for_mail(sink, celery_worker)
    # The solo worker runs the second task right after the first: give it time to (not) send.
    assert harness.wait_for(lambda: redis_db15.llen("celery") == 0, 10.0), (
        "the second task was never consumed"
    )
    time.sleep(3)
    received = sink.received()
    assert len(received) == 1, [m["Subject"] for _rcpt, m in received]
    assert received[0][0] == ["dubbel@example.com"]
    membership.refresh_from_db()
    assert membership.welcome_sent_at is not None
