"""Notification emails through real Celery workers, a private redis-server and an SMTP sink:
the broker down when the change is made, the same email task run several times at once, and
a worker killed in the middle of sending. Each time: exactly one email.

The redis-server is our own (a free port, no persistence), so a test can stop it and start it
again on the same port; the machine's Redis is not touched. The test process publishes to it
for real (not eagerly), like the web process does.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core import mail
from django.db import transaction

from customers.models import Collaboration
from documents import selectors, storage
from documents import services as documents
from documents.models import Audience, CustomerAccess, DocumentVersion, Folder
from notifications.models import EmailMode, Event, Notification
from notifications.services import notifications_add
from notifications.tasks import deliver_email
from partners.models import PartnerRole
from portal.models import User
from tests.factories import CollaborationFactory, CustomerMembershipFactory, PartnerMembershipFactory
from tests.integration import harness
from tests.integration.conftest import VISIBILITY, StartWorker
from tests.integration.harness import RedisServer, SmtpSink, Worker

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        harness.REDIS_SERVER is None,
        reason="redis-server is not installed (these tests start and stop a private one)",
    ),
]

# Seconds. Short, so that the sweeper and Redis's redelivery happen within the test.
SWEEP_AFTER = 2  # PORTAL_NOTIFICATION_SWEEP_AFTER_SECONDS
SWEEP_INTERVAL = 1  # PORTAL_NOTIFICATION_SWEEP_INTERVAL_SECONDS (the beat entry)
CLAIM_STALE = 3  # PORTAL_NOTIFICATION_CLAIM_STALE_SECONDS, in the sweeper test only
# How long to go on listening for a duplicate after the first email arrived.
DUPLICATE_WINDOW = 2.0
# Start-up of a worker with beat, and the time a sweep and its delivery take.
MARGIN = 10.0

CUSTOMER_EMAIL = "kund.notis@example.com"


@dataclass
class Scene:
    admin: User  # the partner's only account administrator: the uploader
    customer_user: User  # the one other person who can see the folder
    collaboration: Collaboration
    folder: Folder


@pytest.fixture
def scene(broker: RedisServer) -> Scene:
    membership = PartnerMembershipFactory.create(
        partner__name="Notis Byrå AB", role=PartnerRole.ADMIN, user__name="Anna Admin"
    )
    admin = membership.user
    collaboration = CollaborationFactory.create(partner=membership.partner, customer__name="Notis Kund AB")
    customer_user = CustomerMembershipFactory.create(
        customer=collaboration.customer, user__email=CUSTOMER_EMAIL, user__name="Karin Kund"
    ).user
    folder = documents.folder_create(
        collaboration=collaboration,
        actor=admin,
        name="Bokslut 2026",
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[customer_user.pk],
    )
    folder = Folder.objects.select_related("collaboration", "root").get(pk=folder.pk)
    # An upload by the admin notifies exactly one person: the customer user.
    assert set(selectors.folder_audience(folder)) == {admin, customer_user}
    # Sharing the folder told the customer user (folder_access) and published its email: gone,
    # so that the upload's notification is the only one.
    Notification.objects.all().delete()
    with broker.client() as client:
        client.flushall()
    return Scene(admin=admin, customer_user=customer_user, collaboration=collaboration, folder=folder)


def upload(scene: Scene, name: str = "Årsredovisning.pdf") -> DocumentVersion:
    return documents.document_upload(
        folder=scene.folder,
        actor=scene.admin,
        name=name,
        chunks=[b"%PDF-1.4\n" + b"x" * 500],
        by_customer=False,
    )


def the_notification(scene: Scene) -> Notification:
    notification = Notification.objects.get()
    assert notification.recipient_id == scene.customer_user.pk
    assert notification.event == Event.DOCUMENT_ADDED
    assert notification.email_mode == EmailMode.IMMEDIATELY
    return notification


def raised_in(error: BaseException) -> str:
    """The project's frames of the traceback, innermost last: where a failure came from."""
    frames = traceback.extract_tb(error.__traceback__)
    return " > ".join(
        f"{Path(f.filename).relative_to(harness.BASE_DIR)}:{f.lineno} {f.name}"
        for f in frames
        if f.filename.startswith(str(harness.BASE_DIR)) and "/.venv/" not in f.filename
    )


def assert_exactly_one_email(sink: SmtpSink, workers: list[Worker], *, within: float, name: str) -> None:
    """The email arrives within `within` seconds, and no second one in the DUPLICATE_WINDOW after."""
    harness.wait_for_mail(sink, workers, 1, timeout=within)
    time.sleep(DUPLICATE_WINDOW)
    received = sink.received()
    logs = "\n".join(w.describe() for w in workers)
    assert len(received) == 1, f"{len(received)} emails, expected exactly one: {received}\n{logs}"
    recipients, message = received[0]
    assert recipients == [CUSTOMER_EMAIL]
    assert name in harness.text_body(message)


def test_upload_while_the_broker_is_down_is_emailed_once_by_the_sweeper(
    broker: RedisServer, sink: SmtpSink, scene: Scene, start: StartWorker, caplog: pytest.LogCaptureFixture
) -> None:
    broker.stop()

    upload_error: BaseException | None = None
    with caplog.at_level(logging.WARNING, logger="portal.queue"):
        began = time.monotonic()
        try:
            upload(scene)  # must not raise: the change is made, the email is owed
        except Exception as error:  # recorded, asserted at the end, after the email part
            upload_error = error
        took = time.monotonic() - began
    assert took < 10, f"the upload waited {took:.1f} s for the broker"
    assert "could not send notifications.tasks.deliver_email" in caplog.text
    # Committed (fresh queries; the worker reads them from its own connection).
    version = DocumentVersion.objects.get(document__name="Årsredovisning.pdf")
    file_kept = storage.document_storage().exists(version.storage_key)
    notification = the_notification(scene)
    assert (notification.email_claim, notification.emailed_at) == ("", None)

    broker.start()  # the same port: the queue is empty, the email task was never published
    with broker.client() as client:
        assert client.llen("celery") == 0
    began = time.monotonic()
    worker = start(
        "sweeper",
        beat=True,
        notification_sweep_after_seconds=SWEEP_AFTER,
        notification_sweep_interval_seconds=SWEEP_INTERVAL,
    )
    # Due SWEEP_AFTER after the upload, found by the next sweep: ready + interval + margin.
    assert_exactly_one_email(
        sink, [worker], within=SWEEP_AFTER + SWEEP_INTERVAL + MARGIN, name="Årsredovisning.pdf"
    )
    logging.getLogger(__name__).info("swept and sent %.1f s after start", time.monotonic() - began)
    assert "re-sent 1 undelivered notification emails" in worker.log()
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    assert notification.email_claim  # the sweeper's task

    # The on-commit publishes (preview, emails) fail fast and are logged: the caller never sees an
    # error for a change that committed, and the stored file stays with its row.
    assert upload_error is None, f"document_upload raised {upload_error!r} ({raised_in(upload_error)})"
    assert file_kept, f"the stored file of the committed version {version.pk} is gone"


def test_notify_with_the_broker_down_does_not_block_once_per_recipient(
    broker: RedisServer, scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    """A change that tells two people, made while the broker is down: committed, both emails
    left to the sweeper, and the commit not held waiting for the broker (kombu would retry
    connecting for seconds per message: portal.queue.publish checks the connection once and gives
    up at once)."""
    people = [CustomerMembershipFactory.create(customer=scene.collaboration.customer).user for _ in range(2)]
    broker.stop()
    harness.reset_celery_connections()  # no pooled connection: every publish connects afresh
    with caplog.at_level(logging.WARNING, logger="portal.queue"):
        began = time.monotonic()
        with transaction.atomic():
            notifications_add(
                event=Event.DOCUMENT_ADDED, recipients=people, actor=scene.admin, collaboration=None
            )
        took = time.monotonic() - began
    assert Notification.objects.filter(recipient__in=people, emailed_at__isnull=True).count() == 2
    assert caplog.text.count("could not send notifications.tasks.deliver_email") == 1  # one try for both
    assert took < 3, f"notifications_add for 2 people with the broker down held the commit for {took:.1f} s"


def test_the_email_task_run_three_times_at_once_sends_one_email(
    broker: RedisServer, sink: SmtpSink, scene: Scene, start: StartWorker
) -> None:
    """Two workers. The upload's own task (T0) is held inside `send` (the sink has not answered)
    while two more tasks for the same notification run on the other worker: they find it
    claimed by T0 and stop. Then T0 is let through: one email. Then, the redelivery of the task
    that sent it (the same task id) and the task in-process: nothing more."""
    # The SMTP client waits up to 20 s for the held answer (the harness's default is 5).
    workers = [start(name, wait=False, email_timeout=20) for name in ("twice-a", "twice-b")]
    for worker in workers:
        worker.wait_ready()
    sink.hold_next()
    upload(scene)
    assert sink.holding.wait(harness.WAIT_SECONDS), "\n".join(w.describe() for w in workers)
    notification = the_notification(scene)
    first = notification.email_claim
    assert first and notification.emailed_at is None

    again = [deliver_email.delay(notification.pk).id for _ in range(2)]

    def ran(task_id: str) -> bool:
        return any(w.succeeded(task_id) for w in workers)

    assert harness.wait_for(lambda: all(ran(t) for t in again), harness.WAIT_SECONDS), "\n".join(
        w.describe() for w in workers
    )
    assert sink.received() == [], "a second task sent while the first one held the claim"
    notification.refresh_from_db()
    assert (notification.email_claim, notification.emailed_at) == (first, None)

    sink.release()
    assert_exactly_one_email(sink, workers, within=harness.WAIT_SECONDS, name="Årsredovisning.pdf")
    notification.refresh_from_db()
    assert notification.emailed_at is not None and notification.email_claim == first

    # The task that sent it, redelivered (same id): already emailed, nothing sent.
    deliver_email.apply_async((notification.pk,), task_id=first)
    assert harness.wait_for(lambda: sum(w.log().count(f"[{first}] succeeded") for w in workers) == 2, 10)
    # And run twice in the test process (its locmem backend): nothing.
    deliver_email.apply((notification.pk,))
    deliver_email.apply((notification.pk,))
    assert mail.outbox == []
    time.sleep(1)
    assert len(sink.received()) == 1


def kill_while_sending(sink: SmtpSink, worker: Worker, scene: Scene) -> tuple[Notification, float]:
    """Upload; the worker takes the task, claims the notification and sends; the sink holds its
    answer to the message; the worker is killed (SIGKILL) while it waits for that answer.
    Returns the notification (claimed by the dead task, not emailed) and when the hold began."""
    sink.hold_next()
    upload(scene)
    assert sink.holding.wait(harness.WAIT_SECONDS), worker.describe()
    held_at = time.time()
    worker.kill()
    # The connection closed before the sink's "250": aiosmtpd dropped the transaction.
    assert harness.wait_for(lambda: len(sink.dropped) == 1, 5)
    sink.release()
    assert sink.received() == []
    notification = the_notification(scene)
    assert notification.email_claim and notification.emailed_at is None
    return notification, held_at


# Why exactly once after a kill: the worker is killed while it waits for the reply to the end of
# the message (the sink holds it in handle_DATA, before returning "250"). When the connection
# closes, aiosmtpd cancels the handler: the server never took the message, so the first attempt
# delivered nothing, although it claimed the row. The row stays claimed by the dead task
# (email_claim = its id, emailed_at empty). Then exactly one later task sends it: the same task
# redelivered by Redis (acks_late: never acknowledged), which may take its own claim again, or a
# new task from the sweeper once the claim is stale; whichever sends first sets emailed_at and
# every later one stops at the claim query. (Had the kill come after the server's "250" and
# before emailed_at was written, the second send would be a duplicate: SMTP has no idempotency
# key, and no claim can close that window, only make it small. It is not what this test makes.)


def test_worker_killed_while_sending_redelivered_task_sends_once(
    broker: RedisServer, sink: SmtpSink, scene: Scene, start: StartWorker
) -> None:
    first = start("killed", celery_visibility_timeout=VISIBILITY)
    notification, held_at = kill_while_sending(sink, first, scene)
    task_id = notification.email_claim
    with broker.client() as client:  # the message is still in Redis, delivered and not acknowledged
        assert client.zcard("unacked_index") == 1

    # Redis gives the unacknowledged message back once it is older than the visibility timeout;
    # a worker looks at start-up (then only every 100 s), so start it after that.
    time.sleep(max(0.0, held_at + VISIBILITY + 0.5 - time.time()))
    began = time.monotonic()
    second = start("redelivery", celery_visibility_timeout=VISIBILITY)  # claims stale after 600 s
    assert_exactly_one_email(sink, [first, second], within=harness.WAIT_SECONDS, name="Årsredovisning.pdf")
    logging.getLogger(__name__).info("redelivered and sent %.1f s after start", time.monotonic() - began)
    assert second.succeeded(task_id), second.describe()
    notification.refresh_from_db()
    # The same task (its claim, not stale) carried on: keyed by task id.
    assert notification.email_claim == task_id
    assert notification.emailed_at is not None


def test_worker_killed_while_sending_sweeper_takes_over_the_stale_claim(
    broker: RedisServer, sink: SmtpSink, scene: Scene, start: StartWorker
) -> None:
    first = start("killed")  # visibility timeout two hours: Redis will not redeliver here
    notification, _held_at = kill_while_sending(sink, first, scene)
    task_id = notification.email_claim

    began = time.monotonic()
    second = start(
        "sweeper",
        beat=True,
        notification_sweep_after_seconds=SWEEP_AFTER,
        notification_sweep_interval_seconds=SWEEP_INTERVAL,
        notification_claim_stale_seconds=CLAIM_STALE,
    )
    assert_exactly_one_email(
        sink, [first, second], within=CLAIM_STALE + SWEEP_INTERVAL + MARGIN, name="Årsredovisning.pdf"
    )
    logging.getLogger(__name__).info("swept and sent %.1f s after start", time.monotonic() - began)
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    # A new task took over the dead one's stale claim.
    assert notification.email_claim and notification.email_claim != task_id
    assert not second.succeeded(task_id)
