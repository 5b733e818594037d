"""The customer side of e-signing: Samarbeten > partner > Signeringar, one signing's page and its
sealed PDF. A customer user sees the sent signings they are a party to and those whose document is
in a folder they see; nobody else sees anything (404), and drafts never show."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from documents import services as documents
from documents.models import Audience, CustomerAccess, Folder
from documents.storage import document_storage
from notifications.models import Event as Told
from notifications.models import Notification
from portal.models import AuditEvent, User
from signing.models import Party, SigningRequest, Status
from signing.services import PartyInput
from tests.conftest import World
from tests.signing.test_services import act, document, parties_of, send

OUTSIDE = "extern@example.com"


@pytest.fixture(autouse=True)
def _english(world: World) -> Iterator[None]:
    """The pages speak the user's language; the tests read the English texts (msgids)."""
    User.objects.update(language="en")
    with translation.override("en"):
        yield


@pytest.fixture
def internal(world: World) -> Folder:
    """The firm's own folder: no customer access at all."""
    return documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Internt",
        customer_access=CustomerAccess.NONE,
    )


@pytest.fixture
def shared(world: World) -> Folder:
    """Shared with every user of the customer."""
    return documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Delat",
        customer_access=CustomerAccess.READ,
        audience=Audience.ALL,
    )


@pytest.fixture
def primary_only(world: World) -> Folder:
    """Shared with the primary contact only: the customer's plain user does not see it."""
    return documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Styrelse",
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[world.primary.pk],
    )


def list_url(world: World, **query: str) -> str:
    url = reverse("signing:customer_list", args=[world.collaboration.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def detail_url(world: World, signing: SigningRequest) -> str:
    return reverse("signing:customer_detail", args=[world.collaboration.pk, signing.pk])


def sealed_url(world: World, signing: SigningRequest) -> str:
    return reverse("signing:customer_sealed", args=[world.collaboration.pk, signing.pk])


def html(response: Any) -> str:
    return str(response.content.decode())


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def signed_by_all(world: World, folder: Folder, parties: list[PartyInput], capture: Any) -> SigningRequest:
    """Send a PDF in `folder` to `parties`, let each sign, and seal it (eagerly, on commit)."""
    with capture(execute=True):
        signing = send(world, document(folder, world.admin), parties)
    for party in parties_of(signing).values():
        with capture(execute=True):
            act(party)
    signing.refresh_from_db()
    assert signing.status == Status.COMPLETED and signing.sealed_version is not None
    return signing


def karin_and_outside(world: World) -> list[PartyInput]:
    return [PartyInput("Karin Primary", world.primary.email), PartyInput("Extern", OUTSIDE)]


def rows(world: World, folder: Folder, count: int, *, status: str = Status.PENDING) -> list[SigningRequest]:
    """Requests as rows only (the list never reads files), each with the primary contact signing
    first and an outside party second."""
    doc = document(folder, world.admin, f"Rad {uuid.uuid4().hex[:6]}.pdf")
    made = []
    for n in range(count):
        signing = SigningRequest.objects.create(
            collaboration=world.collaboration,
            document=doc,
            version=doc.current_version,
            title=f"Avtal {n}.pdf",
            created_by=world.staff,
            deadline=timezone.now() + dt.timedelta(days=7),
            status=status,
            sent_at=timezone.now(),
            finished_at=None if status in (Status.PENDING, Status.DRAFT) else timezone.now(),
        )
        for order, (name, email, user) in enumerate(
            [("Karin Primary", world.primary.email, world.primary), ("Extern", f"x{n}@example.com", None)],
            start=1,
        ):
            Party.objects.create(
                request=signing,
                name=name,
                email=email,
                user=user,
                order=order,
                token_salt=uuid.uuid4().hex,
                token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
            )
        made.append(signing)
    return made


# --- Who may see what -------------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in(world: World, shared: Folder, client: Client) -> None:
    (signing,) = rows(world, shared, 1)
    for url in (list_url(world), detail_url(world, signing), sealed_url(world, signing)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_outsiders_get_404_on_every_page(
    funded: World, internal: Folder, login: Any, django_capture_on_commit_callbacks: Any, seal_keys: Any
) -> None:
    world = funded
    signing = signed_by_all(world, internal, karin_and_outside(world), django_capture_on_commit_callbacks)
    urls = [list_url(world), detail_url(world, signing), sealed_url(world, signing)]
    # Another partner's customer, another customer of the same partner, and the firm's own people:
    # none of them is a user of this customer.
    for who in (world.outsider_customer_user, world.outsider, world.admin, world.staff):
        client = login(who)
        for url in urls:
            assert client.get(url).status_code == 404, (who.name, url)
    # The request's id under the outsider's own collaboration is no way in either.
    client = login(world.outsider_customer_user)
    for name in ("signing:customer_detail", "signing:customer_sealed"):
        url = reverse(name, args=[world.outsider_collaboration.pk, signing.pk])
        assert client.get(url).status_code == 404


def test_a_same_customer_user_who_is_no_party_and_cannot_see_the_folder_gets_404(
    funded: World,
    primary_only: Folder,
    login: Any,
    django_capture_on_commit_callbacks: Any,
    seal_keys: Any,
) -> None:
    world = funded
    signing = signed_by_all(world, primary_only, karin_and_outside(world), django_capture_on_commit_callbacks)
    client = login(world.customer_user)
    listed = client.get(list_url(world))
    assert listed.status_code == 200 and listed.context["rows"] == []
    assert client.get(detail_url(world, signing)).status_code == 404
    assert client.get(sealed_url(world, signing)).status_code == 404
    assert not AuditEvent.objects.filter(action="document.download").exists()


def test_an_ended_collaboration_shows_nothing(world: World, shared: Folder, login: Any) -> None:
    (signing,) = rows(world, shared, 1)
    type(world.collaboration).objects.filter(pk=world.collaboration.pk).update(status="ended")
    client = login(world.primary)
    assert client.get(list_url(world)).status_code == 404
    assert client.get(detail_url(world, signing)).status_code == 404


# --- The party: an internal folder, the sealed PDF through Signeringar only ---------------------------


def test_a_party_finds_the_sealed_pdf_of_an_internal_folder_here_and_only_here(
    funded: World, internal: Folder, login: Any, django_capture_on_commit_callbacks: Any, seal_keys: Any
) -> None:
    world = funded
    signing = signed_by_all(world, internal, karin_and_outside(world), django_capture_on_commit_callbacks)
    assert signing.sealed_version is not None
    client = login(world.primary)

    listed = client.get(list_url(world))
    assert listed.status_code == 200
    page = html(listed)
    assert signing.title in page and "Signed" in page and "2 of 2 signed" in page
    assert sealed_url(world, signing) in page
    assert detail_url(world, signing) in page
    # The customer-side tabs, with Signings current.
    assert 'aria-current="page">Signings</a>' in page

    detail = client.get(detail_url(world, signing))
    assert detail.status_code == 200
    page = html(detail)
    assert "Karin Primary" in page and "Extern" in page
    assert "Everyone has signed" in page and "The sealed PDF was stored" in page  # the timeline
    assert "Download the signed PDF" in page and sealed_url(world, signing) in page

    response = client.get(sealed_url(world, signing))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    with document_storage().open(signing.sealed_version.storage_key, "rb") as handle:
        assert body(response) == handle.read()
    entry = AuditEvent.objects.get(action="document.download")
    assert (entry.actor_id, entry.collaboration_id) == (world.primary.pk, world.collaboration.pk)

    # The folder is the firm's: its documents stay out of reach on the documents pages.
    sealed_doc = signing.sealed_version.document_id
    assert client.get(reverse("documents:document_download", args=[sealed_doc])).status_code == 404
    assert (
        client.get(
            reverse("documents:customer_folder", args=[world.collaboration.pk, internal.pk])
        ).status_code
        == 404
    )

    # Another user of the customer, neither party nor reader of the folder, sees none of it.
    other = login(world.customer_user)
    assert other.get(list_url(world)).context["rows"] == []
    assert other.get(detail_url(world, signing)).status_code == 404
    assert other.get(sealed_url(world, signing)).status_code == 404


def test_the_completion_notification_leads_a_customer_party_to_signeringar(
    funded: World, internal: Folder, login: Any, django_capture_on_commit_callbacks: Any, seal_keys: Any
) -> None:
    world = funded
    parties = [*karin_and_outside(world), PartyInput("Sam Staff", world.staff.email)]
    signing = signed_by_all(world, internal, parties, django_capture_on_commit_callbacks)
    told = Notification.objects.get(recipient=world.primary, event=Told.SIGNING_COMPLETED)
    assert told.url == detail_url(world, signing)
    assert login(world.primary).get(told.url).status_code == 200
    # The firm's own people (here the sender, a party too) still follow the folder, told once.
    (note,) = Notification.objects.filter(recipient=world.staff, event=Told.SIGNING_COMPLETED)
    assert note.url == reverse("documents:customer_folder", args=[world.collaboration.pk, internal.pk])


def test_a_party_known_only_by_email_sees_the_signing(world: World, internal: Folder, login: Any) -> None:
    (signing,) = rows(world, internal, 1)
    Party.objects.filter(request=signing, user=world.primary).update(
        user=None, email=world.primary.email.upper()
    )
    response = login(world.primary).get(detail_url(world, signing))
    assert response.status_code == 200


def test_a_reader_of_the_folder_sees_a_signing_they_are_no_party_to(
    funded: World, shared: Folder, login: Any, django_capture_on_commit_callbacks: Any, seal_keys: Any
) -> None:
    world = funded
    signing = signed_by_all(world, shared, karin_and_outside(world), django_capture_on_commit_callbacks)
    client = login(world.customer_user)
    assert [r.signing.pk for r in client.get(list_url(world)).context["rows"]] == [signing.pk]
    assert client.get(detail_url(world, signing)).status_code == 200
    response = client.get(sealed_url(world, signing))
    assert response.status_code == 200 and body(response).startswith(b"%PDF")


def test_a_deleted_sealed_pdf_is_404_and_the_page_says_so(
    funded: World, shared: Folder, login: Any, django_capture_on_commit_callbacks: Any, seal_keys: Any
) -> None:
    world = funded
    signing = signed_by_all(world, shared, karin_and_outside(world), django_capture_on_commit_callbacks)
    assert signing.sealed_version is not None
    documents.documents_delete(documents=[signing.sealed_version.document], actor=world.admin)
    client = login(world.primary)
    assert client.get(sealed_url(world, signing)).status_code == 404
    page = html(client.get(detail_url(world, signing)))
    assert "The sealed PDF has been deleted." in page and sealed_url(world, signing) not in page


# --- What the list shows ------------------------------------------------------------------------


def test_pending_shows_whose_turn_and_the_deadline_and_a_sign_link_for_the_user(
    world: World, shared: Folder, login: Any
) -> None:
    (signing,) = rows(world, shared, 1)
    karin = Party.objects.get(request=signing, user=world.primary)
    page = html(login(world.primary).get(list_url(world)))
    assert "Waiting for Karin Primary" in page and "0 of 2 signed" in page
    assert signing.deadline.strftime("%Y") in page
    assert reverse("signing:party_open", args=[karin.pk]) in page
    detail = html(login(world.primary).get(detail_url(world, signing)))
    assert "Your turn" in detail and reverse("signing:party_open", args=[karin.pk]) in detail
    assert sealed_url(world, signing) not in detail
    assert login(world.primary).get(sealed_url(world, signing)).status_code == 404  # nothing sealed yet
    # Another reader of the folder sees whose turn it is, and no link to sign as someone else.
    page = html(login(world.customer_user).get(list_url(world)))
    assert "Waiting for Karin Primary" in page
    assert "/signings/mine/" not in page
    detail = html(login(world.customer_user).get(detail_url(world, signing)))
    assert "Their turn" in detail and "Waiting for earlier parties" in detail


def test_drafts_never_show(world: World, shared: Folder, login: Any) -> None:
    (draft,) = rows(world, shared, 1, status=Status.DRAFT)
    client = login(world.primary)
    assert client.get(list_url(world)).context["rows"] == []
    assert client.get(list_url(world, status="draft")).context["rows"] == []
    assert client.get(detail_url(world, draft)).status_code == 404
    assert client.get(sealed_url(world, draft)).status_code == 404


def test_the_status_filter_shows_one_status(world: World, shared: Folder, login: Any) -> None:
    made = {
        status: rows(world, shared, 1, status=status)[0]
        for status in [Status.PENDING, Status.COMPLETED, Status.DECLINED, Status.CANCELLED, Status.EXPIRED]
    }
    client = login(world.primary)
    everything = client.get(list_url(world)).context["rows"]
    assert {r.signing.pk for r in everything} == {s.pk for s in made.values()}
    for status, signing in made.items():
        shown = client.get(list_url(world, status=status))
        assert [r.signing.pk for r in shown.context["rows"]] == [signing.pk], status
        assert f'href="?status={status}" aria-current="page"' in html(shown)
    # A value that is no status shows everything (never drafts).
    assert len(client.get(list_url(world, status="nonsense")).context["rows"]) == 5


def test_the_list_is_paginated_and_keeps_the_filter(
    world: World, shared: Folder, login: Any, settings: Any
) -> None:
    settings.PAGE_SIZE = 2
    rows(world, shared, 5, status=Status.DECLINED)
    rows(world, shared, 1)
    response = login(world.primary).get(list_url(world, status="declined", page="3"))
    assert len(response.context["rows"]) == 1
    page = html(response)
    assert "Page 3 of 3 (5 in all)" in page
    assert 'href="?status=declined&amp;page=2"' in page


def test_the_documents_page_has_the_signings_tab(world: World, login: Any) -> None:
    page = html(login(world.primary).get(reverse("documents:customer_root", args=[world.collaboration.pk])))
    assert f'href="{list_url(world)}"' in page
    assert 'aria-current="page">Documents</a>' in page


def _list_queries(client: Client, world: World, folder: Folder, count: int) -> int:
    SigningRequest.objects.all().delete()
    rows(world, folder, count)
    url = list_url(world)
    client.get(url)  # the first visit stores the active organisation in the session
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["rows"]) == count
    assert html(response).count("0 of 2 signed") == count
    return len(ctx.captured_queries)


def test_list_query_count_is_flat_with_1_and_many_rows(
    world: World, shared: Folder, login: Any, settings: Any
) -> None:
    settings.PAGE_SIZE = 100  # all on one page, so a query per row would show
    client = login(world.customer_user)  # a reader of the folder: party of none of them
    one = _list_queries(client, world, shared, 1)
    many = _list_queries(client, world, shared, 25)
    assert one == many
    client = login(world.primary)  # a party of all of them
    assert _list_queries(client, world, shared, 1) == _list_queries(client, world, shared, 25)


def test_a_request_under_another_collaboration_id_is_404(world: World, shared: Folder, login: Any) -> None:
    """A request id that exists, under a collaboration id of the same partner that is not the
    user's, is a 404: the URL's collaboration decides."""
    (signing,) = rows(world, shared, 1)
    url = reverse("signing:customer_detail", args=[world.other_collaboration.pk, signing.pk])
    assert login(world.primary).get(url).status_code == 404
