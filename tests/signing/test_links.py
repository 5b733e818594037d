"""Issue 10: signing links and codes that hold under attack, and signing records that outlive
their files. Each test here failed before the fix it names."""

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
from guardian.shortcuts import assign_perm

from customers.services import WORK_WITH_CUSTOMER
from documents import locks
from documents.models import Document, Folder
from notifications.models import Event as Told
from notifications.models import Notification
from portal.errors import ServiceError
from portal.models import User
from signing import selectors, services, tasks
from signing.models import Event, Party, SigningRequest, Status
from signing.services import PartyInput
from tests.conftest import World
from tests.factories import PartnerMembershipFactory
from tests.signing.test_services import act, code_for, document, links, parties_of, send


@pytest.fixture(autouse=True)
def _english(world: World) -> Iterator[None]:
    """The tests read the English texts (msgids), in the services and on the users' pages."""
    User.objects.update(language="en")
    with translation.override("en"):
        yield


def test_documents_lock_says_pending_sealed_or_free(
    funded: World, folder: Folder, django_capture_on_commit_callbacks: Any, seal_keys: Any
) -> None:
    main = document(folder, funded.admin, "Avtal.pdf")
    extra = document(folder, funded.admin, "Bilaga.pdf")
    other = document(folder, funded.admin, "Annat.pdf")
    with django_capture_on_commit_callbacks(execute=True):
        request = send(funded, main, [PartyInput("A", "a@example.com")], attachments=[extra])
    assert locks.document_lock(main.pk) == "pending"
    assert locks.document_lock(extra.pk) == "pending"
    assert locks.document_lock(other.pk) is None
    with django_capture_on_commit_callbacks(execute=True):
        act(parties_of(request)["A"])
    request.refresh_from_db()
    assert request.status == Status.COMPLETED and request.sealed_version is not None
    assert locks.document_lock(main.pk) is None
    assert locks.document_lock(extra.pk) is None
    assert locks.document_lock(request.sealed_version.document_id) == "sealed"
    # A draft holds nothing: its document can be deleted (the draft then cannot be sent).
    SigningRequest.objects.filter(pk=request.pk).update(status=Status.DRAFT, sealed_version=None)
    assert locks.document_lock(main.pk) is None


# --- Helpers -------------------------------------------------------------------------------------


def _wrong(right: str) -> str:
    return "000000" if right != "000000" else "111111"


def _one_party(
    world: World, folder: Folder, name: str = "Avtal.pdf", **kwargs: Any
) -> tuple[SigningRequest, Party]:
    doc = document(folder, world.admin, name)
    request = send(world, doc, [PartyInput("A", "a@example.com")], language="en", **kwargs)
    return request, Party.objects.get(request=request)


# --- Email codes: sends and failed tries are capped ---------------------------------------------


def test_codes_sent_are_capped_per_hour(funded: World, folder: Folder, settings: Any) -> None:
    settings.SIGNING_CODE_SENDS_PER_HOUR = 5
    _request, party = _one_party(funded, folder)
    for _n in range(5):
        services.party_start_method(party=Party.objects.get(pk=party.pk))
    sent = len(mail.outbox)
    with pytest.raises(ServiceError, match="too many codes"):
        services.party_start_method(party=Party.objects.get(pk=party.pk))
    assert len(mail.outbox) == sent  # no sixth email
    # An hour after the first, codes can be sent again.
    Party.objects.filter(pk=party.pk).update(code_window_start=timezone.now() - dt.timedelta(minutes=61))
    services.party_start_method(party=Party.objects.get(pk=party.pk))
    assert len(mail.outbox) == sent + 1


def test_failed_tries_in_total_lock_the_party_and_tell_the_sender(
    funded: World, folder: Folder, settings: Any
) -> None:
    settings.SIGNING_CODE_TRIES = 3
    settings.SIGNING_CODE_MAX_FAILURES = 6
    settings.NOTIFICATION_BATCH_SECONDS = 0
    request, party = _one_party(funded, folder)
    for _round in range(2):  # a new code resets the code's own tries, never the total
        services.party_start_method(party=Party.objects.get(pk=party.pk))
        wrong = _wrong(code_for("a@example.com"))
        for _n in range(3):
            with pytest.raises(ServiceError):
                services.party_act(party=Party.objects.get(pk=party.pk), action="sign", answer=wrong)
    locked = Party.objects.get(pk=party.pk)
    assert locked.locked_at is not None and locked.code_failures == 6
    reason = selectors.may_act(locked)
    assert reason is not None and "locked" in reason
    with pytest.raises(ServiceError, match="locked"):
        services.party_start_method(party=locked)
    assert Event.objects.filter(request=request, kind="locked", party=party).count() == 1
    told = Notification.objects.get(recipient=funded.staff, event=Told.SIGNING_ATTENTION)
    assert told.url == reverse("signing:partner_detail", args=[funded.collaboration.pk, request.pk])
    assert Party.objects.get(pk=party.pk).acted_at is None


# --- Declining needs the code --------------------------------------------------------------------


def test_declining_needs_the_same_code_as_signing(funded: World, folder: Folder) -> None:
    request, party = _one_party(funded, folder)
    with pytest.raises(ServiceError, match="Ask for a code first"):
        services.party_act(party=party, action="decline", reason="Fel belopp")
    services.party_start_method(party=Party.objects.get(pk=party.pk))
    right = code_for("a@example.com")
    with pytest.raises(ServiceError, match="Wrong code"):
        services.party_act(
            party=Party.objects.get(pk=party.pk), action="decline", answer=_wrong(right), reason="Fel"
        )
    assert SigningRequest.objects.get(pk=request.pk).status == Status.PENDING
    services.party_act(party=Party.objects.get(pk=party.pk), action="decline", answer=right, reason="Fel")
    assert SigningRequest.objects.get(pk=request.pk).status == Status.DECLINED


def test_declining_on_the_page_without_a_code_changes_nothing(
    funded: World, folder: Folder, client: Client
) -> None:
    request, party = _one_party(funded, folder)
    url = reverse("signing:sign", args=[selectors.party_token(party)])
    response = client.post(url, {"action": "decline", "reason": "Fel belopp"})
    assert response.status_code == 422 and "Ask for a code first" in response.content.decode()
    assert SigningRequest.objects.get(pk=request.pk).status == Status.PENDING
    assert Party.objects.get(pk=party.pk).acted_at is None


# --- Links stop working when the signing is over ----------------------------------------------------


def _party_urls(token: str) -> list[str]:
    return [
        reverse("signing:document", args=[token]),
        reverse("signing:attachment", args=[token, 0]),
        reverse("signing:page", args=[token, 1]),
    ]


@pytest.mark.parametrize("ending", ["cancelled", "declined", "expired"])
def test_a_link_is_gone_once_the_signing_stopped(
    funded: World, folder: Folder, client: Client, ending: str
) -> None:
    extra = document(folder, funded.admin, "Bilaga.pdf")
    request = send(
        funded,
        document(folder, funded.admin),
        [PartyInput("A", "a@example.com"), PartyInput("B", "b@example.com")],
        attachments=[extra],
    )
    a, b = parties_of(request)["A"], parties_of(request)["B"]
    token = selectors.party_token(b)
    assert all(client.get(url).status_code == 200 for url in _party_urls(token))
    if ending == "cancelled":
        services.signing_cancel(signing=request, actor=funded.staff)
    elif ending == "declined":
        services.party_start_method(party=a)
        services.party_act(party=a, action="decline", answer=code_for("a@example.com"), reason="Nej")
    else:
        services.signings_expire_due(now=timezone.now() + dt.timedelta(days=8))
    response = client.get(reverse("signing:sign", args=[token]))
    assert response.status_code == 410
    # The page says why, in the request's language (Swedish here).
    reason = {
        "cancelled": "Avsändaren har avbrutit signeringen.",
        "declined": "Signeringen avböjdes och har avbrutits.",
        "expired": "Signeringen gick ut vid sista dagen.",
    }[ending]
    assert reason in response.content.decode()
    for url in _party_urls(token):
        assert client.get(url).status_code == 410, url
    # Nor can anything be done through it.
    assert client.post(reverse("signing:sign", args=[token]), {"action": "code"}).status_code == 410
    assert not [m for m in mail.outbox if m.to == ["b@example.com"] and "code" in str(m.subject).lower()]


def test_a_completed_signing_serves_only_the_sealed_pdf_for_30_days(
    funded: World,
    folder: Folder,
    client: Client,
    seal_keys: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request, party = _one_party(funded, folder)
        act(party)
    request.refresh_from_db()
    assert request.sealed_version is not None
    token = selectors.party_token(party)
    page = client.get(reverse("signing:sign", args=[token]))
    sealed_url = reverse("signing:sealed", args=[token])
    assert page.status_code == 200 and sealed_url in page.content.decode()
    response = client.get(sealed_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    for url in _party_urls(token):
        assert client.get(url).status_code == 410, url
    wrong = token[:-1] + ("1" if token[-1] != "1" else "2")
    assert client.get(reverse("signing:sealed", args=[wrong])).status_code == 404
    SigningRequest.objects.filter(pk=request.pk).update(finished_at=timezone.now() - dt.timedelta(days=31))
    assert client.get(sealed_url).status_code == 410
    assert client.get(reverse("signing:sign", args=[token])).status_code == 410


# --- The sender revokes one party's link --------------------------------------------------------------


def _revoke_url(world: World, request: SigningRequest, party: Party) -> str:
    return reverse("signing:partner_revoke", args=[world.collaboration.pk, request.pk, party.pk])


def test_the_sender_revokes_a_link_and_a_new_one_is_sent(
    funded: World, folder: Folder, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request, party = _one_party(funded, folder)
    old = selectors.party_token(party)
    assert links("a@example.com") == [old]
    client = login(funded.staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_revoke_url(funded, request, party))
    assert response.status_code == 302
    fresh = links("a@example.com")[-1]
    assert fresh != old
    assert client.get(reverse("signing:sign", args=[old])).status_code == 410  # replaced, not unknown
    assert client.get(reverse("signing:sign", args=[fresh])).status_code == 200
    assert Event.objects.filter(
        request=request, kind="link_revoked", party=party, actor=funded.staff
    ).exists()


def test_revoking_a_link_refuses_others_and_changes_nothing(
    funded: World, folder: Folder, login: Any
) -> None:
    request, party = _one_party(funded, folder)
    salt = party.token_salt
    for who in ("outsider", "staff_unassigned", "primary", "customer_user"):
        response = login(getattr(funded, who)).post(_revoke_url(funded, request, party))
        assert response.status_code == 404, who
    colleague = PartnerMembershipFactory.create(partner=funded.partner).user
    assign_perm(WORK_WITH_CUSTOMER, colleague, funded.collaboration)
    assert login(colleague).post(_revoke_url(funded, request, party)).status_code == 403
    assert login(funded.staff).get(_revoke_url(funded, request, party)).status_code == 405
    # Another request's party under this request's id: 404.
    other, _p = _one_party(funded, folder, "Annat.pdf")
    assert login(funded.staff).post(_revoke_url(funded, other, party)).status_code == 404
    assert Party.objects.get(pk=party.pk).token_salt == salt


def test_a_link_cannot_be_revoked_once_the_party_acted(funded: World, folder: Folder, login: Any) -> None:
    request = send(
        funded,
        document(folder, funded.admin),
        [PartyInput("A", "a@example.com"), PartyInput("B", "b@example.com")],
    )
    a = parties_of(request)["A"]
    act(a)
    salt = Party.objects.get(pk=a.pk).token_salt
    response = login(funded.staff).post(_revoke_url(funded, request, a), follow=True)
    assert "already answered" in response.content.decode()
    assert Party.objects.get(pk=a.pk).token_salt == salt


# --- The portal's notification holds no token --------------------------------------------------------


def test_a_notification_links_to_a_login_page_not_the_token(
    funded: World, folder: Folder, client: Client, login: Any, settings: Any
) -> None:
    settings.NOTIFICATION_BATCH_SECONDS = 0
    karin = funded.primary
    request = send(funded, document(folder, funded.admin), [PartyInput(karin.name, karin.email)])
    party = Party.objects.get(request=request)
    token = selectors.party_token(party)
    turn = Notification.objects.get(recipient=karin, event=Told.SIGNING_REQUESTED)
    assert token not in turn.url
    assert turn.url == reverse("signing:party_open", args=[party.pk])
    assert client.get(turn.url).status_code == 302  # to the login page
    assert token not in client.get(turn.url)["Location"]
    assert login(funded.customer_user).get(turn.url).status_code == 404
    assert login(funded.outsider).get(turn.url).status_code == 404
    response = login(karin).get(turn.url)
    assert response.status_code == 302 and response["Location"] == reverse("signing:sign", args=[token])


# --- The timeline ---------------------------------------------------------------------------------------


def test_the_timeline_names_who_cancelled(funded: World, folder: Folder) -> None:
    request, _party = _one_party(funded, folder)
    services.signing_cancel(signing=request, actor=funded.staff)
    event = Event.objects.get(request=request, kind="cancelled")
    assert selectors.describe_event(event) == "Cancelled by Sam Staff"


# --- Sealing that fails --------------------------------------------------------------------------------


def test_a_signing_that_could_not_be_sealed_shows_it_and_the_sweeper_seals_it(
    funded: World,
    folder: Folder,
    settings: Any,
    tmp_path: Any,
    login: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from signing import devkeys, sealing

    settings.SIGNING_SEAL_KEY_FILE = tmp_path / "missing-key.pem"
    settings.SIGNING_SEAL_CERT_FILE = tmp_path / "missing-cert.pem"
    settings.SIGNING_SEAL_CA_FILE = tmp_path / "missing-ca.pem"
    request, party = _one_party(funded, folder)
    with pytest.raises(sealing.SealingError), django_capture_on_commit_callbacks(execute=True):
        act(party)
    request.refresh_from_db()
    assert request.status == Status.COMPLETED and request.sealed_version is None
    assert request.seal_failed_at is not None and "missing" in request.seal_error
    client = login(funded.staff)
    detail = client.get(reverse("signing:partner_detail", args=[funded.collaboration.pk, request.pk]))
    listing = client.get(reverse("signing:partner_list", args=[funded.collaboration.pk]))
    heading = re.search(r'<h2 id="signing-h">(.*?)</h2>', detail.content.decode(), re.S)
    assert heading is not None and "Sealing failed" in heading.group(1) and "Signed<" not in heading.group(1)
    table = listing.content.decode().split("<table", 1)[1]  # below the status filter, which offers Signed
    assert "Sealing failed" in table and ">Signed<" not in table
    assert not Notification.objects.filter(event=Told.SIGNING_COMPLETED).exists()
    # The keys are back: the beat sweeper seals it (a recent failure waits for the next sweep).
    devkeys.ensure_dev_sealing_key()
    assert tasks.seal_unsealed() == 0
    SigningRequest.objects.filter(pk=request.pk).update(
        seal_failed_at=timezone.now() - dt.timedelta(minutes=11)
    )
    assert tasks.seal_unsealed() == 1
    request.refresh_from_db()
    assert request.sealed_version is not None and request.seal_error == ""
    assert Notification.objects.filter(recipient=funded.staff, event=Told.SIGNING_COMPLETED).exists()
    detail = client.get(reverse("signing:partner_detail", args=[funded.collaboration.pk, request.pk]))
    assert "Sealing failed" not in detail.content.decode()
    assert tasks.seal_unsealed() == 0


# --- Evidence outlives the file ----------------------------------------------------------------------


def test_deleting_the_folder_keeps_a_completed_signing_and_its_evidence(
    funded: World,
    folder: Folder,
    seal_keys: Any,
    login: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from documents import services as documents
    from documents import trash

    main = document(folder, funded.admin, "Avtal.pdf")
    extra = document(folder, funded.admin, "Bilaga.pdf")
    assert main.current_version is not None and extra.current_version is not None
    signed_sha, extra_sha = main.current_version.sha256, extra.current_version.sha256
    with django_capture_on_commit_callbacks(execute=True):
        request = send(funded, main, [PartyInput("A", "a@example.com")], attachments=[extra])
        act(parties_of(request)["A"])
    party = Party.objects.get(request=request)
    events = Event.objects.filter(request=request).count()
    with django_capture_on_commit_callbacks(execute=True):
        documents.folder_delete(folder=folder, actor=funded.admin)
        # The trash keeps the files 30 days; purged, the rows stay as tombstones without them.
        trash.trash_purge_due(now=timezone.now() + dt.timedelta(days=31))
    assert not Folder.objects.filter(pk=folder.pk).exists()
    request = SigningRequest.objects.get(pk=request.pk)
    assert request.document_id == main.pk and Document.objects.get(pk=main.pk).deleted_at is not None
    assert request.sealed_version is not None and request.sealed_version.purged_at is not None
    assert request.title == "Avtal.pdf" and request.version_sha256 == signed_sha
    assert request.status == Status.COMPLETED
    assert Party.objects.get(pk=party.pk).acted_at is not None
    assert Event.objects.filter(request=request).count() == events
    attachment = request.attachments.get()
    assert (attachment.name, attachment.sha256) == ("Bilaga.pdf", extra_sha)
    # The request's page still tells the story, with the file gone.
    html = (
        login(funded.staff)
        .get(reverse("signing:partner_detail", args=[funded.collaboration.pk, request.pk]))
        .content.decode()
    )
    assert "Avtal.pdf" in html and "deleted" in html and "A signed" in html and signed_sha in html
    # The party's link says the file is gone rather than failing.
    client.logout()
    token = selectors.party_token(party)
    assert client.get(reverse("signing:sign", args=[token])).status_code == 410
    assert client.get(reverse("signing:sealed", args=[token])).status_code == 410
    assert locks.document_lock(main.pk) is None


def test_the_migration_flattens_old_events_and_takes_tokens_out_of_notifications(
    funded: World, folder: Folder, settings: Any
) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("signing.migrations.0003_evidence_outlives_files")
    settings.NOTIFICATION_BATCH_SECONDS = 0
    karin = funded.primary
    request = send(funded, document(folder, funded.admin), [PartyInput(karin.name, karin.email)])
    party = Party.objects.get(request=request)
    token = selectors.party_token(party)
    # As the code before the fix wrote them.
    Notification.objects.filter(recipient=karin).update(url=f"/sign/{token}/")
    cancelled = Event.objects.create(
        request=request, kind="cancelled", detail={"detail": {"by": "Sam Staff"}}
    )
    migration.flatten_event_details(apps, None)
    migration.notifications_without_tokens(apps, None)
    cancelled.refresh_from_db()
    assert selectors.describe_event(cancelled) == "Cancelled by Sam Staff"
    urls = set(Notification.objects.filter(recipient=karin).values_list("url", flat=True))
    assert urls == {reverse("signing:party_open", args=[party.pk])}
