"""Fixtures of the real-worker tests: a private Redis (broker and cache, stoppable), an SMTP
sink on loopback, and workers started against the test database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration import harness
from tests.integration.harness import RedisServer, SmtpSink, Worker

VISIBILITY = 4  # PORTAL_CELERY_VISIBILITY_TIMEOUT of the test process (redelivery after a worker dies)


@pytest.fixture(scope="module")
def private_redis() -> Iterator[RedisServer]:
    with harness.redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with harness.smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def publishing(private_redis: RedisServer) -> Iterator[None]:
    with harness.celery_publishing_to(private_redis.url(), visibility_timeout=VISIBILITY):
        yield


@pytest.fixture(scope="module")
def database_url(django_db_setup: None, django_db_blocker: Any) -> str:
    with django_db_blocker.unblock():
        return harness.worker_database_url()


@pytest.fixture
def broker(private_redis: RedisServer, publishing: None, settings: Any) -> RedisServer:
    """The private Redis, running and empty, as broker and cache of the test process too."""
    if private_redis.process is None:
        private_redis.start()
    with private_redis.client() as client:
        client.flushall()
    harness.reset_celery_connections()
    settings.REDIS_URL = private_redis.url()
    settings.CELERY_BROKER_URL = private_redis.url()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": private_redis.url()}
    }
    # The email task is published right at commit, without the batch window's countdown.
    settings.NOTIFICATION_BATCH_SECONDS = 0
    return private_redis


@pytest.fixture
def sink(smtp: SmtpSink) -> Iterator[SmtpSink]:
    smtp.clear()
    yield smtp
    smtp.clear()


@pytest.fixture
def running(sink: SmtpSink) -> Iterator[list[Worker]]:
    """The workers a test starts, stopped at its end (before the database is emptied)."""
    with harness.workers() as started:
        yield started
        sink.release()  # a worker still waiting in `send` can shut down


StartWorker = Callable[..., Worker]


@pytest.fixture
def start(
    running: list[Worker], database_url: str, broker: RedisServer, sink: SmtpSink, settings: Any
) -> StartWorker:
    """start(name, beat=False, wait=True, **PORTAL_ settings) -> a worker on the private Redis;
    with `wait`, once it is ready to consume."""

    def _start(name: str, *, beat: bool = False, wait: bool = True, **portal: int) -> Worker:
        # The worker's document storage is the test's (render_preview reads the uploaded file).
        extra = {"PORTAL_MEDIA_ROOT": str(settings.MEDIA_ROOT)}
        extra.update({f"PORTAL_{key.upper()}": str(value) for key, value in portal.items()})
        env = harness.worker_env(database_url=database_url, redis_url=broker.url(), sink=sink, extra=extra)
        worker = harness.start_worker(env=env, name=name, beat=beat)
        running.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    return _start
