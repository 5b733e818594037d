"""The outbox (portal.outbox): every kind of work that must happen is done exactly once, whether
the broker was down at commit, a worker died holding the claim, or the message ran twice."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone, translation

from billing import services as billing
from customers import services as customers
from customers.models import CustomerKind, CustomerMembership
from documents import services as documents
from documents import tasks as document_tasks
from documents.models import CustomerAccess, DocumentVersion, PreviewStatus
from partners import services as partners
from portal import outbox
from portal.celery import app as celery_app
from portal.models import OutboxMessage
from portal.tasks import run_outbox, sweep_outbox
from signing import services as signing
from signing import tasks as signing_tasks
from signing.models import Party
from signing.services import PartyInput
from tests.conftest import World
from tests.factories import CustomerAccountFactory, CustomerMembershipFactory
from tests.pdfs import blank_pdf

pytestmark = pytest.mark.django_db

# act() does the change; delivered() counts what its message did (emails sent, renders run).
Scenario = tuple[Callable[[], None], Callable[[], int]]


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _to(address: str, marker: str = "") -> int:
    return sum(1 for m in mail.outbox if m.to == [address] and marker in str(m.body))


def _folder(world: World) -> Any:
    return documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.READ,
    )


def _send_signing(world: World) -> Any:
    billing.signature_grant(partner=world.partner, amount=5, reason="test")
    version = documents.document_upload(
        folder=_folder(world), actor=world.admin, name="Avtal.pdf", chunks=[blank_pdf()], by_customer=False
    )
    return signing.signing_send(
        collaboration=world.collaboration,
        actor=world.staff,
        document=version.document,
        parties=[PartyInput("A", "a@example.com")],
        deadline=timezone.now() + dt.timedelta(days=7),
        language="en",
    )


def welcome(world: World, capture: Any, monkeypatch: Any) -> Scenario:
    membership = CustomerMembership.objects.get(user=world.primary)

    def act() -> None:
        customers.welcome_resend(membership=membership, actor=world.admin, partner=world.partner)

    return act, lambda: _to(world.primary.email)


def invitation(world: World, capture: Any, monkeypatch: Any) -> Scenario:
    customer = CustomerAccountFactory.create(kind=CustomerKind.SUBSCRIPTION)
    admin = CustomerMembershipFactory.create(customer=customer, is_admin=True, user__language="en").user

    def act() -> None:
        customers.customer_invite(
            partner=world.partner, actor=world.admin, org_number=customer.org_number, email=admin.email
        )

    return act, lambda: _to(admin.email, "/collaborations/invitations/t/")


def collaboration_ended(world: World, capture: Any, monkeypatch: Any) -> Scenario:
    def act() -> None:
        customers.collaboration_end(collaboration=world.collaboration, actor=world.admin)

    return act, lambda: _to(world.primary.email, f"/collaborations/{world.collaboration.pk}/")


def staff_invitation(world: World, capture: Any, monkeypatch: Any) -> Scenario:
    def act() -> None:
        partners.staff_invite(
            partner=world.partner, actor=world.admin, email="ny@example.com", name="Ny Person"
        )

    return act, lambda: _to("ny@example.com")


def quote_request(world: World, capture: Any, monkeypatch: Any) -> Scenario:
    def act() -> None:
        billing.quote_request(
            partner=world.partner, actor=world.admin, signatures_per_year=5000, message="Hej"
        )

    return act, lambda: _to(django_settings.SUPPORT_EMAIL)


def preview(world: World, capture: Any, monkeypatch: Any) -> Scenario:
    folder = _folder(world)
    renders: list[bool] = []
    real = document_tasks.render_thumbnail

    def counting(*args: Any, **kwargs: Any) -> bytes:
        renders.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(document_tasks, "render_thumbnail", counting)

    def act() -> None:
        documents.document_upload(
            folder=folder, actor=world.admin, name="Bokslut.pdf", chunks=[blank_pdf()], by_customer=False
        )

    def delivered() -> int:
        ready = DocumentVersion.objects.filter(preview_status=PreviewStatus.READY).exclude(preview_key="")
        assert ready.count() == (1 if renders else 0)
        return len(renders)

    return act, delivered


def signing_request(world: World, capture: Any, monkeypatch: Any) -> Scenario:
    holder: list[Any] = []

    def act() -> None:
        holder.append(_send_signing(world))

    return act, lambda: _to("a@example.com", "/sign/")


def signing_pages(world: World, capture: Any, monkeypatch: Any) -> Scenario:
    runs: list[int] = []
    real = signing_tasks.version_page_png

    def counting(version: Any, *, number: int, width: int) -> bytes | None:
        runs.append(number)
        return real(version, number=number, width=width)

    monkeypatch.setattr(signing_tasks, "version_page_png", counting)
    return (lambda: _send_signing(world)), lambda: len(runs)


def signing_reminder(world: World, capture: Any, monkeypatch: Any) -> Scenario:
    with capture(execute=True):
        request = _send_signing(world)
    before = _to("a@example.com", "/sign/")
    party = Party.objects.get(request=request)

    def act() -> None:
        signing.party_remind(party=Party.objects.get(pk=party.pk), actor=world.staff)

    return act, lambda: _to("a@example.com", "/sign/") - before


def signing_cancelled(world: World, capture: Any, monkeypatch: Any) -> Scenario:
    with capture(execute=True):
        _send_signing(world)
    before = _to("a@example.com")

    def act() -> None:
        customers.collaboration_end(collaboration=world.collaboration, actor=world.admin)

    return act, lambda: _to("a@example.com") - before


def signing_sealed(world: World, capture: Any, monkeypatch: Any) -> Scenario:
    from signing import devkeys

    keys = Path(tempfile.mkdtemp())
    for name, file in [("KEY", "seal-key.pem"), ("CERT", "seal-cert.pem"), ("CA", "seal-ca.pem")]:
        monkeypatch.setattr(django_settings, f"SIGNING_SEAL_{name}_FILE", keys / file)
    devkeys.ensure_dev_sealing_key()
    with capture(execute=True):
        request = _send_signing(world)
        party = Party.objects.get(request=request)
        signing.party_start_method(party=party)
    subjects = [str(m.subject) for m in mail.outbox if m.to == ["a@example.com"]]
    code = [c for subject in subjects for c in re.findall(r":\s*(\d{6})$", subject)][-1]
    # Signed outside capture: its commit, which would publish the seal, never comes.
    signing.party_act(party=Party.objects.get(pk=party.pk), action="sign", answer=code, ip="10.0.0.9")

    def act() -> None:
        signing_tasks.seal_signing.apply(args=(request.pk,))

    return act, lambda: sum(1 for m in mail.outbox if m.to == ["a@example.com"] and m.attachments)


KINDS: dict[str, tuple[str, Callable[[World, Any, Any], Scenario]]] = {
    "welcome": ("customers.tasks.send_customer_welcome", welcome),
    "invitation": ("customers.tasks.send_collaboration_invitation", invitation),
    "collaboration ended": ("customers.tasks.send_collaboration_ended", collaboration_ended),
    "staff invitation": ("partners.tasks.send_staff_invitation", staff_invitation),
    "quote request": ("billing.tasks.send_quote_request", quote_request),
    "preview": ("documents.tasks.render_preview", preview),
    "signing request": ("signing.tasks.email_party", signing_request),
    "signing pages": ("signing.tasks.render_signing_pages", signing_pages),
    "signing reminder": ("signing.tasks.email_party", signing_reminder),
    "signing cancelled": ("signing.tasks.email_party_cancelled", signing_cancelled),
    "signing sealed": ("signing.tasks.email_sealed", signing_sealed),
}


def _kind_message(task: str, before: set[int]) -> OutboxMessage:
    made = OutboxMessage.objects.filter(task=task).exclude(pk__in=before)
    assert made.count() == 1, list(made)
    return made.get()


def _age_everything(seconds: float) -> None:
    """As if `seconds` had passed since each message was published (and claimed)."""
    past = dt.timedelta(seconds=seconds)
    for message in OutboxMessage.objects.all():
        OutboxMessage.objects.filter(pk=message.pk).update(
            published_at=message.published_at - past,
            claimed_at=message.claimed_at - past if message.claimed_at else None,
        )


def _sweep_later() -> None:
    _age_everything(outbox.sweep_after().total_seconds() + 1)
    sweep_outbox()


@dataclass
class Case:
    kind: str
    world: World
    capture: Any  # django_capture_on_commit_callbacks
    monkeypatch: Any


@pytest.fixture(params=list(KINDS))
def case(request: Any, world: World, django_capture_on_commit_callbacks: Any, monkeypatch: Any) -> Case:
    return Case(request.param, world, django_capture_on_commit_callbacks, monkeypatch)


def _scenario(case: Case) -> tuple[str, Scenario, set[int]]:
    task, make = KINDS[case.kind]
    scenario = make(case.world, case.capture, case.monkeypatch)
    return task, scenario, set(OutboxMessage.objects.values_list("pk", flat=True))


def test_done_messages_are_deleted_a_week_later_and_failed_ones_kept() -> None:
    now = timezone.now()
    recent = OutboxMessage.objects.create(task="x.tasks.y", done_at=now - dt.timedelta(days=6))
    OutboxMessage.objects.create(task="x.tasks.y", done_at=now - dt.timedelta(days=8))
    given_up = OutboxMessage.objects.create(
        task="x.tasks.y",
        created_at=now - dt.timedelta(days=30),
        published_at=now - dt.timedelta(days=30),
        attempts=outbox.max_attempts(),
    )
    assert sweep_outbox() == 0
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent.pk, given_up.pk}


def _committed_with_the_broker_down(case: Case) -> tuple[OutboxMessage, Callable[[], int]]:
    """Do the kind's change while the broker is down: its message is written, nothing is done."""
    task, (act, delivered), before = _scenario(case)
    broker_back = _broker_down()
    try:
        with case.capture(execute=True):
            act()
    finally:
        broker_back()
    message = _kind_message(task, before)
    assert delivered() == 0
    assert message.done_at is None
    return message, delivered


def test_broker_down_at_commit_the_sweeper_delivers_once(case: Case) -> None:
    message, delivered = _committed_with_the_broker_down(case)

    sweep_outbox()  # too soon: the publish may just be slow
    assert delivered() == 0

    _sweep_later()
    assert delivered() == 1
    message.refresh_from_db()
    assert message.done_at is not None and message.attempts == 1
    _sweep_later()
    assert delivered() == 1


def test_a_worker_killed_after_claiming_is_taken_over_once(case: Case) -> None:
    message, delivered = _committed_with_the_broker_down(case)
    # A worker claimed it and died before doing anything; nothing redelivered its task.
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_by="dead-worker", claimed_at=timezone.now())

    _sweep_later()  # the claim is not stale yet: the worker may still be at it
    assert delivered() == 0

    _age_everything(outbox.claim_stale_after().total_seconds() + 1)
    sweep_outbox()
    assert delivered() == 1
    message.refresh_from_db()
    assert message.done_at is not None and message.claimed_by not in ("", "dead-worker")
    _sweep_later()
    assert delivered() == 1


def test_two_runs_of_one_message_deliver_once(case: Case) -> None:
    task, (act, delivered), before = _scenario(case)
    with case.capture(execute=True):
        act()
    message = _kind_message(task, before)
    assert delivered() == 1
    run_outbox.apply(args=(message.pk,))
    run_outbox.apply(args=(message.pk,), task_id=OutboxMessage.objects.get(pk=message.pk).claimed_by)
    _sweep_later()
    assert delivered() == 1


def _broker_down() -> Callable[[], None]:
    """The broker cannot be reached: portal.queue.publish's own failure path (not eager, the
    connection refused). Returns the function that brings it back."""
    patch = pytest.MonkeyPatch()

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionRefusedError("broker down")

    patch.setattr(celery_app, "connection_for_write", refused)
    celery_app.conf.task_always_eager = False  # a Celery setting: not something monkeypatch can undo

    def back() -> None:
        celery_app.conf.task_always_eager = True
        patch.undo()

    return back
