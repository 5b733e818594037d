"""Drafts: the wizard's shared state. Who may see and change them, that they tell nobody, charge
nothing and hold no document, that Send turns them pending and charges once however often it is
clicked, and "Send again" on a finished signing."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from billing import services as billing
from billing.models import BalanceEntry, EntryKind
from documents import locks
from documents import services as documents
from documents.models import CustomerAccess, Document, Folder
from partners.models import Partner
from portal.errors import ServiceError
from portal.models import User
from signing import selectors, services
from signing.models import Attachment, Event, Method, Party, Role, SigningRequest, Status
from signing.services import PartyInput
from tests.conftest import World
from tests.parallel import run_in_parallel
from tests.signing.test_partner_views import (
    TWO_IN_ORDER,
    balance,
    draft_of,
    form_data,
    page,
    send,
    step_url,
    upload,
    waiting_on,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(world: World, settings: Any) -> None:
    User.objects.update(language="en")
    settings.NOTIFICATION_BATCH_SECONDS = 0


@pytest.fixture
def doc(world: World, folder: Folder) -> Document:
    return upload(folder, world.admin)


@pytest.fixture
def funded(world: World) -> World:
    """A balance of exactly 5 (the signing conftest's adds 5 to the world's)."""
    Partner.objects.filter(pk=world.partner.pk).update(signature_balance=0)
    billing.signature_grant(partner=world.partner, amount=5, reason="test")
    return world


def filled(world: World, document: Document, actor: User | None = None) -> SigningRequest:
    """A draft with two parties and the settings, ready to send."""
    draft = draft_of(world, document, actor)
    return services.draft_update(
        draft=draft,
        actor=actor or world.staff,
        parties=[PartyInput("Karin", world.primary.email), PartyInput("Bo", "bo@example.com", order=2)],
        details=services.DraftDetails(deadline=timezone.now() + dt.timedelta(days=5), message="Hej"),
    )


def draft_pages(world: World, draft: SigningRequest) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("get", step_url(world, draft, "parties"), {}),
        ("post", step_url(world, draft, "parties"), form_data(TWO_IN_ORDER)),
        ("get", step_url(world, draft, "settings"), {}),
        ("post", step_url(world, draft, "settings"), form_data([])),
        ("get", step_url(world, draft, "review"), {}),
        ("post", step_url(world, draft, "send"), {}),
        ("get", step_url(world, draft, "delete"), {}),
        ("post", step_url(world, draft, "delete"), {}),
        ("get", reverse("signing:partner_detail", args=[world.collaboration.pk, draft.pk]), {}),
    ]


# --- Who may see and change a draft ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["outsider", "staff_unassigned", "primary", "customer_user"])
def test_others_get_404_on_every_page_of_a_draft_and_nothing_changes(
    funded: World, doc: Document, login: Any, who: str
) -> None:
    world = funded
    draft = filled(world, doc)
    client = login(getattr(world, who))
    for method, url, data in draft_pages(world, draft):
        assert getattr(client, method)(url, data).status_code == 404, url
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT and draft.parties.count() == 2 and draft.message == "Hej"
    assert balance(world) == 5 and not Event.objects.exists()


def test_another_firm_with_its_own_customer_id_gets_404(funded: World, doc: Document, login: Any) -> None:
    world = funded
    draft = filled(world, doc)
    client = login(world.outsider)
    theirs = world.outsider_collaboration.pk
    for step in ("parties", "settings", "review"):
        assert (
            client.get(reverse(f"signing:partner_draft_{step}", args=[theirs, draft.pk])).status_code == 404
        )
    assert client.post(reverse("signing:partner_draft_send", args=[theirs, draft.pk])).status_code == 404
    assert SigningRequest.objects.get().status == Status.DRAFT


def test_anonymous_is_sent_to_log_in(funded: World, doc: Document, client: Client) -> None:
    draft = filled(funded, doc)
    for method, url, data in draft_pages(funded, draft):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and "login" in response["Location"], url
    assert SigningRequest.objects.get().status == Status.DRAFT and balance(funded) == 5


def test_a_colleague_who_works_with_the_customer_edits_and_sends_it(
    funded: World, doc: Document, login: Any
) -> None:
    world = funded
    draft = filled(world, doc, actor=world.staff)
    client = login(world.admin)
    response = client.post(step_url(world, draft, "parties"), form_data(TWO_IN_ORDER))
    assert response.status_code == 302
    response = client.post(step_url(world, draft, "send"))
    assert response.status_code == 302
    sent = SigningRequest.objects.get()
    assert (sent.status, sent.created_by, balance(world)) == (Status.PENDING, world.admin, 4)


# --- A draft tells nobody and holds nothing -----------------------------------------------------------


def test_a_drafts_party_link_is_not_valid(funded: World, doc: Document, client: Client) -> None:
    draft = filled(funded, doc)
    party = draft.parties.get(email=funded.primary.email)
    token = selectors.party_token(party)
    with pytest.raises(ServiceError):
        selectors.party_for_token(token)
    assert client.get(reverse("signing:sign", args=[token])).status_code == 404
    assert client.get(reverse("signing:document", args=[token])).status_code == 404
    assert party.user is None and party.notified_at is None
    client.force_login(funded.primary)
    assert client.get(reverse("signing:party_open", args=[party.pk])).status_code == 404
    # Sent, the same link works.
    services.draft_send(draft=draft, actor=funded.staff)
    assert selectors.party_for_token(token).pk == party.pk


def test_customers_never_see_a_draft(funded: World, doc: Document, login: Any) -> None:
    filled(funded, doc)
    response = login(funded.primary).get(reverse("customers:collaboration_list"))
    assert "Avtal.pdf" not in page(response)
    assert waiting_on(funded.primary) == []


def test_a_draft_does_not_hold_its_document(funded: World, folder: Folder, doc: Document) -> None:
    extra = upload(folder, funded.admin, "Bilaga.pdf")
    draft = filled(funded, doc)
    services.draft_update(
        draft=draft,
        actor=funded.staff,
        details=services.DraftDetails(deadline=timezone.now() + dt.timedelta(days=5), attachments=[extra]),
    )
    assert locks.document_lock(doc.pk) is None and locks.document_lock(extra.pk) is None
    documents.documents_delete(documents=[doc], actor=funded.admin)
    assert Document.objects.get(pk=doc.pk).deleted_at is not None


def test_a_draft_whose_document_was_deleted_says_so_and_cannot_be_sent(
    funded: World, doc: Document, login: Any
) -> None:
    world = funded
    draft = filled(world, doc)
    documents.documents_delete(documents=[doc], actor=world.admin)
    client = login(world.staff)
    message = "The document of this draft was deleted, so it cannot be sent."
    for step in ("parties", "settings", "review"):
        response = client.get(step_url(world, draft, step))
        assert response.status_code == 200 and message in page(response), step
    assert 'name="version"' not in page(client.get(step_url(world, draft, "review")))  # no Send button
    response = client.post(step_url(world, draft, "send"))
    assert response.status_code == 422 and message in page(response)
    assert SigningRequest.objects.get().status == Status.DRAFT and balance(world) == 5
    with translation.override("en"), pytest.raises(ServiceError, match="deleted"):
        services.draft_send(draft=draft, actor=world.staff)
    # It can still be deleted.
    assert client.post(step_url(world, draft, "delete")).status_code == 302
    assert not SigningRequest.objects.exists()


# --- Send ------------------------------------------------------------------------------------------


def test_send_twice_charges_once(funded: World, doc: Document, login: Any) -> None:
    world = funded
    draft = filled(world, doc)
    client = login(world.staff)
    first = client.post(step_url(world, draft, "send"))
    second = client.post(step_url(world, draft, "send"))
    detail = reverse("signing:partner_detail", args=[world.collaboration.pk, draft.pk])
    assert first["Location"] == detail and second["Location"] == detail
    assert services.draft_send(draft=draft, actor=world.staff).status == Status.PENDING
    assert balance(world) == 4
    assert BalanceEntry.objects.filter(kind=EntryKind.CHARGE).count() == 1
    assert Event.objects.filter(kind="sent").count() == 1


def test_an_empty_balance_leaves_a_draft_and_charges_nothing(world: World, doc: Document, login: Any) -> None:
    Partner.objects.filter(pk=world.partner.pk).update(signature_balance=0)
    draft = filled(world, doc)
    response = login(world.staff).post(step_url(world, draft, "send"))
    assert response.status_code == 422
    assert "Buy more signatures on the Balances page under Settings." in page(response)
    draft.refresh_from_db()
    assert (draft.status, draft.sent_at) == (Status.DRAFT, None)
    assert not Event.objects.exists() and not Party.objects.filter(notified_at__isnull=False).exists()
    assert not BalanceEntry.objects.filter(kind=EntryKind.CHARGE).exists()


def test_a_new_version_after_the_review_refuses_the_send(
    funded: World, folder: Folder, doc: Document, login: Any
) -> None:
    world = funded
    draft = filled(world, doc)
    client = login(world.staff)
    reviewed = doc.current_version_id
    upload(folder, world.admin, "Avtal.pdf")  # a new version of the same document
    doc.refresh_from_db()
    assert doc.current_version_id != reviewed
    response = client.post(step_url(world, draft, "send"), {"version": str(reviewed)})
    assert response.status_code == 422 and "A new version of the document arrived" in page(response)
    assert SigningRequest.objects.get().status == Status.DRAFT and balance(world) == 4 + 1
    # Looked at again, the newer version is what is sent.
    html = page(client.get(step_url(world, draft, "review")))
    assert f'name="version" value="{doc.current_version_id}"' in html
    assert (
        client.post(step_url(world, draft, "send"), {"version": str(doc.current_version_id)}).status_code
        == 302
    )
    sent = SigningRequest.objects.get()
    assert (sent.status, sent.version_id) == (Status.PENDING, doc.current_version_id)


def test_a_sent_request_cannot_be_changed_or_deleted_as_a_draft(funded: World, doc: Document) -> None:
    sent = send(funded, doc, [PartyInput("A", "a@example.com")])
    with pytest.raises(ServiceError):
        services.draft_update(draft=sent, actor=funded.staff, parties=[PartyInput("B", "b@example.com")])
    with pytest.raises(ServiceError):
        services.draft_delete(draft=sent, actor=funded.staff)
    assert SigningRequest.objects.get().parties.get().email == "a@example.com"


def test_delete_asks_first_then_deletes(funded: World, doc: Document, login: Any) -> None:
    world = funded
    draft = filled(world, doc)
    client = login(world.admin)
    confirm = client.get(step_url(world, draft, "delete"))
    assert confirm.status_code == 200 and "Delete the draft of Avtal.pdf?" in page(confirm)
    assert SigningRequest.objects.exists()
    response = client.post(step_url(world, draft, "delete"), follow=True)
    assert response.redirect_chain[0][0] == reverse("signing:partner_list", args=[world.collaboration.pk])
    assert "The draft of Avtal.pdf was deleted." in page(response)
    assert not SigningRequest.objects.exists() and not Party.objects.exists()
    assert Document.objects.get(pk=doc.pk).deleted_at is None


# --- Signeringar lists drafts --------------------------------------------------------------------------


def test_the_list_shows_drafts_with_who_and_when(funded: World, doc: Document, login: Any) -> None:
    world = funded
    draft = filled(world, doc, actor=world.staff)
    services.draft_update(draft=draft, actor=world.admin, parties=[PartyInput("A", "a@example.com")])
    html = page(login(world.staff).get(reverse("signing:partner_list", args=[world.collaboration.pk])))
    assert ">Draft<" in html
    assert step_url(world, draft, "review") in html
    assert world.staff.get_full_name() in html and world.admin.get_full_name() in html
    assert "Edited" in html


def _list_queries(client: Client, world: World, document: Document, count: int) -> int:
    SigningRequest.objects.all().delete()
    for n in range(count):
        actor = world.admin if n % 2 else world.staff
        draft = draft_of(world, document, actor)
        services.draft_update(draft=draft, actor=actor, parties=[PartyInput("A", f"a{n}@example.com")])
    url = reverse("signing:partner_list", args=[world.collaboration.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert page(response).count(">Draft<") == count
    return len(ctx.captured_queries)


def test_list_query_count_is_flat_with_drafts(world: World, doc: Document, login: Any, settings: Any) -> None:
    settings.PAGE_SIZE = 100
    client = login(world.staff)
    assert _list_queries(client, world, doc, 2) == _list_queries(client, world, doc, 12)


# --- Send again --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.DECLINED, Status.EXPIRED, Status.CANCELLED])
def test_send_again_copies_a_finished_signing_into_a_new_draft(
    funded: World, folder: Folder, doc: Document, login: Any, settings: Any, status: str
) -> None:
    world = funded
    settings.BANKID_URL = "http://127.0.0.1:9/rp/v6.0/"
    live = upload(folder, world.admin, "Bilaga.pdf")
    gone = upload(folder, world.admin, "Gammal.pdf")
    first = services.signing_send(
        collaboration=world.collaboration,
        actor=world.staff,
        document=doc,
        parties=[
            PartyInput("Karin", "karin@example.com", method=Method.BANKID, personnummer="198503122387"),
            PartyInput("Cia", "cia@example.com", role=Role.VIEWER, order=2),
        ],
        deadline=timezone.now() + dt.timedelta(days=9),
        language="en",
        message="Hej igen",
        reminder_days=4,
        attachments=[live, gone],
    )
    now = timezone.now()
    SigningRequest.objects.filter(pk=first.pk).update(status=status, finished_at=now, sealed_at=now)
    documents.documents_delete(documents=[gone], actor=world.admin)
    new_version = upload(folder, world.admin, "Avtal.pdf").current_version
    client = login(world.admin)
    detail = reverse("signing:partner_detail", args=[world.collaboration.pk, first.pk])
    assert "Send again" in page(client.get(detail))
    response = client.post(reverse("signing:partner_send_again", args=[world.collaboration.pk, first.pk]))
    draft = SigningRequest.objects.exclude(pk=first.pk).get()
    assert response.status_code == 302 and response["Location"] == step_url(world, draft, "parties")
    assert (draft.status, draft.document_id, draft.version) == (Status.DRAFT, doc.pk, new_version)
    assert (draft.language, draft.message, draft.reminder_days) == ("en", "Hej igen", 4)
    assert (draft.created_by, balance(world)) == (world.admin, 4)
    days = (timezone.localdate(draft.deadline) - timezone.localdate()).days
    assert days == (timezone.localdate(first.deadline) - timezone.localdate(first.sent_at)).days
    assert [(p.name, p.email, p.role, p.method, p.personnummer, p.order) for p in draft.parties.all()] == [
        ("Karin", "karin@example.com", Role.SIGNER, Method.BANKID, "198503122387", 1),
        ("Cia", "cia@example.com", Role.VIEWER, Method.EMAIL_CODE, "", 2),
    ]
    assert [a.name for a in Attachment.objects.filter(request=draft)] == ["Bilaga.pdf"]
    assert SigningRequest.objects.get(pk=first.pk).status == status  # the first one is left as it was


def test_send_again_is_not_offered_while_pending_and_needs_the_right(
    funded: World, doc: Document, login: Any
) -> None:
    world = funded
    pending = send(world, doc, [PartyInput("A", "a@example.com")])
    client = login(world.staff)
    detail = reverse("signing:partner_detail", args=[world.collaboration.pk, pending.pk])
    assert "Send again" not in page(client.get(detail))
    url = reverse("signing:partner_send_again", args=[world.collaboration.pk, pending.pk])
    client.post(url)
    assert SigningRequest.objects.count() == 1
    SigningRequest.objects.filter(pk=pending.pk).update(status=Status.DECLINED, finished_at=timezone.now())
    for who in ("outsider", "staff_unassigned", "primary"):
        assert login(getattr(world, who)).post(url).status_code == 404
    assert SigningRequest.objects.count() == 1


# --- Sending at the same moment on real connections ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_same_draft_sent_from_five_connections_at_once_is_charged_once(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(f"needs real row locks between parallel connections; the database is {connection.vendor}")
    billing.signature_grant(partner=world.partner, amount=5, reason="test")
    before = Partner.objects.get(pk=world.partner.pk).signature_balance
    folder = documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.NONE,
    )
    document = upload(folder, world.admin)
    draft = filled(world, document)
    outcomes = run_in_parallel(
        [partial(services.draft_send, draft=draft, actor=world.staff) for _ in range(5)]
    )
    assert outcomes == ["ok"] * 5
    assert SigningRequest.objects.get().status == Status.PENDING
    assert Partner.objects.get(pk=world.partner.pk).signature_balance == before - 1
    assert BalanceEntry.objects.filter(kind=EntryKind.CHARGE).count() == 1
    assert Event.objects.filter(kind="sent").count() == 1
    assert Party.objects.filter(notified_at__isnull=False).count() == 1
