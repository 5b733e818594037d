"""Issue 11: rate limits on password reset requests, the customer invite form, signing links and
code checks, and uploads. Counters live in the real cache (Redis under `make test`); each refusal
is a 429 page (or the uploader's JSON) that changes nothing and is audited, and someone else, or
the same person within the limit, is not hindered."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from customers.models import Collaboration, CustomerKind, CustomerMembership
from documents.models import CustomerAccess, Document, Folder
from documents.services import folder_create
from portal.models import AuditEvent
from signing import selectors as signing_selectors
from signing.models import Party
from signing.services import PartyInput
from tests.conftest import World
from tests.documents.test_locks import PDF, form_upload, raw_upload
from tests.factories import CustomerAccountFactory, CustomerMembershipFactory, UserFactory
from tests.signing.test_services import code_for, document, send

pytestmark = pytest.mark.django_db

WAIT = "Too many attempts in a short time. Wait a while and try again."


def _english(client: Client) -> Client:
    client.post(reverse("set_language"), {"language": "en"})
    return client


def _refusals(scope: str) -> int:
    return AuditEvent.objects.filter(action="throttle.refused", object_repr=scope).count()


def _assert_429_page(response: Any) -> None:
    assert response.status_code == 429
    page = response.content.decode()
    assert "<title>Too many attempts" in page and WAIT in page
    assert response["Retry-After"].isdigit()


# --- Password reset requests: per email and per address --------------------------------------------


def _reset(client: Client, email: str, ip: str = "10.0.0.1") -> Any:
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


def test_password_reset_is_limited_per_email_and_sends_nothing_more(client: Client) -> None:
    _english(client)
    user = UserFactory.create(email="anna.berg@example.com")
    # Three an hour for one address, from anywhere, in any case.
    for ip, typed in [("10.0.0.1", user.email), ("10.0.0.2", user.email.upper()), ("10.0.0.3", user.email)]:
        assert _reset(client, typed, ip).status_code == 302
    assert len(mail.outbox) == 3
    _assert_429_page(_reset(client, user.email, "10.0.0.4"))
    assert len(mail.outbox) == 3
    assert _refusals("password_reset") == 1
    # Someone else asking for their own address is not hindered.
    other = UserFactory.create(email="bo@example.com")
    assert _reset(client, other.email, "10.0.0.4").status_code == 302
    assert mail.outbox[-1].to == [other.email]


def test_password_reset_is_limited_per_address(client: Client, settings: Any) -> None:
    settings.RATE_PASSWORD_RESET_IP = "4/h"
    users = [UserFactory.create(email=f"person{n}@example.com") for n in range(6)]
    assert [_reset(client, user.email).status_code for user in users[:4]] == [302] * 4
    response = _reset(client, users[4].email)
    assert response.status_code == 429
    assert len(mail.outbox) == 4
    assert AuditEvent.objects.get(action="throttle.refused").ip == "10.0.0.1"
    assert _reset(client, users[5].email, ip="10.0.0.9").status_code == 302
    assert len(mail.outbox) == 5


def test_the_429_page_is_in_swedish_by_default(client: Client) -> None:
    user = UserFactory.create(email="anna.berg@example.com")
    for _n in range(3):
        _reset(client, user.email)
    response = _reset(client, user.email)
    assert response.status_code == 429
    match = re.search(r'<html lang="([^"]*)">', response.content.decode())
    assert match is not None and match.group(1) == "sv"


# --- The customer invite form: a few tries per firm an hour ----------------------------------------


def _invite(client: Client, capture: Any, org_number: str, email: str) -> Any:
    with capture(execute=True):
        return client.post(reverse("customers:customer_invite"), {"org_number": org_number, "email": email})


def test_the_invite_form_refuses_a_firm_after_five_tries_an_hour(
    world: World, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    subscriber = CustomerMembershipFactory.create(
        customer=CustomerAccountFactory.create(kind=CustomerKind.SUBSCRIPTION, name="Egen AB"),
        is_admin=True,
        user__language="en",
    )
    client = _english(login(world.admin))
    org = subscriber.customer.org_number
    # Probing: five guesses at the admin's email; the answers are refusals (422).
    for n in range(5):
        assert (
            _invite(client, django_capture_on_commit_callbacks, org, f"guess{n}@example.com").status_code
            == 422
        )
    # The sixth, even the right one, is refused and invites nobody.
    response = _invite(client, django_capture_on_commit_callbacks, org, subscriber.user.email)
    _assert_429_page(response)
    assert not Collaboration.objects.filter(partner=world.partner, customer=subscriber.customer).exists()
    refusal = AuditEvent.objects.get(action="throttle.refused", object_repr="customer_invite")
    assert refusal.actor == world.admin
    # Another firm is not hindered: it counts its own tries.
    other = login(world.outsider)
    response = _invite(other, django_capture_on_commit_callbacks, org, subscriber.user.email)
    assert response.status_code == 302
    assert Collaboration.objects.filter(partner=world.other_partner, customer=subscriber.customer).exists()


def test_an_invite_within_the_limit_works(
    world: World, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    subscriber: CustomerMembership = CustomerMembershipFactory.create(
        customer=CustomerAccountFactory.create(kind=CustomerKind.SUBSCRIPTION, name="Egen AB"), is_admin=True
    )
    client = login(world.admin)
    org = subscriber.customer.org_number
    for n in range(4):
        _invite(client, django_capture_on_commit_callbacks, org, f"typo{n}@example.com")
    response = _invite(client, django_capture_on_commit_callbacks, org, subscriber.user.email)
    assert response.status_code == 302
    assert Collaboration.objects.filter(partner=world.partner, customer=subscriber.customer).exists()


# --- Signing links and code checks, per address ----------------------------------------------------


@pytest.fixture
def party(world: World) -> Party:
    from billing import services as billing

    billing.signature_grant(partner=world.partner, amount=5, reason="test")
    folder = folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.READ,
    )
    request = send(world, document(folder, world.admin), [PartyInput("A", "a@example.com")], language="en")
    return Party.objects.get(request=request)


def test_signing_links_are_limited_per_address_and_guesses_count(
    client: Client, party: Party, settings: Any
) -> None:
    settings.RATE_SIGNING_LINK = "4/h"
    client = _english(client)  # the refusal is in the visitor's language; this one reads English
    url = reverse("signing:sign", args=[signing_selectors.party_token(party)])
    guess = reverse("signing:sign", args=["not-a-real-token"])
    assert [client.get(url, REMOTE_ADDR="10.0.0.1").status_code for _n in range(2)] == [200, 200]
    assert [client.get(guess, REMOTE_ADDR="10.0.0.1").status_code for _n in range(2)] == [404, 404]
    _assert_429_page(client.get(url, REMOTE_ADDR="10.0.0.1"))
    document_url = reverse("signing:document", args=[signing_selectors.party_token(party)])
    assert client.get(document_url, REMOTE_ADDR="10.0.0.1").status_code == 429
    assert _refusals("signing_link") == 2
    # The signer at another address is not hindered.
    assert client.get(url, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_code_checks_are_limited_per_address_and_a_refused_check_changes_nothing(
    client: Client, party: Party, settings: Any
) -> None:
    settings.RATE_SIGNING_CODE = "2/h"
    settings.SIGNING_CODE_TRIES = 10
    url = reverse("signing:sign", args=[signing_selectors.party_token(party)])
    assert client.post(url, {"action": "code"}, REMOTE_ADDR="10.0.0.1").status_code == 302
    right = code_for("a@example.com")
    wrong = "000000" if right != "000000" else "111111"
    for _n in range(2):
        assert client.post(url, {"action": "sign", "code": wrong}, REMOTE_ADDR="10.0.0.1").status_code == 422
    failures = Party.objects.get(pk=party.pk).code_failures
    # The third check from that address is refused before the code is looked at, even the right code.
    _assert_429_page(client.post(url, {"action": "sign", "code": right}, REMOTE_ADDR="10.0.0.1"))
    after = Party.objects.get(pk=party.pk)
    assert after.acted_at is None and after.code_failures == failures
    assert _refusals("signing_code") == 1
    # From another address the right code signs.
    assert client.post(url, {"action": "sign", "code": right}, REMOTE_ADDR="10.0.0.2").status_code == 302
    assert Party.objects.get(pk=party.pk).acted_at is not None


def _second_party(world: World, party: Party, language: str) -> Party:
    """A party of another signing (same firm), to someone else, in `language`."""
    assert party.request.document is not None
    folder = party.request.document.folder
    request = send(
        world,
        document(folder, world.admin, name="Avtal 2.pdf"),
        [PartyInput("B", "b@example.com")],
        language=language,
    )
    return Party.objects.get(request=request)


def _codes_sent(address: str) -> int:
    return sum(1 for message in mail.outbox if message.to == [address])


def test_code_sends_are_limited_per_address_across_parties_in_the_signers_language(
    client: Client, world: World, party: Party, settings: Any
) -> None:
    settings.RATE_SIGNING_CODE_SEND = "2/h"
    swedish = _second_party(world, party, language="sv")
    url = reverse("signing:sign", args=[signing_selectors.party_token(party)])
    other_url = reverse("signing:sign", args=[signing_selectors.party_token(swedish)])
    assert client.post(url, {"action": "code"}, REMOTE_ADDR="10.0.0.1").status_code == 302
    assert client.post(other_url, {"action": "code"}, REMOTE_ADDR="10.0.0.1").status_code == 302
    # The third send from that address is refused whichever party it is for: no email goes out.
    refused = client.post(url, {"action": "code"}, REMOTE_ADDR="10.0.0.1")
    _assert_429_page(refused)  # English: the signing's language, though this visitor never chose one
    swedish_refusal = client.post(other_url, {"action": "code"}, REMOTE_ADDR="10.0.0.1")
    assert swedish_refusal.status_code == 429
    assert '<html lang="sv">' in swedish_refusal.content.decode()
    assert (_codes_sent("a@example.com"), _codes_sent("b@example.com")) == (1, 1)
    assert _refusals("signing_code_send") == 2
    # Code checks from that address are a separate count: the code sent still signs.
    code = code_for("a@example.com")
    assert client.post(url, {"action": "sign", "code": code}, REMOTE_ADDR="10.0.0.1").status_code == 302
    # A signer at another address is not hindered.
    assert client.post(other_url, {"action": "code"}, REMOTE_ADDR="10.0.0.2").status_code == 302
    assert _codes_sent("b@example.com") == 2


# --- Uploads, per user -----------------------------------------------------------------------------


@pytest.fixture
def folder(world: World) -> Folder:
    return folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Underlag",
        customer_access=CustomerAccess.EDIT,
    )


def test_uploads_are_limited_per_user(world: World, login: Any, folder: Folder, settings: Any) -> None:
    settings.RATE_UPLOAD = "2/h"
    client = _english(login(world.staff))
    assert [raw_upload(client, folder, f"{n}.pdf", PDF).status_code for n in range(2)] == [201, 201]
    response = raw_upload(client, folder, "3.pdf", PDF)
    assert response.status_code == 429
    assert response.json() == {"ok": False, "error": WAIT}
    # Without JavaScript the page says it.
    _assert_429_page(form_upload(client, folder, "4.pdf", PDF))
    assert set(Document.objects.filter(folder=folder).values_list("name", flat=True)) == {"0.pdf", "1.pdf"}
    assert _refusals("upload") == 2
    # A colleague is not hindered.
    colleague = Client()
    colleague.force_login(world.admin)
    assert raw_upload(colleague, folder, "5.pdf", PDF).status_code == 201
