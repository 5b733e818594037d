"""The completion email: the sealed PDF attached (up to tasks.SEALED_ATTACH_MAX), always the party's
own link to it besides (good for selectors.SEALED_DAYS, then 410), and for a user of the customer
a link to the signing under Signeringar."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from documents.models import Folder
from documents.storage import document_storage
from portal.models import User
from signing import selectors, tasks
from signing.models import Party, SigningRequest, Status
from signing.services import PartyInput
from tests.conftest import World
from tests.signing.test_services import act, document, parties_of, send

BASE = "https://portal.example"
OUTSIDE = "extern@example.com"


@pytest.fixture(autouse=True)
def _english(world: World, settings: Any) -> Iterator[None]:
    settings.PORTAL_BASE_URL = BASE
    User.objects.update(language="en")
    with translation.override("en"):
        yield


def completed(world: World, folder: Folder, capture: Any, parties: list[PartyInput]) -> SigningRequest:
    with capture(execute=True):
        signing = send(world, document(folder, world.admin), parties, language="en")
    for party in parties_of(signing).values():
        with capture(execute=True):
            act(party)
    signing.refresh_from_db()
    assert signing.status == Status.COMPLETED and signing.sealed_version is not None
    return signing


def completion_to(address: str) -> Any:
    sent = [m for m in mail.outbox if m.to == [address] and str(m.subject).startswith("Signed by everyone")]
    assert len(sent) == 1, f"{len(sent)} completion emails to {address}"
    return sent[0]


def html_of(message: Any) -> str:
    return str(message.alternatives[0][0])


def sealed_link(message: Any) -> str:
    match = re.search(rf"{re.escape(BASE)}(/sign/[0-9a-f]+/signed\.pdf)", str(message.body))
    assert match, message.body
    return match.group(1)


def stored(signing: SigningRequest) -> bytes:
    assert signing.sealed_version is not None
    with document_storage().open(signing.sealed_version.storage_key, "rb") as handle:
        return bytes(handle.read())


def test_an_outside_party_gets_the_pdf_attached_and_a_link_that_serves_it_for_30_days(
    funded: World, folder: Folder, client: Client, django_capture_on_commit_callbacks: Any, seal_keys: Any
) -> None:
    signing = completed(funded, folder, django_capture_on_commit_callbacks, [PartyInput("Extern", OUTSIDE)])
    message = completion_to(OUTSIDE)
    (attachment,) = message.attachments
    assert attachment[1] == stored(signing)
    link = sealed_link(message)
    party = Party.objects.get(request=signing)
    assert link == reverse("signing:sealed", args=[selectors.party_token(party)])
    assert f'href="{BASE}{link}"' in html_of(message)  # the button
    assert signing.finished_at is not None
    # The date as the email writes it: in the portal's time zone (in the hour before midnight
    # there, UTC's date is the day before).
    until = timezone.localtime(signing.finished_at + dt.timedelta(days=selectors.SEALED_DAYS)).strftime(
        "%Y-%m-%d"
    )
    assert f"The link works until {until}." in str(message.body)
    # No account: nothing about the portal.
    assert "/collaborations/" not in str(message.body) and "in the portal" not in str(message.body)

    response = client.get(link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == stored(signing)  # type: ignore[attr-defined]

    # Day 31: gone, by the link and by the rule behind it.
    later = signing.finished_at + dt.timedelta(days=selectors.SEALED_DAYS, minutes=1)
    assert selectors.link_state(party, now=later) == "gone"
    assert selectors.link_state(party, now=later - dt.timedelta(minutes=2)) == "done"
    SigningRequest.objects.filter(pk=signing.pk).update(finished_at=timezone.now() - dt.timedelta(days=31))
    assert client.get(link).status_code == 410


def test_a_sealed_pdf_over_the_limit_is_sent_as_the_link_only(
    funded: World,
    folder: Folder,
    client: Client,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
    seal_keys: Any,
) -> None:
    monkeypatch.setattr(tasks, "SEALED_ATTACH_MAX", 1000)  # a sealed blank page is well over 1 kB
    signing = completed(funded, folder, django_capture_on_commit_callbacks, [PartyInput("Extern", OUTSIDE)])
    assert signing.sealed_version is not None and signing.sealed_version.size > 1000
    message = completion_to(OUTSIDE)
    assert message.attachments == []
    assert "too large to attach to an email" in str(message.body)
    assert "too large to attach to an email" in html_of(message)
    assert "is attached" not in str(message.body)
    response = client.get(sealed_link(message))
    assert response.status_code == 200


def test_the_limit_is_ten_megabytes() -> None:
    assert tasks.SEALED_ATTACH_MAX == 10 * 1024 * 1024


def test_a_customer_user_party_also_gets_the_signeringar_link(
    funded: World, folder: Folder, login: Any, django_capture_on_commit_callbacks: Any, seal_keys: Any
) -> None:
    world = funded
    staff_party = PartyInput("Sam Staff", world.staff.email)  # a portal user, but the firm's
    signing = completed(
        world,
        folder,
        django_capture_on_commit_callbacks,
        [PartyInput("Karin Primary", world.primary.email), PartyInput("Extern", OUTSIDE), staff_party],
    )
    page = reverse("signing:customer_detail", args=[world.collaboration.pk, signing.pk])
    karin = completion_to(world.primary.email)
    assert f"{BASE}{page}" in str(karin.body) and f"{BASE}{page}" in html_of(karin)
    assert "under Signings with Alfa Byrå AB" in str(karin.body)
    assert karin.attachments and sealed_link(karin)
    # The firm's own user has no customer-side page: only the attachment and the link.
    staff = completion_to(world.staff.email)
    assert "/collaborations/" not in str(staff.body)
    assert page not in str(completion_to(OUTSIDE).body)
    # And the page it names is Karin's.
    assert login(world.primary).get(page).status_code == 200
